// SPDX-License-Identifier: LGPL-2.1-or-later
// The child side of the pipeline benchmarks (the benchmark program started again by its driver):
// one gst-launch-1.0 style pipeline with an element named "sink", played until the end of the
// stream, an error, SIGTERM or SIGINT, or a deadline. It prints "ready" once playing; the driver
// waits for that line, and kills a child that overruns its deadline.
#pragma once

#include <functional>

#include <gst/gst.h>

class PipelineChild
{
public:
    // Sets the deadline (an alarm `limit_s` + 5 s away as the last resort) and the stop signals,
    // starts GStreamer with the build tree's plugin and builds `description`; `program` starts
    // the messages on stderr.
    PipelineChild(const char* program, const char* description, int limit_s);
    ~PipelineChild();
    PipelineChild(const PipelineChild&) = delete;
    PipelineChild& operator=(const PipelineChild&) = delete;

    // False when the pipeline could not be built or has no element named "sink" (said on stderr).
    bool built() const { return sink_ != nullptr; }
    GstElement* sink() const { return sink_; }

    // Plays the pipeline, prints "ready", and waits until it ends or `done` (asked every 20 ms)
    // returns true. Returns how it ended: "eos", "error" (said on stderr), "stopped" (a signal),
    // "timeout" (the deadline) or "done"; nullptr when it would not play.
    const char* run(const std::function<bool()>& done = {});

private:
    const char* program_;
    const char* description_;
    int limit_s_;
    GstElement* pipeline_ = nullptr;
    GstElement* sink_ = nullptr;
};
