// SPDX-License-Identifier: LGPL-2.1-or-later
// Transport between two processes: pvshmsink -> pvshmsrc against shmsink -> shmsrc, the same
// producer (videotestsrc pattern=black, unthrottled) and the same consumer (fakesink) on both
// sides, and the producer alone into fakesink as the floor. Prints JSON lines for report.py.
//
//   pvshm-bench-transport [--quick]
//
// Every pipeline runs in a child process (this program re-executed with --run), which measures
// itself between its warm-up buffer and its last buffer (getrusage(RUSAGE_SELF) of the whole
// process, and CLOCK_MONOTONIC, at its sink's pad), so that gst_init, plugin loading and teardown
// are not charged to the frames. Every child has a deadline: the driver kills what overruns it.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <dirent.h>
#include <fcntl.h>
#include <map>
#include <optional>
#include <poll.h>
#include <string>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include <gst/gst.h>

#include <pvshm/pvshm.hpp>

#include "report_row.hpp"

namespace {

double monotonic_s()
{
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

double cpu_s()
{
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    auto seconds = [](const timeval& tv) { return double(tv.tv_sec) + double(tv.tv_usec) / 1e6; };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// ---------------------------------------------------------------------------------------------
// Child: one pipeline, measured at the pad of the element named "sink".

volatile sig_atomic_t g_stop = 0;

void on_stop_signal(int)
{
    g_stop = 1;
}

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
    alarm(unsigned(limit_s) + 5); // last resort: the driver kills us before that
    signal(SIGTERM, on_stop_signal);
    signal(SIGINT, on_stop_signal);
#ifdef PVSHM_PLUGIN_DIR
    const char* old = getenv("GST_PLUGIN_PATH");
    std::string path = PVSHM_PLUGIN_DIR;
    if (old && *old)
        path += std::string(":") + old;
    setenv("GST_PLUGIN_PATH", path.c_str(), 1);
#endif
    gst_init(nullptr, nullptr);
    GError* error = nullptr;
    GstElement* pipeline = gst_parse_launch(description, &error);
    if (!pipeline || error) {
        fprintf(stderr, "transport: cannot build '%s': %s\n", description,
                error ? error->message : "?");
        return 3;
    }
    GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
    if (!sink) {
        fprintf(stderr, "transport: no element named sink in '%s'\n", description);
        return 3;
    }
    PadMeasure measure;
    measure.warm = std::max<uint64_t>(warm, 1);
    GstPad* pad = gst_element_get_static_pad(sink, "sink");
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, on_buffer, &measure, nullptr);
    gst_object_unref(pad);

    if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
        fprintf(stderr, "transport: '%s' would not play\n", description);
        gst_element_set_state(pipeline, GST_STATE_NULL);
        return 3;
    }
    printf("ready\n");
    fflush(stdout);
    GstBus* bus = gst_element_get_bus(pipeline);
    const double deadline = monotonic_s() + limit_s;
    const char* ending = "timeout";
    while (!g_stop && monotonic_s() < deadline) {
        GstMessage* msg = gst_bus_timed_pop_filtered(
            bus, 20 * GST_MSECOND, GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
        if (!msg)
            continue;
        if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
            GError* err = nullptr;
            gst_message_parse_error(msg, &err, nullptr);
            fprintf(stderr, "transport: error in '%s': %s\n", description, err->message);
            g_error_free(err);
            ending = "error";
        } else {
            ending = "eos";
        }
        gst_message_unref(msg);
        break;
    }
    if (g_stop)
        ending = "stopped";
    const uint64_t buffers = measure.buffers.load();
    const uint64_t window = buffers > measure.warm ? buffers - measure.warm : 0;
    printf("result ending=%s buffers=%llu window=%llu wall=%.9f cpu=%.9f written=%llu "
           "zero_copy=%llu\n",
           ending, (unsigned long long)buffers, (unsigned long long)window,
           measure.wall1 - measure.wall0, measure.cpu1 - measure.cpu0,
           (unsigned long long)stats_field(sink, "frames-written"),
           (unsigned long long)stats_field(sink, "zero-copy-frames"));
    fflush(stdout);
    gst_object_unref(bus);
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(sink);
    gst_object_unref(pipeline);
    return 0;
}

// ---------------------------------------------------------------------------------------------
// Driver.

struct Child
{
    pid_t pid = -1;
    int out = -1; // its stdout
    std::string text;
    bool exited = false;
    bool killed = false;
};

Child spawn(const std::string& description, uint64_t warm, int limit_s)
{
    int fds[2];
    if (pipe(fds) != 0) {
        perror("pipe");
        exit(1);
    }
    Child child;
    child.pid = fork();
    if (child.pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        const std::string warm_s = std::to_string(warm), limit = std::to_string(limit_s);
        execl("/proc/self/exe", "pvshm-bench-transport", "--run", description.c_str(),
              warm_s.c_str(), limit.c_str(), (char*)nullptr);
        _exit(127);
    }
    close(fds[1]);
    child.out = fds[0];
    fcntl(child.out, F_SETFL, O_NONBLOCK);
    return child;
}

void drain(Child& child)
{
    char buf[4096];
    for (;;) {
        const ssize_t n = read(child.out, buf, sizeof buf);
        if (n <= 0)
            return;
        child.text.append(buf, size_t(n));
    }
}

