// SPDX-License-Identifier: LGPL-2.1-or-later
// Scale: what readers and ids cost. One 1920x1080 BGR producer at 30 frames/s (videotestsrc
// is-live=true ! pvshmsink) read by N = 1, 4, 16, 64 processes, library readers
// (Reader::wait + view_latest, touching one byte) or pvshmsrc ! fakesink pipelines, against
// shmsink read by N shmsrc ! fakesink pipelines; then 1, 4 and 8 such ids at once, a producer and
// a pvshmsrc reader each, against as many shmsink/shmsrc pairs. Producers paint pattern=black;
// every fakesink has sync=false. Prints JSON lines for report.py.
//
//   pvshm-bench-scale [--quick]
//
// Every process is a child (this program re-executed with --pipeline or --reader) that counts
// its frames (at the pad of the element named "sink", or as its reader returns them) and answers
// the driver's "mark" lines with its frame count and its CPU time (getrusage(RUSAGE_SELF), all
// threads), so that a window between two marks leaves out gst_init, plugin loading, start-up and
// teardown. Each set of processes is started once and measured over several fixed windows of
// wall time after every process said it is warm. Every child has a deadline: the driver kills
// what overruns it.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <sys/resource.h>
#include <thread>
#include <tuple>
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
using Clock = std::chrono::steady_clock;

constexpr int kWidth = 1920;
constexpr int kHeight = 1080;
constexpr size_t kFrameBytes = size_t(kWidth) * kHeight * 3;
constexpr const char* kCaps = "video/x-raw,format=BGR,width=1920,height=1080,framerate=30/1";

// ---------------------------------------------------------------------------------------------
// Children. Globals: the thread answering marks is never joined (it may still be blocked in
// fgets when the child ends by its deadline).

std::atomic<uint64_t> g_frames{0};
std::atomic<bool> g_stop{false};
uint64_t g_warm = 10;

// One more frame; says "warm" once the child has had its warm-up frames.
void count_frame()
{
    if (++g_frames == g_warm) {
        printf("warm\n");
        fflush(stdout);
    }
}

// Answers each "mark" line on stdin with the frames so far and the CPU time so far; the end of
// stdin asks the child to stop.
void answer_marks()
{
    std::thread([] {
        char line[64];
        while (fgets(line, sizeof line, stdin)) {
            if (strncmp(line, "mark", 4) != 0)
                continue;
            const unsigned long long frames = g_frames.load();
            printf("mark frames=%llu cpu=%.9f\n", frames, cpu_s());
            fflush(stdout);
        }
        g_stop = true;
    }).detach();
}

GstPadProbeReturn on_buffer(GstPad*, GstPadProbeInfo*, gpointer)
{
    count_frame();
    return GST_PAD_PROBE_OK;
}

// One pipeline, its frames counted at the pad of the element named "sink".
int run_pipeline(const char* description, int limit_s)
{
    PipelineChild child("scale", description, limit_s);
    if (!child.built())
        return 3;
    GstPad* pad = gst_element_get_static_pad(child.sink(), "sink");
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, on_buffer, nullptr, nullptr);
    gst_object_unref(pad);
    answer_marks();
    return child.run([] { return g_stop.load(); }) ? 0 : 3;
}

// A library reader of the newest frame: Reader::wait, view_latest, one byte of the frame read.
int run_reader(const char* id, int limit_s)
{
    alarm(unsigned(limit_s) + 5);
    try {
        pvshm::Reader reader(id);
        answer_marks();
        printf("ready\n");
        fflush(stdout);
        const auto deadline = Clock::now() + std::chrono::seconds(limit_s);
        volatile uint8_t touched = 0;
        while (!g_stop && Clock::now() < deadline) {
            if (!reader.wait(100ms))
                continue;
            if (auto view = reader.view_latest(); view && view->size() > 0) {
                touched = view->data()[view->size() / 2];
                count_frame();
            }
        }
        (void)touched;
        return 0;
    } catch (const std::exception& error) {
        fprintf(stderr, "scale: reader of %s: %s\n", id, error.what());
        return 1;
    }
}

