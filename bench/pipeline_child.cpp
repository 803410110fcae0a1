// SPDX-License-Identifier: LGPL-2.1-or-later
#include "pipeline_child.hpp"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <unistd.h>

#include "build_tree_plugin.hpp"

namespace {

volatile sig_atomic_t g_stop = 0;

void on_stop_signal(int)
{
    g_stop = 1;
}

} // namespace

PipelineChild::PipelineChild(const char* program, const char* description, int limit_s)
    : program_(program), description_(description), limit_s_(limit_s)
{
    alarm(unsigned(limit_s) + 5);
    signal(SIGTERM, on_stop_signal);
    signal(SIGINT, on_stop_signal);
    use_build_tree_plugin();
    gst_init(nullptr, nullptr);
    GError* error = nullptr;
    pipeline_ = gst_parse_launch(description, &error);
    if (pipeline_ && !error)
        sink_ = gst_bin_get_by_name(GST_BIN(pipeline_), "sink");
    if (!sink_)
        fprintf(stderr, "%s: cannot build '%s': %s\n", program, description,
                error ? error->message : "no element named sink");
    if (error)
        g_error_free(error);
}

PipelineChild::~PipelineChild()
{
    if (sink_)
        gst_object_unref(sink_);
    if (pipeline_) {
        gst_element_set_state(pipeline_, GST_STATE_NULL);
        gst_object_unref(pipeline_);
    }
}

const char* PipelineChild::run(const std::function<bool()>& done)
{
    if (gst_element_set_state(pipeline_, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
        fprintf(stderr, "%s: '%s' would not play\n", program_, description_);
        return nullptr;
    }
    printf("ready\n");
    fflush(stdout);
    GstBus* bus = gst_element_get_bus(pipeline_);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(limit_s_);
    const char* ending = "timeout";
    while (std::chrono::steady_clock::now() < deadline) {
        if (g_stop) {
            ending = "stopped";
            break;
        }
        if (done && done()) {
            ending = "done";
            break;
        }
        GstMessage* message = gst_bus_timed_pop_filtered(
            bus, 20 * GST_MSECOND, GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
        if (!message)
            continue;
        ending = "eos";
        if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR) {
            GError* error = nullptr;
            gst_message_parse_error(message, &error, nullptr);
            fprintf(stderr, "%s: error in '%s': %s\n", program_, description_, error->message);
            g_error_free(error);
            ending = "error";
        }
        gst_message_unref(message);
        break;
    }
    gst_object_unref(bus);
    return ending;
}
