// SPDX-License-Identifier: LGPL-2.1-or-later
// Publish-to-receive latency of a 1920x1080 BGR frame at 100 frames/s between two processes:
// the producer stamps CLOCK_MONOTONIC into the first 8 bytes of the frame just before handing it
// over, the consumer computes now - stamp when it receives it.
//   (floor)  a bare futex wake-up between two processes through shared memory, from a producer
//            that sleeps between frames and from one that paints a frame between them, as (a)'s
//   (a)      pvshm::Writer loan + publish -> pvshm::Reader::wait + view_latest
//   (b)      videotestsrc ! pvshmsink  ->  pvshmsrc ! appsink
//   (c)      videotestsrc ! shmsink    ->  shmsrc ! appsink
//   (a), (b) again with readers that spin (low-latency mode), measured apart
// Every case runs in each of 4 rounds (1 with --quick) of 500 frames, pvshm and shmsink taking
// turns at going first, so that all meet the machine's changing load alike; a figure is the
// median of its rounds'. Prints JSON lines for report.py.
//
//   pvshm-bench-latency [--quick]
//
// The GStreamer producers (is-live videotestsrc at 100/1) stamp from a probe on the sink's pad,
// so the frame is painted in place (zero copy on both sides) and stamped right before the sink
// gets it. Every child process has a deadline; the driver kills what overruns it.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <unistd.h>
#include <vector>

#include <gst/app/gstappsink.h>
#include <gst/gst.h>

#include <pvshm/pvshm.hpp>

#include "child_process.hpp"
#include "pipeline_child.hpp"
#include "report_row.hpp"
#include "shmsink_leftovers.hpp"
#include "wakeup.hpp"

namespace {

using namespace std::chrono_literals;
using namespace pvshm::bench;
using pvshm::test::ChildProcess;

constexpr int64_t kPeriodNs = 10'000'000; // 100 frames/s
constexpr Pattern kPattern{kPeriodNs, true};

// The spin of the low-latency rows: two frame intervals, so that the reader never sleeps.
constexpr std::chrono::nanoseconds kSpin{2 * kPeriodNs};

// ---------------------------------------------------------------------------------------------
// (b) and (c): children running one pipeline each.

GstPadProbeReturn stamp_buffer(GstPad*, GstPadProbeInfo* info, gpointer)
{
    GstBuffer* buffer = GST_PAD_PROBE_INFO_BUFFER(info);
    GstMemory* memory = gst_buffer_peek_memory(buffer, 0);
    GstMapInfo map;
    if (memory && gst_memory_map(memory, &map, GST_MAP_WRITE)) {
        const int64_t stamp = monotonic_ns();
        if (map.size >= sizeof stamp)
            std::memcpy(map.data, &stamp, sizeof stamp);
        gst_memory_unmap(memory, &map);
    }
    return GST_PAD_PROBE_OK;
}

struct Collector
{
    std::mutex lock;
    std::vector<double> us;
    int received = 0;
    int wanted = 0;
    std::atomic<bool> done{false};
};

GstFlowReturn on_sample(GstAppSink* sink, gpointer data)
{
    const int64_t now = monotonic_ns();
    auto* c = static_cast<Collector*>(data);
    GstSample* sample = gst_app_sink_pull_sample(sink);
    if (!sample)
        return GST_FLOW_EOS;
    GstBuffer* buffer = gst_sample_get_buffer(sample);
    int64_t stamp = 0;
    if (buffer && gst_buffer_extract(buffer, 0, &stamp, sizeof stamp) == sizeof stamp) {
        std::lock_guard lock(c->lock);
        if (++c->received > kWarm && int(c->us.size()) < c->wanted)
            c->us.push_back(double(now - stamp) / 1e3);
        if (int(c->us.size()) >= c->wanted)
            c->done = true;
    }
    gst_sample_unref(sample);
    return GST_FLOW_OK;
}

// Runs `description` until EOS, error, SIGTERM, the deadline or (consumer) enough samples.
// The producer stamps at its "sink"; the consumer's "sink" is an appsink.
int run_child(const char* role, const char* description, int frames, int limit_s)
{
    PipelineChild child("latency", description, limit_s);
    if (!child.built())
        return 3;
    const bool consumer = strcmp(role, "--consume") == 0;
    Collector collector;
    collector.wanted = frames;
    if (consumer) {
        GstAppSinkCallbacks callbacks{};
        callbacks.new_sample = on_sample;
        gst_app_sink_set_callbacks(GST_APP_SINK(child.sink()), &callbacks, &collector, nullptr);
    } else {
        GstPad* pad = gst_element_get_static_pad(child.sink(), "sink");
        gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, stamp_buffer, nullptr, nullptr);
        gst_object_unref(pad);
    }
    if (!child.run([&] { return collector.done.load(); }))
        return 3;
    if (consumer) {
        std::lock_guard lock(collector.lock);
        print_result(percentiles(collector.us));
    }
    return 0;
}