// ---------------------------------------------------------------------------------------------
// Driver.

// What one child did between two marks.
struct Delta
{
    uint64_t frames = 0;
    double cpu = 0;
    double cpu_us_per_frame() const { return frames ? cpu / double(frames) * 1e6 : 0; }
};

// One child of the driver (this program again) and its figures at the last mark.
struct Child
{
    std::unique_ptr<ChildProcess> process;
    uint64_t frames = 0;
    double cpu = 0;
};

struct Settings
{
    int windows = 3;     // measured windows per set of processes
    double window_s = 2; // wall time of each
    uint64_t warm = 15;  // frames every child has before the first window
    int limit_s = 180;   // each child's deadline
};

using Children = std::vector<Child>;

std::chrono::milliseconds until(Clock::time_point deadline)
{
    return std::max(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()),
                    1ms);
}

// Waits for a line starting with `prefix` from children [from, to), all within `timeout`.
bool await_all(Children& children, size_t from, size_t to, const char* prefix,
               std::chrono::milliseconds timeout)
{
    const auto deadline = Clock::now() + timeout;
    for (size_t i = from; i < to; ++i) {
        if (!children[i].process->wait_for_line(prefix, until(deadline))) {
            fprintf(stderr, "scale: child %d said no '%s'\n", int(children[i].process->pid()),
                    prefix);
            return false;
        }
    }
    return true;
}

// Asks every child for a mark (all first, then the answers); returns what each did since the
// previous one.
std::optional<std::vector<Delta>> mark(Children& children)
{
    for (auto& child : children)
        child.process->write_line("mark");
    std::vector<Delta> deltas;
    for (auto& child : children) {
        const auto line = child.process->wait_for_line("mark ", 10s);
        unsigned long long frames = 0;
        double cpu = 0;
        if (!line || sscanf(line->c_str(), "mark frames=%llu cpu=%lf", &frames, &cpu) != 2) {
            fprintf(stderr, "scale: child %d gave no mark\n", int(child.process->pid()));
            return std::nullopt;
        }
        deltas.push_back({frames - child.frames, cpu - child.cpu});
        child.frames = frames;
        child.cpu = cpu;
    }
    return deltas;
}

// Ends children [from, to): their stdin closed (they stop by themselves), killed after `grace`.
void finish(Children& children, size_t from, size_t to, std::chrono::milliseconds grace)
{
    for (size_t i = from; i < to; ++i)
        children[i].process->close_stdin();
    const auto deadline = Clock::now() + grace;
    for (size_t i = from; i < to; ++i) {
        if (!children[i].process->wait_exit(until(deadline))) {
            fprintf(stderr, "scale: child %d overran, killed\n", int(children[i].process->pid()));
            children[i].process->stop(SIGKILL, 10s);
        }
    }
}

// A set of processes measured together: the producers, then the readers, per window.
struct Measured
{
    bool ok = false;
    std::vector<std::vector<Delta>> producers, readers; // [window][child]
    std::vector<pid_t> producer_pids;
};

