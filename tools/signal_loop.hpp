// SPDX-License-Identifier: LGPL-2.1-or-later
// The main loop of the long-running commands (serve, mirror, rtsp): GLib's default main context,
// run until SIGINT or SIGTERM, or until something asks it to stop.
#pragma once

#include <functional>
#include <glib.h>
#include <memory>
#include <vector>

namespace pvshm::cli {

class SignalLoop
{
public:
    SignalLoop();
    ~SignalLoop();
    SignalLoop(const SignalLoop&) = delete;
    SignalLoop& operator=(const SignalLoop&) = delete;

    // Calls `tick` every `interval_ms` while the loop runs.
    void every(guint interval_ms, std::function<void()> tick);
    // Runs until SIGINT, SIGTERM or stop(). Returns whether a signal stopped it.
    bool run();
    // Makes run() return (from the loop's thread: a bus watch, a tick).
    void stop();

private:
    static gboolean on_signal(gpointer data);

    GMainLoop* loop_;
    bool signalled_ = false;
    std::vector<guint> sources_;
    std::vector<std::unique_ptr<std::function<void()>>> ticks_;
};

} // namespace pvshm::cli
