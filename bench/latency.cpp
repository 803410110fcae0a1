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
#include <ctime>
#include <linux/futex.h>
#include <mutex>
#include <optional>
#include <string>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <vector>

#include <gst/app/gstappsink.h>
#include <gst/gst.h>

#include <pvshm/pvshm.hpp>

#include "child_process.hpp"
#include "pipeline_child.hpp"
#include "report_row.hpp"
#include "shmsink_leftovers.hpp"

namespace {

using namespace std::chrono_literals;
using pvshm::test::ChildProcess;

constexpr int kWidth = 1920;
constexpr int kHeight = 1080;
constexpr int64_t kPeriodNs = 10'000'000; // 100 frames/s
constexpr int kWarm = 20;                 // frames received before the measured ones

int64_t monotonic_ns()
{
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

double monotonic_s()
{
    return double(monotonic_ns()) / 1e9;
}

void sleep_until(int64_t deadline_ns)
{
    const timespec ts{static_cast<time_t>(deadline_ns / 1000000000),
                      static_cast<long>(deadline_ns % 1000000000)};
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
}

struct Percentiles
{
    bool ok = false;
    double p50 = 0, p99 = 0, max = 0;
    size_t count = 0;
};

Percentiles percentiles(std::vector<double> us)
{
    Percentiles p;
    if (us.empty())
        return p;
    std::sort(us.begin(), us.end());
    auto at = [&](double f) { return us[static_cast<size_t>(f * double(us.size() - 1))]; };
    p.ok = true;
    p.p50 = at(0.5);
    p.p99 = at(0.99);
    p.max = us.back();
    p.count = us.size();
    return p;
}

// Waits for `child` at most `timeout`, then kills it.
void reap(ChildProcess& child, std::chrono::milliseconds timeout)
{
    if (child.wait_exit(timeout))
        return;
    fprintf(stderr, "latency: child %d overran its deadline, killed\n", int(child.pid()));
    child.stop(SIGKILL, 10s);
}

// ---------------------------------------------------------------------------------------------
// Floor and (a), without GStreamer (forked before any thread exists).

struct FutexPage
{
    std::atomic<uint32_t> word;
    std::atomic<int64_t> stamp;
};

// `paint`: the producer fills a 1080p BGR frame between wake-ups, as (a)'s does right after each
// publish, so that a reader the kernel wakes on the producer's core waits as it does in (a).
Percentiles futex_floor(int frames, bool paint)
{
    auto* page = static_cast<FutexPage*>(
        mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    if (page == MAP_FAILED)
        return {};
    ChildProcess child([&] {
        alarm(unsigned(frames / 100 + 30));
        std::vector<uint8_t> frame(paint ? size_t(kWidth) * kHeight * 3 : 0);
        int64_t next = monotonic_ns() + 20 * kPeriodNs;
        for (int i = 0; i < frames + kWarm + 1; ++i, next += kPeriodNs) {
            std::memset(frame.data(), i & 0xff, frame.size());
            sleep_until(next);
            page->stamp.store(monotonic_ns());
            page->word.fetch_add(1);
            syscall(SYS_futex, &page->word, FUTEX_WAKE, 1, nullptr, nullptr, 0);
        }
        return 0;
    });
    std::vector<double> us;
    uint32_t seen = page->word.load();
    int received = 0;
    const timespec slice{0, 100'000'000};
    const double deadline = monotonic_s() + frames / 100.0 + 20;
    while (static_cast<int>(us.size()) < frames && monotonic_s() < deadline) {
        syscall(SYS_futex, &page->word, FUTEX_WAIT, seen, &slice, nullptr, 0);
        const uint32_t now_word = page->word.load();
        if (now_word == seen)
            continue;
        const int64_t woke = monotonic_ns();
        if (++received > kWarm)
            us.push_back(double(woke - page->stamp.load()) / 1e3);
        seen = now_word;
    }
    reap(child, 5s);
    munmap(page, 4096);
    return percentiles(std::move(us));
}

// The spin of the low-latency rows: two frame intervals, so that the reader never sleeps.
constexpr std::chrono::nanoseconds kSpin{2 * kPeriodNs};

Percentiles pvshm_library(int frames, std::chrono::nanoseconds spin = {})
{
    const std::string id = "bench-latency-lib-" + std::to_string(getpid());
    pvshm::dev_clear_shared_memory(id);
    std::vector<double> us;
    {
        pvshm::ReaderOptions options;
        options.spin = spin;
        pvshm::Reader reader(id, options);
        ChildProcess child([&] {
            alarm(unsigned(frames / 100 + 30));
            pvshm::Writer writer(id);
            const auto info = pvshm::packed_frame_info(pvshm::PixelFormat::BGR, kWidth, kHeight);
            int64_t next = monotonic_ns() + 20 * kPeriodNs;
            for (int i = 0; i < frames + kWarm + 10; ++i, next += kPeriodNs) {
                // Filled first, as a camera would, then stamped just before it is published.
                auto loan = writer.loan(info.payload_size);
                if (!loan)
                    continue;
                std::memset(loan->data(), i & 0xff, info.payload_size);
                sleep_until(next);
                const int64_t stamp = monotonic_ns();
                std::memcpy(loan->data(), &stamp, sizeof stamp);
                writer.publish(*loan, info);
            }
            return 0;
        });
        int received = 0;
        const double deadline = monotonic_s() + frames / 100.0 + 20;
        while (static_cast<int>(us.size()) < frames && monotonic_s() < deadline &&
               reader.wait(std::chrono::seconds(5))) {
            const int64_t woke = monotonic_ns();
            auto view = reader.view_latest();
            if (!view || view->size() < 8)
                continue;
            int64_t stamp = 0;
            std::memcpy(&stamp, view->data(), sizeof stamp);
            if (++received > kWarm)
                us.push_back(double(woke - stamp) / 1e3);
        }
        reap(child, 5s);
    }
    pvshm::dev_clear_shared_memory(id);
    return percentiles(std::move(us));
}

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
        const Percentiles p = percentiles(collector.us);
        printf("result n=%zu p50=%.3f p99=%.3f max=%.3f\n", p.count, p.p50, p.p99, p.max);
        fflush(stdout);
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
    Percentiles p;
    if (!result || sscanf(result->c_str(), "result n=%zu p50=%lf p99=%lf max=%lf", &p.count, &p.p50,
                          &p.p99, &p.max) != 4)
        return p;
    p.ok = p.count > 0;
    return p;
}

// One case's percentiles, one per round.
struct Series
{
    std::vector<double> p50, p99, max;
    void add(const Percentiles& p)
    {
        p50.push_back(p.p50);
        p99.push_back(p.p99);
        max.push_back(p.max);
    }
    bool empty() const { return p50.empty(); }
};

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
        const Percentiles round_floor = futex_floor(frames, false);
        const Percentiles round_painting = futex_floor(frames, true);
        const Percentiles round_lib = pvshm_library(frames);
        // pvshm and shmsink take turns at going first.
        Percentiles round_pv, round_shm;
        if (round % 2 == 0) {
            round_pv = pipeline_latency(true, frames);
            round_shm = pipeline_latency(false, frames);
        } else {
            round_shm = pipeline_latency(false, frames);
            round_pv = pipeline_latency(true, frames);
        }
        const Percentiles round_lib_spin = pvshm_library(frames, kSpin);
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