// Starts the producers (until each plays), then the readers, waits until every one is warm and
// measures them all over settings.windows windows.
Measured measure(const std::vector<std::vector<std::string>>& producers,
                 const std::vector<std::vector<std::string>>& readers, const Settings& settings)
{
    Measured m;
    Children children; // the producers, then the readers
    const size_t p = producers.size();
    const auto start = [&](const std::vector<std::string>& args) {
        std::vector<std::string> all = args;
        all.push_back(std::to_string(settings.warm));
        all.push_back(std::to_string(settings.limit_s));
        children.push_back({std::make_unique<ChildProcess>("/proc/self/exe", all), 0, 0});
    };
    try {
        for (const auto& args : producers) {
            start(args);
            m.producer_pids.push_back(children.back().process->pid());
        }
        if (await_all(children, 0, p, "ready", 60s)) {
            for (const auto& args : readers)
                start(args);
            m.ok = await_all(children, p, children.size(), "ready", 90s) &&
                   await_all(children, 0, children.size(), "warm", 30s) &&
                   mark(children).has_value();
            for (int w = 0; m.ok && w < settings.windows; ++w) {
                std::this_thread::sleep_for(std::chrono::duration<double>(settings.window_s));
                const auto deltas = mark(children);
                m.ok = deltas.has_value();
                if (m.ok) {
                    m.producers.emplace_back(deltas->begin(), deltas->begin() + long(p));
                    m.readers.emplace_back(deltas->begin() + long(p), deltas->end());
                }
            }
        }
    } catch (const std::exception& error) {
        fprintf(stderr, "scale: %s\n", error.what());
        m.ok = false;
    }
    // Readers first, so that no reader outlives its producer.
    finish(children, std::min(p, children.size()), children.size(), 15s);
    finish(children, 0, std::min(p, children.size()), 10s);
    return m;
}

std::vector<std::string> pipeline(const std::string& description)
{
    return {"--pipeline", description};
}

std::string pvshm_producer(const std::string& id)
{
    return std::string("videotestsrc is-live=true pattern=black ! ") + kCaps +
           " ! pvshmsink name=sink sync=false persist=false shared-mem-id=" + id;
}

std::string shmsink_producer(const std::string& socket)
{
    // Room for 32 frames: readers that lag on a busy machine keep theirs pinned.
    return std::string("videotestsrc is-live=true pattern=black ! ") + kCaps +
           " ! shmsink name=sink sync=false wait-for-connection=false shm-size=" +
           std::to_string(32 * kFrameBytes) + " socket-path=" + socket;
}

std::string pvshmsrc_reader(const std::string& id)
{
    return "pvshmsrc shared-mem-id=" + id + " ! fakesink name=sink sync=false";
}

std::string shmsrc_reader(const std::string& socket)
{
    return "shmsrc socket-path=" + socket + " is-live=true ! " + kCaps +
           " ! fakesink name=sink sync=false";
}

enum class Kind
{
    Library,  // pvshmsink, Reader::wait + view_latest readers
    Pvshmsrc, // pvshmsink, pvshmsrc ! fakesink readers
    Shmsrc,   // shmsink, shmsrc ! fakesink readers
};

// Per window, the figures of one set of processes: producers' and readers' CPU per frame (each
// per its own frames), readers' frames received per frame sent, all processes' CPU per frame
// delivered.
struct Figures
{
    bool ok = false;
    std::vector<double> producer_us, reader_us, received, total_us;
};

double mean(const std::vector<double>& v)
{
    return v.empty() ? 0 : std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
}

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

Figures figures(const Measured& m)
{
    Figures f;
    f.ok = m.ok && !m.producers.empty();
    for (size_t w = 0; f.ok && w < m.producers.size(); ++w) {
        std::vector<double> producer, reader, received;
        double cpu = 0;
        uint64_t sent = 0, delivered = 0;
        for (const Delta& d : m.producers[w]) {
            producer.push_back(d.cpu_us_per_frame());
            cpu += d.cpu;
            sent += d.frames;
        }
        const double sent_per_producer = double(sent) / double(m.producers[w].size());
        for (const Delta& d : m.readers[w]) {
            reader.push_back(d.cpu_us_per_frame());
            received.push_back(sent_per_producer > 0 ? double(d.frames) / sent_per_producer : 0);
            cpu += d.cpu;
            delivered += d.frames;
        }
        f.producer_us.push_back(mean(producer));
        f.reader_us.push_back(mean(reader));
        f.received.push_back(mean(received));
        f.total_us.push_back(delivered ? cpu / double(delivered) * 1e6 : 0);
    }
    return f;
}

