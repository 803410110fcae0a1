// SPDX-License-Identifier: LGPL-2.1-or-later
// Transport between two processes: pvshmsink -> pvshmsrc against shmsink -> shmsrc, the same
// producer (videotestsrc pattern=black, unthrottled) and the same consumer (fakesink) on both
// sides, and the producer alone into fakesink as the floor. Prints JSON lines for report.py.
// A consumer that keeps its last buffer (fakesink's default) holds a third slot while the
// producer paints the next frame; one case lets it go, so that what remains is the protocol's
// own cost and not that of a larger working set.
//
//   pvshm-bench-transport [--quick]
//
// Every pipeline runs in a child process (this program re-executed with --run), which measures
// itself between its warm-up buffer and its last buffer (getrusage(RUSAGE_SELF) of the whole
// process, and CLOCK_MONOTONIC, at its sink's pad), so that gst_init, plugin loading and teardown
// are not charged to the frames. Every child has a deadline: the driver kills what overruns it.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <optional>
#include <string>
#include <sys/resource.h>
#include <unistd.h>
#include <vector>

#include <gst/gst.h>

#include <pvshm/pvshm.hpp>

#include "child_process.hpp"
#include "pipeline_child.hpp"
#include "process_clock.hpp"
#include "report_row.hpp"
#include "shmsink_leftovers.hpp"

namespace {

using namespace std::chrono_literals;
using pvshm::test::ChildProcess;

// ---------------------------------------------------------------------------------------------
// Child: one pipeline, measured at the pad of the element named "sink".

struct PadMeasure
{
    uint64_t warm = 10;
    std::atomic<uint64_t> buffers{0};
    double wall0 = 0, cpu0 = 0, wall1 = 0, cpu1 = 0;
};

GstPadProbeReturn on_buffer(GstPad*, GstPadProbeInfo*, gpointer data)
{
    auto* m = static_cast<PadMeasure*>(data);
    const uint64_t n = ++m->buffers;
    if (n == m->warm) {
        m->cpu0 = cpu_s();
        m->wall0 = monotonic_s();
    } else if (n > m->warm) {
        m->cpu1 = cpu_s();
        m->wall1 = monotonic_s();
    }
    return GST_PAD_PROBE_OK;
}

uint64_t stats_field(GstElement* sink, const char* field)
{
    if (!g_object_class_find_property(G_OBJECT_GET_CLASS(sink), "stats") ||
        strcmp(G_OBJECT_TYPE_NAME(sink), "GstPvShmSink") != 0)
        return 0;
    GstStructure* stats = nullptr;
    g_object_get(sink, "stats", &stats, nullptr);
    guint64 value = 0;
    if (stats) {
        gst_structure_get_uint64(stats, field, &value);
        gst_structure_free(stats);
    }
    return value;
}

// Prints "ready" once playing, then one line of figures at EOS, error or SIGTERM.
int run_child(const char* description, uint64_t warm, int limit_s)
{
    PipelineChild child("transport", description, limit_s);
    if (!child.built())
        return 3;
    PadMeasure measure;
    measure.warm = std::max<uint64_t>(warm, 1);
    GstPad* pad = gst_element_get_static_pad(child.sink(), "sink");
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, on_buffer, &measure, nullptr);
    gst_object_unref(pad);

    const char* ending = child.run();
    if (!ending)
        return 3;
    const uint64_t buffers = measure.buffers.load();
    const uint64_t window = buffers > measure.warm ? buffers - measure.warm : 0;
    printf("result ending=%s buffers=%llu window=%llu wall=%.9f cpu=%.9f written=%llu "
           "zero_copy=%llu\n",
           ending, (unsigned long long)buffers, (unsigned long long)window,
           measure.wall1 - measure.wall0, measure.cpu1 - measure.cpu0,
           (unsigned long long)stats_field(child.sink(), "frames-written"),
           (unsigned long long)stats_field(child.sink(), "zero-copy-frames"));
    fflush(stdout);
    return 0;
}

// ---------------------------------------------------------------------------------------------
// Driver.

// This program again, running `description` with --run.
void start(std::optional<ChildProcess>& child, const std::string& description, uint64_t warm,
           int limit_s)
{
    child.emplace("/proc/self/exe",
                  std::vector<std::string>{"--run", description, std::to_string(warm),
                                           std::to_string(limit_s)});
}

