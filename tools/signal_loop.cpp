// SPDX-License-Identifier: LGPL-2.1-or-later
#include "signal_loop.hpp"

#include <csignal>
#include <glib-unix.h>
#include <memory>

namespace pvshm::cli {
namespace {

gboolean on_tick(gpointer data)
{
    (*static_cast<std::function<void()>*>(data))();
    return G_SOURCE_CONTINUE;
}

} // namespace

SignalLoop::SignalLoop() : loop_(g_main_loop_new(nullptr, FALSE))
{
    for (int signal : {SIGINT, SIGTERM})
        sources_.push_back(g_unix_signal_add(signal, on_signal, this));
}

gboolean SignalLoop::on_signal(gpointer data)
{
    auto& self = *static_cast<SignalLoop*>(data);
    self.signalled_ = true;
    self.stop();
    return G_SOURCE_CONTINUE;
}

SignalLoop::~SignalLoop()
{
    for (guint source : sources_)
        g_source_remove(source);
    g_main_loop_unref(loop_);
}

void SignalLoop::every(guint interval_ms, std::function<void()> tick)
{
    ticks_.push_back(std::make_unique<std::function<void()>>(std::move(tick)));
    sources_.push_back(g_timeout_add(interval_ms, on_tick, ticks_.back().get()));
}

bool SignalLoop::run()
{
    g_main_loop_run(loop_);
    return signalled_;
}

void SignalLoop::stop()
{
    g_main_loop_quit(loop_);
}

} // namespace pvshm::cli