class Driver
{
public:
    explicit Driver(const Settings& settings) : settings_(settings) {}

    // `ids` producers of their own id, each read by `readers` readers of `kind`.
    // Measured once: part 2's one id is part 1's one reader.
    Figures run(Kind kind, int ids, int readers)
    {
        const auto key = std::make_tuple(kind, ids, readers);
        if (const auto known = measured_.find(key); known != measured_.end())
            return known->second;
        return measured_[key] = measure_new(kind, ids, readers);
    }

    // The producer alone into fakesink.
    Figures alone()
    {
        const std::string source =
            std::string("videotestsrc is-live=true pattern=black ! ") + kCaps + " ! ";
        return figures(
            measure({pipeline(source + "fakesink name=sink sync=false")}, {}, settings_));
    }

private:
    Figures measure_new(Kind kind, int ids, int readers)
    {
        std::vector<std::vector<std::string>> producer_args, reader_args;
        std::vector<std::string> names, sockets;
        for (int i = 0; i < ids; ++i) {
            const std::string name =
                "bench-scale-" + std::to_string(getpid()) + "-" + std::to_string(++serial_);
            if (kind == Kind::Shmsrc) {
                sockets.push_back("/tmp/" + name + ".sock");
                producer_args.push_back(pipeline(shmsink_producer(sockets.back())));
            } else {
                names.push_back(name);
                producer_args.push_back(pipeline(pvshm_producer(name)));
            }
            for (int r = 0; r < readers; ++r) {
                if (kind == Kind::Library)
                    reader_args.push_back({"--reader", name});
                else if (kind == Kind::Pvshmsrc)
                    reader_args.push_back(pipeline(pvshmsrc_reader(name)));
                else
                    reader_args.push_back(pipeline(shmsrc_reader(sockets.back())));
            }
        }
        const auto started = Clock::now();
        const Measured m = measure(producer_args, reader_args, settings_);
        for (const auto& name : names)
            pvshm::dev_clear_shared_memory(name);
        for (const auto& socket : sockets)
            unlink(socket.c_str());
        for (pid_t pid : m.producer_pids)
            remove_shmpipe_areas(pid);
        static const char* kinds[] = {"library", "pvshmsrc", "shmsrc"};
        fprintf(stderr, "scale: %d id(s) x %d %s reader(s): %s in %.1f s\n", ids, readers,
                kinds[int(kind)], m.ok ? "measured" : "FAILED",
                std::chrono::duration<double>(Clock::now() - started).count());
        return figures(m);
    }

    Settings settings_;
    int serial_ = 0;
    std::map<std::tuple<Kind, int, int>, Figures> measured_;
};