// Waits for the child to exit; after `timeout` asks it to stop (SIGTERM: it still reports),
// and two seconds later kills it.
void finish(ChildProcess& child, std::chrono::milliseconds timeout)
{
    if (!child.wait_exit(timeout) && !child.stop(SIGTERM, 2s))
        fprintf(stderr, "transport: child %d hung, killed\n", int(child.pid()));
    const int status = child.wait_exit(0ms).value_or(-1);
    if (status != 0)
        fprintf(stderr, "transport: child %d ended with status %d\n", int(child.pid()), status);
}

struct Figures
{
    bool ok = false;
    uint64_t buffers = 0, window = 0, written = 0, zero_copy = 0;
    double wall = 0, cpu = 0;
    double fps() const { return wall > 0 ? double(window) / wall : 0; }
    double cpu_us_per_frame() const { return window ? cpu / double(window) * 1e6 : 0; }
};

// The figures an ended child printed.
Figures parse(ChildProcess& child)
{
    Figures f;
    const auto result = child.wait_for_line("result ", 1s);
    if (!result)
        return f;
    char ending[32] = {};
    unsigned long long buffers = 0, window = 0, written = 0, zero_copy = 0;
    if (sscanf(result->c_str(),
               "result ending=%31s buffers=%llu window=%llu wall=%lf cpu=%lf written=%llu "
               "zero_copy=%llu",
               ending, &buffers, &window, &f.wall, &f.cpu, &written, &zero_copy) != 7)
        return f;
    f.buffers = buffers;
    f.window = window;
    f.written = written;
    f.zero_copy = zero_copy;
    f.ok = window > 0 && f.wall > 0;
    return f;
}

struct Pair
{
    Figures producer, consumer;
};

// Starts `first`, waits until it plays, starts `second`; the producer is `first` when
// producer_first. The consumer gets `grace` after the producer's end to finish by itself.
Pair run_pair(const std::string& producer_desc, const std::string& consumer_desc,
              bool producer_first, uint64_t warm, int limit_s, std::chrono::milliseconds grace)
{
    std::optional<ChildProcess> producer, consumer;
    if (producer_first) {
        start(producer, producer_desc, warm, limit_s);
        if (!producer->wait_for_line("ready", 20s))
            fprintf(stderr, "transport: producer not ready\n");
        start(consumer, consumer_desc, warm, limit_s);
    } else {
        start(consumer, consumer_desc, warm, limit_s);
        if (!consumer->wait_for_line("ready", 20s))
            fprintf(stderr, "transport: consumer not ready\n");
        start(producer, producer_desc, warm, limit_s);
    }
    finish(*producer, std::chrono::seconds(limit_s));
    finish(*consumer, grace);
    remove_shmpipe_areas(producer->pid());
    return {parse(*producer), parse(*consumer)};
}

Figures run_alone(const std::string& producer_desc, uint64_t warm, int limit_s)
{
    std::optional<ChildProcess> producer;
    start(producer, producer_desc, warm, limit_s);
    finish(*producer, std::chrono::seconds(limit_s));
    return parse(*producer);
}

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

// Hot memcpy of one frame, median of 15 (the floor of a copying transport).
double memcpy_us(size_t bytes)
{
    std::vector<uint8_t> a(bytes, 1), b(bytes, 2);
    std::vector<double> us;
    for (int i = 0; i < 16; ++i) {
        const double t0 = monotonic_s();
        memcpy(b.data(), a.data(), bytes);
        const double t1 = monotonic_s();
        if (i > 0)
            us.push_back((t1 - t0) * 1e6);
        a[size_t(i) % bytes] = b[bytes - 1 - size_t(i) % bytes]; // keeps the copies alive
    }
    return median(us);
}

void row(const std::string& section, const std::string& what, const std::string& metric,
         const char* unit, const std::vector<double>& value, const char* anchor,
         const std::vector<double>& anchor_value)
{
    report_row(section, what, metric, unit, value, anchor ? anchor : "", anchor_value);
}