// Waits for `child` to end by itself at most `timeout`, then asks it to stop (SIGTERM).
void stop(ChildProcess& child, std::chrono::milliseconds timeout)
{
    if (!child.wait_exit(timeout) && !child.stop(SIGTERM, 2s))
        fprintf(stderr, "latency: child %d did not stop\n", int(child.pid()));
}

Percentiles pipeline_latency(bool pvshm_side, int frames, std::chrono::nanoseconds spin = {})
{
    const std::string tag = "bench-latency-" + std::to_string(getpid());
    const std::string socket = "/tmp/" + tag + ".sock";
    char caps[128];
    snprintf(caps, sizeof caps, "video/x-raw,format=BGR,width=%d,height=%d,framerate=100/1", kWidth,
             kHeight);
    const std::string source = "videotestsrc pattern=black is-live=true num-buffers=" +
                               std::to_string(frames + kWarm + 30) + " ! " + caps + " ! ";
    const int limit_s = frames / 100 + 30;
    // This program again, running `description` as `role` (--produce or --consume).
    const auto start = [&](std::optional<ChildProcess>& child, const char* role,
                           const std::string& description) {
        child.emplace("/proc/self/exe",
                      std::vector<std::string>{role, description, std::to_string(frames),
                                               std::to_string(limit_s)});
    };
    std::optional<ChildProcess> producer, consumer;
    if (pvshm_side) {
        pvshm::dev_clear_shared_memory(tag);
        start(consumer, "--consume",
              "pvshmsrc shared-mem-id=" + tag + " spin=" + std::to_string(spin.count()) +
                  " is-live=true timeout=5000000000 ! appsink name=sink sync=false");
        if (!consumer->wait_for_line("ready", 20s))
            fprintf(stderr, "latency: pvshmsrc consumer not ready\n");
        start(producer, "--produce",
              source + "pvshmsink name=sink sync=false persist=false shared-mem-id=" + tag);
    } else {
        start(producer, "--produce",
              source +
                  "shmsink name=sink sync=false wait-for-connection=true "
                  "shm-size=67108864 socket-path=" +
                  socket);
        if (!producer->wait_for_line("ready", 20s))
            fprintf(stderr, "latency: shmsink producer not ready\n");
        start(consumer, "--consume",
              "shmsrc is-live=true socket-path=" + socket + " ! " + caps +
                  " ! appsink name=sink sync=false");
    }
    const auto result = consumer->wait_for_line("result ", std::chrono::seconds(limit_s));
    stop(*consumer, 5s);
    stop(*producer, 1s); // shmsink waits for a client again once the consumer left
    remove_shmpipe_areas(producer->pid());
    unlink(socket.c_str());
    pvshm::dev_clear_shared_memory(tag);
    return parse_result(result);
}

void row(const std::string& what, const char* metric, const std::vector<double>& value,
         const char* anchor, const std::vector<double>& anchor_value)
{
    report_row("latency, publish-to-receive, 1920x1080 BGR at 100 frames/s", what, metric, "us",
               value, anchor ? anchor : "", anchor_value);
}