int run_driver(bool quick)
{
    // Quick: one short window per set of processes, to prove the benchmark works.
    const Settings settings = quick ? Settings{1, 0.3, 3, 30} : Settings{};
    Driver driver(settings);
    const std::vector<int> reader_counts =
        quick ? std::vector<int>{1, 4} : std::vector<int>{1, 4, 16, 64};
    const std::vector<int> id_counts = quick ? std::vector<int>{1, 2} : std::vector<int>{1, 4, 8};
    bool complete = true;

    // 1. Readers of one id.
    const std::string section = "scale: N readers of one 1920x1080 BGR id at 30 frames/s, each "
                                "in its own process";
    const char* shm_anchor = "shmsink, N × shmsrc ! fakesink";
    struct AtN
    {
        int n;
        Figures lib, src, shm;
    };
    std::vector<AtN> results;
    for (size_t i = 0; i < reader_counts.size(); ++i) {
        const int n = reader_counts[i];
        AtN at{n, {}, {}, {}};
        // The anchor first at every other N, so that a drift of the machine's load does not
        // always favour the same side.
        if (i % 2 == 1)
            at.shm = driver.run(Kind::Shmsrc, 1, n);
        at.src = driver.run(Kind::Pvshmsrc, 1, n);
        at.lib = driver.run(Kind::Library, 1, n);
        if (i % 2 == 0)
            at.shm = driver.run(Kind::Shmsrc, 1, n);
        results.push_back(at);
    }
    const Figures alone = driver.alone();
    const AtN& one = results.front();
    for (const AtN& at : results) {
        const std::string n = std::to_string(at.n);
        if (!at.shm.ok || !at.src.ok || !at.lib.ok)
            complete = false;
        // A reader kind's rows, next to shmsink with as many shmsrc readers; `pv_one`: the same
        // kind with one reader.
        const auto reader_rows = [&](const std::string& name, const Figures& pv,
                                     const Figures& pv_one) {
            if (!at.shm.ok || !pv.ok)
                return;
            report_row(section, name, "writer CPU/frame", "us", pv.producer_us, shm_anchor,
                       at.shm.producer_us);
            report_row(section, name, "reader CPU/frame (mean of the readers)", "us", pv.reader_us,
                       shm_anchor, at.shm.reader_us);
            report_row(section, name, "frames received / frames sent (mean of the readers)",
                       "ratio", pv.received, shm_anchor, at.shm.received);
            if (at.n == one.n || !pv_one.ok || !one.shm.ok)
                return;
            report_row(section, name,
                       "writer CPU/frame, " + n + " readers vs 1 reader (target ≤ 1.1)", "ratio",
                       {median(pv.producer_us) / median(pv_one.producer_us)},
                       "shmsink: " + n + " vs 1 shmsrc",
                       {median(at.shm.producer_us) / median(one.shm.producer_us)});
        };
        reader_rows(n + " × pvshmsrc ! fakesink", at.src, one.src);
        reader_rows(n + " × Reader::wait + view_latest", at.lib, one.lib);
    }
    if (alone.ok)
        report_row(section, "producer alone → fakesink (no shared memory)", "CPU/frame", "us",
                   alone.producer_us);
    else
        complete = false;

    // 2. Several ids at once.
    const std::string ids_section = "scale: K ids at once, each 1920x1080 BGR at 30 frames/s, "
                                    "its own producer and one pvshmsrc ! fakesink reader";
    for (size_t i = 0; i < id_counts.size(); ++i) {
        const int k = id_counts[i];
        Figures pv, shm;
        if (i % 2 == 1)
            shm = driver.run(Kind::Shmsrc, k, 1);
        pv = driver.run(Kind::Pvshmsrc, k, 1);
        if (i % 2 == 0)
            shm = driver.run(Kind::Shmsrc, k, 1);
        if (!pv.ok || !shm.ok) {
            complete = false;
            continue;
        }
        const std::string name = std::to_string(k) + (k == 1 ? " id" : " ids");
        const std::string anchor = std::to_string(k) + " × shmsink → shmsrc ! fakesink";
        report_row(ids_section, name,
                   "CPU/frame delivered, all " + std::to_string(2 * k) + " processes", "us",
                   pv.total_us, anchor, shm.total_us);
        report_row(ids_section, name, "frames received / frames sent", "ratio", pv.received, anchor,
                   shm.received);
    }
    return complete ? 0 : 1;
}

} // namespace

int main(int argc, char** argv)
{
    if (argc == 5 && (strcmp(argv[1], "--pipeline") == 0 || strcmp(argv[1], "--reader") == 0)) {
        g_warm = std::max<uint64_t>(strtoull(argv[3], nullptr, 10), 1);
        if (strcmp(argv[1], "--pipeline") == 0)
            return run_pipeline(argv[2], atoi(argv[4]));
        return run_reader(argv[2], atoi(argv[4]));
    }
    const bool quick = argc == 2 && strcmp(argv[1], "--quick") == 0;
    if (argc > 2 || (argc == 2 && !quick)) {
        fprintf(stderr, "usage: %s [--quick]\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    return run_driver(quick);
}