struct Case
{
    const char* name;
    const char* format;
    int width, height;
    double bytes_per_pixel;
    bool own_memory; // identity drop-allocation=true: the producer brings its own buffers
    // Each sink with its default size (pvshmsink 4 slots, shmsink 64 MiB); else both hold 16
    // frames.
    bool defaults = false;
    // The consumer's fakesink keeps its last buffer (GstBaseSink's enable-last-sample, on by
    // default), so that a third slot or block is in use while the producer paints.
    bool consumer_keeps_last = true;
};

int run_driver(bool quick)
{
    const Case cases[] = {
        {"1920x1080 BGR", "BGR", 1920, 1080, 3, false},
        {"1920x1080 BGR, both sinks' default sizes", "BGR", 1920, 1080, 3, false, true},
        {"1920x1080 BGR, consumer keeps no last buffer", "BGR", 1920, 1080, 3, false, false, false},
        {"3840x2160 BGR", "BGR", 3840, 2160, 3, false},
        {"1920x1080 GRAY8", "GRAY8", 1920, 1080, 1, false},
        {"1920x1080 NV12", "NV12", 1920, 1080, 1.5, false},
        {"1920x1080 BGR, producer's own memory", "BGR", 1920, 1080, 3, true},
        {"3840x2160 BGR, producer's own memory", "BGR", 3840, 2160, 3, true},
    };
    const int reps = quick ? 1 : 3;
    // A pair that overruns this is stopped and its run left out (reported on stderr).
    const int limit_s = quick ? 15 : 20;
    const std::string tag = std::to_string(getpid());
    int serial = 0;
    size_t incomplete_cases = 0;
    const char* section = "transport, two processes, videotestsrc pattern=black unthrottled";
    for (const Case& c : cases) {
        const auto bytes = size_t(c.width * c.height * c.bytes_per_pixel);
        // About one second of frames at ~9 GB/s of painting, 300..3000.
        const uint64_t frames =
            quick ? 40 : std::clamp<uint64_t>(uint64_t(9e9 / double(bytes)), 300, 3000);
        const uint64_t warm = quick ? 8 : frames / 10;
        char caps[160];
        snprintf(caps, sizeof caps, "video/x-raw,format=%s,width=%d,height=%d,framerate=30/1",
                 c.format, c.width, c.height);
        const std::string consumer_sink =
            std::string("fakesink name=sink sync=false") +
            (c.consumer_keeps_last ? "" : " enable-last-sample=false");
        const std::string source =
            "videotestsrc pattern=black num-buffers=" + std::to_string(frames) + " ! " + caps +
            " ! " + (c.own_memory ? "identity drop-allocation=true ! " : "");
        std::vector<double> alone_fps, alone_cpu, pv_fps, shm_fps, pv_prod, shm_prod, pv_cons,
            shm_cons, pv_cost, shm_cost, pv_copies, pv_recv, shm_recv, memcpy_floor;
        for (int rep = 0; rep < reps; ++rep) {
            fprintf(stderr, "transport: %s, run %d/%d\n", c.name, rep + 1, reps);
            const Figures alone =
                run_alone(source + "fakesink name=sink sync=false", warm, limit_s);
            const std::string id = "bench-transport-" + tag + "-" + std::to_string(++serial);
            const std::string socket = "/tmp/" + id + ".sock";
            const auto run_pvshm = [&] {
                return run_pair(source +
                                    // 16 slots, the 16 frames shmsink's area holds below, but in
                                    // the case of the default sizes.
                                    "pvshmsink name=sink sync=false persist=false " +
                                    std::string(c.defaults ? "" : "slots=16 ") +
                                    "shared-mem-id=" + id,
                                "pvshmsrc shared-mem-id=" + id +
                                    " is-live=true mode=all timeout=30000000000 ! " + consumer_sink,
                                false, warm, limit_s, quick ? 200ms : 500ms);
            };
            const auto run_shm = [&] {
                const size_t shm_size = std::max<size_t>(size_t(128) << 20, 16 * bytes);
                return run_pair(source +
                                    "shmsink name=sink sync=false wait-for-connection=true "
                                    "socket-path=" +
                                    socket +
                                    (c.defaults ? "" : " shm-size=" + std::to_string(shm_size)),
                                "shmsrc socket-path=" + socket + " is-live=true num-buffers=" +
                                    std::to_string(frames) + " ! " + caps + " ! " + consumer_sink,
                                true, warm, limit_s, 2s);
            };
            Pair pv, shm;
            if (rep % 2 == 0) {
                pv = run_pvshm();
                shm = run_shm();
            } else {
                shm = run_shm();
                pv = run_pvshm();
            }
            pvshm::dev_clear_shared_memory(id);
            unlink(socket.c_str());
            memcpy_floor.push_back(memcpy_us(bytes));
            if (!alone.ok || !pv.producer.ok || !pv.consumer.ok || !shm.producer.ok ||
                !shm.consumer.ok) {
                fprintf(stderr,
                        "transport: %s run %d incomplete (alone %d, pvshm %d/%d, shm %d/%d)\n",
                        c.name, rep + 1, alone.ok, pv.producer.ok, pv.consumer.ok, shm.producer.ok,
                        shm.consumer.ok);
                continue;
            }
            alone_fps.push_back(alone.fps());
            alone_cpu.push_back(alone.cpu_us_per_frame());
            pv_fps.push_back(pv.producer.fps());
            shm_fps.push_back(shm.producer.fps());
            pv_prod.push_back(pv.producer.cpu_us_per_frame());
            shm_prod.push_back(shm.producer.cpu_us_per_frame());
            pv_cons.push_back(pv.consumer.cpu_us_per_frame());
            shm_cons.push_back(shm.consumer.cpu_us_per_frame());
            pv_cost.push_back(pv.producer.cpu_us_per_frame() + pv.consumer.cpu_us_per_frame() -
                              alone.cpu_us_per_frame());
            shm_cost.push_back(shm.producer.cpu_us_per_frame() + shm.consumer.cpu_us_per_frame() -
                               alone.cpu_us_per_frame());
            if (pv.producer.written)
                pv_copies.push_back(double(pv.producer.written - pv.producer.zero_copy) /
                                    double(pv.producer.written));
            pv_recv.push_back(double(pv.consumer.buffers) / double(pv.producer.buffers));
            shm_recv.push_back(double(shm.consumer.buffers) / double(shm.producer.buffers));
        }
        if (alone_fps.empty()) {
            // A loaded machine can starve a run; the other cases still say what they measured.
            fprintf(stderr, "transport: no complete run for %s\n", c.name);
            ++incomplete_cases;
            continue;
        }
        const char* shm_anchor = "shmsink→shmsrc";
        row(section, c.name, "frames/s", "frames/s", pv_fps, shm_anchor, shm_fps);
        row(section, c.name, "frames/s vs producer alone", "frames/s", pv_fps,
            "producer alone → fakesink", alone_fps);
        row(section, std::string(c.name) + " [shmsink→shmsrc]", "frames/s vs producer alone",
            "frames/s", shm_fps, "producer alone → fakesink", alone_fps);
        row(section, c.name, "producer alone → fakesink: frames/s", "frames/s", alone_fps, nullptr,
            {});
        row(section, c.name, "producer alone → fakesink: CPU/frame", "us", alone_cpu, nullptr, {});
        row(section, c.name, "producer CPU/frame", "us", pv_prod, shm_anchor, shm_prod);
        row(section, c.name, "consumer CPU/frame", "us", pv_cons, shm_anchor, shm_cons);
        row(section, c.name, "transport cost (both CPU/frame - producer alone)", "us", pv_cost,
            shm_anchor, shm_cost);
        if (c.own_memory) {
            row(section, c.name, "transport cost vs one memcpy", "us", pv_cost,
                "memcpy of the frame (hot)", memcpy_floor);
            row(section, std::string(c.name) + " [shmsink→shmsrc]", "transport cost vs one memcpy",
                "us", shm_cost, "memcpy of the frame (hot)", memcpy_floor);
        }
        row(section, c.name, "frames received / frames sent", "ratio", pv_recv, shm_anchor,
            shm_recv);
        row(section, c.name, "pvshmsink copies/frame (1 - zero-copy-frames/frames-written)",
            "copies", pv_copies, nullptr, {});
        fflush(stdout);
    }
    return incomplete_cases < std::size(cases) ? 0 : 1;
}

} // namespace

int main(int argc, char** argv)
{
    if (argc == 5 && strcmp(argv[1], "--run") == 0)
        return run_child(argv[2], strtoull(argv[3], nullptr, 10), atoi(argv[4]));
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