int run_driver(bool quick)
{
    // Rounds of every case in turn, so that each case meets the machine's changing load alike;
    // a figure is the median of its rounds'.
    const int rounds = quick ? 1 : 4;
    const int frames = quick ? 50 : 500;
    Series floor, painting, lib, pv, shm, lib_spin, pv_spin;
    for (int round = 0; round < rounds; ++round) {
        fprintf(stderr, "latency: round %d/%d, %d frames per case\n", round + 1, rounds, frames);
        const Percentiles round_floor = futex_floor(frames, Pattern{kPeriodNs, false});
        const Percentiles round_painting = futex_floor(frames, kPattern);
        const Percentiles round_lib = pvshm_library(frames, kPattern);
        // pvshm and shmsink take turns at going first.
        Percentiles round_pv, round_shm;
        if (round % 2 == 0) {
            round_pv = pipeline_latency(true, frames);
            round_shm = pipeline_latency(false, frames);
        } else {
            round_shm = pipeline_latency(false, frames);
            round_pv = pipeline_latency(true, frames);
        }
        const Percentiles round_lib_spin = pvshm_library(frames, kPattern, kSpin);
        const Percentiles round_pv_spin = pipeline_latency(true, frames, kSpin);
        if (!round_floor.ok || !round_painting.ok || !round_lib.ok || !round_pv.ok ||
            !round_shm.ok || !round_lib_spin.ok || !round_pv_spin.ok) {
            fprintf(stderr,
                    "latency: round %d incomplete, left out (floor %d, painting floor %d, library "
                    "%d, pvshmsrc %d, shmsrc %d, spinning library %d, spinning pvshmsrc %d)\n",
                    round + 1, round_floor.ok, round_painting.ok, round_lib.ok, round_pv.ok,
                    round_shm.ok, round_lib_spin.ok, round_pv_spin.ok);
            continue;
        }
        floor.add(round_floor);
        painting.add(round_painting);
        lib.add(round_lib);
        pv.add(round_pv);
        shm.add(round_shm);
        lib_spin.add(round_lib_spin);
        pv_spin.add(round_pv_spin);
    }
    if (floor.empty()) {
        fprintf(stderr, "latency: no complete round\n");
        return 1;
    }
    const char* futex = "futex wake-up between processes";
    const char* shm_anchor = "shmsink→shmsrc→appsink";
    row("floor: futex wake-up between processes", "p50", floor.p50, nullptr, {});
    row("floor: futex wake-up between processes", "p99", floor.p99, nullptr, {});
    row("floor: futex wake-up between processes", "max", floor.max, nullptr, {});
    const char* futex_painting = "futex wake-up, producer painting between frames";
    row(std::string("floor: ") + futex_painting, "p50", painting.p50, nullptr, {});
    row(std::string("floor: ") + futex_painting, "p99", painting.p99, nullptr, {});
    row("(a) pvshm Reader::wait + view_latest", "p50", lib.p50, futex, floor.p50);
    row("(a) pvshm Reader::wait + view_latest", "p99", lib.p99, futex, floor.p99);
    row("(a) pvshm Reader::wait + view_latest", "max", lib.max, futex, floor.max);
    row("(a) pvshm Reader::wait + view_latest", "p50", lib.p50, futex_painting, painting.p50);
    row("(a) pvshm Reader::wait + view_latest", "p99", lib.p99, futex_painting, painting.p99);
    row("(b) pvshmsink→pvshmsrc→appsink", "p50", pv.p50, futex, floor.p50);
    row("(b) pvshmsink→pvshmsrc→appsink", "p50", pv.p50, shm_anchor, shm.p50);
    row("(b) pvshmsink→pvshmsrc→appsink", "p99", pv.p99, shm_anchor, shm.p99);
    row("(b) pvshmsink→pvshmsrc→appsink", "max", pv.max, shm_anchor, shm.max);
    row("(c) shmsink→shmsrc→appsink", "p50", shm.p50, futex, floor.p50);
    row("(c) shmsink→shmsrc→appsink", "p99", shm.p99, futex, floor.p99);
    row("(c) shmsink→shmsrc→appsink", "max", shm.max, futex, floor.max);
    // Measured apart: a reader that spins keeps a core busy (ReaderOptions::spin, pvshmsrc spin).
    const std::string lib_spinning = "(a) spinning: Reader with ReaderOptions::spin of " +
                                     std::to_string(kSpin.count() / 1'000'000) + " ms";
    row(lib_spinning, "p50", lib_spin.p50, futex, floor.p50);
    row(lib_spinning, "p99", lib_spin.p99, futex, floor.p99);
    const std::string pv_spinning = "(b) spinning: pvshmsrc spin=" + std::to_string(kSpin.count());
    row(pv_spinning, "p50", pv_spin.p50, shm_anchor, shm.p50);
    row(pv_spinning, "p99", pv_spin.p99, shm_anchor, shm.p99);
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    if (argc == 5 && (strcmp(argv[1], "--produce") == 0 || strcmp(argv[1], "--consume") == 0))
        return run_child(argv[1], argv[2], atoi(argv[3]), atoi(argv[4]));
    bool quick = false;
    for (int i = 1; i < argc; ++i) {
        if (strcmp(argv[i], "--quick") == 0) {
            quick = true;
        } else {
            fprintf(stderr, "usage: %s [--quick]\n", argv[0]);
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    return run_driver(quick);
}