// Waits until the child printed "ready" (or exited), at most `timeout_s`.
bool wait_ready(Child& child, double timeout_s)
{
    const double deadline = monotonic_s() + timeout_s;
    while (child.text.find("ready\n") == std::string::npos) {
        const double left = deadline - monotonic_s();
        if (left <= 0)
            return false;
        pollfd p{child.out, POLLIN, 0};
        if (poll(&p, 1, int(left * 1000) + 1) > 0) {
            const size_t before = child.text.size();
            drain(child);
            if (child.text.size() == before && (p.revents & (POLLHUP | POLLERR)))
                return false; // exited without being ready
        }
    }
    return true;
}

// Waits for the child to exit; after `timeout_s` asks it to stop (SIGTERM: it still reports),
// and one more second later kills it.
void finish(Child& child, double timeout_s)
{
    const double deadline = monotonic_s() + timeout_s;
    bool asked = false;
    for (;;) {
        drain(child);
        int status = 0;
        const pid_t done = waitpid(child.pid, &status, WNOHANG);
        if (done == child.pid) {
            child.exited = true;
            drain(child);
            close(child.out);
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                fprintf(stderr, "transport: child %d ended with status %d\n", int(child.pid),
                        status);
            return;
        }
        const double now = monotonic_s();
        if (!asked && now >= deadline) {
            kill(child.pid, SIGTERM);
            asked = true;
        } else if (asked && now >= deadline + 2.0 && !child.killed) {
            fprintf(stderr, "transport: child %d hung, killed\n", int(child.pid));
            kill(child.pid, SIGKILL);
            child.killed = true;
        }
        usleep(2000);
    }
}

struct Figures
{
    bool ok = false;
    uint64_t buffers = 0, window = 0, written = 0, zero_copy = 0;
    double wall = 0, cpu = 0;
    double fps() const { return wall > 0 ? double(window) / wall : 0; }
    double cpu_us_per_frame() const { return window ? cpu / double(window) * 1e6 : 0; }
};

Figures parse(const Child& child)
{
    Figures f;
    const size_t at = child.text.find("result ");
    if (at == std::string::npos)
        return f;
    char ending[32] = {};
    unsigned long long buffers = 0, window = 0, written = 0, zero_copy = 0;
    if (sscanf(child.text.c_str() + at,
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

// Removes what a killed shmsink could leave: its shm areas are /dev/shm/shmpipe.<pid>.*
void remove_shmpipe_areas(pid_t producer)
{
    // shmsink names them "shmpipe.%5d.%5d" (pid, counter), space-padded.
    if (DIR* dir = opendir("/dev/shm")) {
        while (dirent* entry = readdir(dir)) {
            int pid = 0, serial = 0;
            if (sscanf(entry->d_name, "shmpipe.%d.%d", &pid, &serial) == 2 && pid == producer)
                unlink(("/dev/shm/" + std::string(entry->d_name)).c_str());
        }
        closedir(dir);
    }
}

struct Pair
{
    Figures producer, consumer;
};

// Starts `first`, waits until it plays, starts `second`; the producer is `first` when
// producer_first. The consumer gets `grace_s` after the producer's end to finish by itself.
Pair run_pair(const std::string& producer_desc, const std::string& consumer_desc,
              bool producer_first, uint64_t warm, int limit_s, double grace_s)
{
    Child producer, consumer;
    if (producer_first) {
        producer = spawn(producer_desc, warm, limit_s);
        if (!wait_ready(producer, 20))
            fprintf(stderr, "transport: producer not ready\n");
        consumer = spawn(consumer_desc, warm, limit_s);
    } else {
        consumer = spawn(consumer_desc, warm, limit_s);
        if (!wait_ready(consumer, 20))
            fprintf(stderr, "transport: consumer not ready\n");
        producer = spawn(producer_desc, warm, limit_s);
    }
    finish(producer, limit_s);
    finish(consumer, grace_s);
    remove_shmpipe_areas(producer.pid);
    return {parse(producer), parse(consumer)};
}

Figures run_alone(const std::string& producer_desc, uint64_t warm, int limit_s)
{
    Child producer = spawn(producer_desc, warm, limit_s);
    finish(producer, limit_s);
    return parse(producer);
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
};

int run_driver(bool quick)
{
    const Case cases[] = {
        {"1920x1080 BGR", "BGR", 1920, 1080, 3, false},
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
                return run_pair(
                    source +
                        // 16 slots: the 16 frames shmsink's area holds below.
                        "pvshmsink name=sink sync=false persist=false slots=16 "
                        "shared-mem-id=" +
                        id,
                    "pvshmsrc shared-mem-id=" + id +
                        " is-live=true mode=all timeout=30000000000 ! fakesink name=sink "
                        "sync=false",
                    false, warm, limit_s, quick ? 0.2 : 0.5);
            };
            const auto run_shm = [&] {
                const size_t shm_size = std::max<size_t>(size_t(128) << 20, 16 * bytes);
                return run_pair(source +
                                    "shmsink name=sink sync=false wait-for-connection=true "
                                    "socket-path=" +
                                    socket + " shm-size=" + std::to_string(shm_size),
                                "shmsrc socket-path=" + socket +
                                    " is-live=true num-buffers=" + std::to_string(frames) + " ! " +
                                    caps + " ! fakesink name=sink sync=false",
                                true, warm, limit_s, 2.0);
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
