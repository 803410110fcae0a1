// SPDX-License-Identifier: LGPL-2.1-or-later
// The soak test's writer (bench/soak.py): publishes stamped GRAY8 frames at a fixed rate with
// pvshm::Writer (loan, fill, publish: it never waits for a reader) and measures its own stalls.
//
//   pvshm-soak-writer ID WIDTH HEIGHT FPS SLOTS STATS_FILE
//
// ID "-" runs the control, the floor of the stall figure: the same schedule and the same fill
// into private memory, without pvshm, so that stalls the machine causes show in both.
//
// Every byte of frame n derives from n (tests/helpers/stamp.hpp), so that a reader can tell a
// torn frame. A stall is a gap longer than 1.5 frame intervals between two consecutive returns
// of loan+publish (a frame dropped because readers pinned every slot is counted as dropped, not
// as a stall; /proc/thread-self/schedstat tells how much of it the thread spent waiting for a CPU
// busy with other processes, /proc/stat how much time the hypervisor stole). Runs until
// SIGTERM/SIGINT, then removes the segment. Prints "ready <pid>" once it owns the id; STATS_FILE
// holds, rewritten every second and at exit:
//   frames_published frames_dropped stalls longest_gap_ns elapsed_ns writer_frames_written
//   cpu_stalls (stalls that the time spent waiting for a CPU, or stolen, explains)
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <optional>
#include <signal.h>
#include <string>
#include <vector>

#include <pvshm/writer.hpp>

#include "soak_common.hpp"
#include "stamp.hpp"

namespace {

std::atomic<bool> stop{false};

void on_signal(int)
{
    stop = true;
}

int64_t now_ns()
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

// Nanoseconds this thread spent runnable but waiting for a CPU (the scheduler's run delay).
int64_t run_delay_ns()
{
    FILE* file = std::fopen("/proc/thread-self/schedstat", "r");
    unsigned long long on_cpu = 0, waiting = 0;
    const bool ok = file && std::fscanf(file, "%llu %llu", &on_cpu, &waiting) == 2;
    if (file)
        std::fclose(file);
    return ok ? static_cast<int64_t>(waiting) : 0;
}

// Nanoseconds the hypervisor ran something else while this machine's CPUs had work (steal time,
// summed over every CPU, in steps of a clock tick: an estimate, not an exact figure).
int64_t steal_ns()
{
    FILE* file = std::fopen("/proc/stat", "r");
    unsigned long long fields[8] = {};
    const bool ok = file && std::fscanf(file, "cpu %llu %llu %llu %llu %llu %llu %llu %llu",
                                        &fields[0], &fields[1], &fields[2], &fields[3], &fields[4],
                                        &fields[5], &fields[6], &fields[7]) == 8;
    if (file)
        std::fclose(file);
    return ok ? static_cast<int64_t>(fields[7] * (1000000000 / sysconf(_SC_CLK_TCK))) : 0;
}

void sleep_until(int64_t deadline_ns)
{
    timespec ts;
    ts.tv_sec = deadline_ns / 1000000000;
    ts.tv_nsec = deadline_ns % 1000000000;
    while (!stop && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
    }
}

} // namespace

int main(int argc, char** argv)
{
    if (argc != 7) {
        std::fprintf(stderr, "usage: %s ID WIDTH HEIGHT FPS SLOTS STATS_FILE\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, nullptr, _IOLBF, 0);
    pvshm::soak::die_with_parent();
    struct sigaction action = {};
    action.sa_handler = on_signal;
    sigaction(SIGTERM, &action, nullptr);
    sigaction(SIGINT, &action, nullptr);

    const std::string id = argv[1];
    const auto width = static_cast<uint32_t>(std::strtoul(argv[2], nullptr, 10));
    const auto height = static_cast<uint32_t>(std::strtoul(argv[3], nullptr, 10));
    const double fps = std::strtod(argv[4], nullptr);
    pvshm::WriterOptions options;
    options.slots = static_cast<uint32_t>(std::strtoul(argv[5], nullptr, 10));
    pvshm::soak::StatsFile stats_file(argv[6]);
    if (fps <= 0 || !stats_file.ok()) {
        std::fprintf(stderr, "soak writer: bad frame rate or stats file\n");
        return 2;
    }
    const auto interval_ns = static_cast<int64_t>(1e9 / fps);
    const int64_t stall_ns = interval_ns + interval_ns / 2;

    try {
        std::optional<pvshm::Writer> writer;
        if (id != "-")
            writer.emplace(id, options);
        const auto info = pvshm::packed_frame_info(pvshm::PixelFormat::GRAY8, width, height);
        std::printf("ready %d\n", static_cast<int>(getpid()));

        uint64_t published = 0;
        uint64_t dropped = 0;
        uint64_t stalls = 0;
        uint64_t cpu_stalls = 0; // stalls that waiting for a CPU (or steal time) explains
        int64_t last_run_delay = run_delay_ns();
        int64_t last_steal = steal_ns();
        int64_t longest_gap = 0;
        const int64_t start = now_ns();
        int64_t deadline = start;
        int64_t last_return = 0;
        int64_t last_report = start;
        auto report = [&](int64_t now) {
            const uint64_t values[] = {published,
                                       dropped,
                                       stalls,
                                       static_cast<uint64_t>(longest_gap),
                                       static_cast<uint64_t>(now - start),
                                       writer ? writer->stats().frames_written : published,
                                       cpu_stalls};
            stats_file.write(values, 7);
        };

        std::vector<uint8_t> control(writer ? 0 : info.payload_size);
        for (uint64_t stamp = 1; !stop; ++stamp) {
            const int64_t woke = now_ns();
            int64_t loaned = woke;
            int64_t filled = woke;
            if (!writer) { // the control
                pvshm::test::fill_stamped(control.data(), control.size(), stamp);
                filled = now_ns();
                ++published;
            } else if (auto slot = writer->loan(info.payload_size)) {
                loaned = now_ns();
                pvshm::test::fill_stamped(slot->data(), info.payload_size, stamp);
                filled = now_ns();
                if (writer->publish(*slot, info))
                    ++published;
                else
                    ++dropped;
            } else {
                loaned = filled = now_ns();
                ++dropped; // every slot pinned by readers
            }
            const int64_t now = now_ns();
            const int64_t run_delay = run_delay_ns();
            const int64_t steal = steal_ns();
            if (last_return != 0) {
                const int64_t gap = now - last_return;
                if (gap > longest_gap)
                    longest_gap = gap;
                if (gap > stall_ns) {
                    ++stalls;
                    const int64_t cpu_wait = run_delay - last_run_delay;
                    const int64_t stolen = steal - last_steal;
                    if (gap - cpu_wait - stolen <= stall_ns)
                        ++cpu_stalls;
                    // Where the time went: waking up late (the CPU was busy elsewhere, or the
                    // hypervisor ran another machine), or in the writer's own calls.
                    std::fprintf(
                        stderr,
                        "soak writer: stall of %.1f ms before frame %llu: woke %.1f ms "
                        "late, loan %.2f ms, fill %.2f ms, publish %.2f ms; %.1f ms of it waiting "
                        "for a CPU, host steal %.0f ms\n",
                        gap / 1e6, static_cast<unsigned long long>(stamp), (woke - deadline) / 1e6,
                        (loaned - woke) / 1e6, (filled - loaned) / 1e6, (now - filled) / 1e6,
                        cpu_wait / 1e6, stolen / 1e6);
                }
            }
            last_return = now;
            last_run_delay = run_delay;
            last_steal = steal;
            if (now - last_report >= 1000000000) {
                report(now);
                last_report = now;
            }
            deadline += interval_ns;
            // Late by more than a frame (a stall, already counted): start the schedule afresh
            // rather than publishing a burst to catch up.
            if (deadline < now - interval_ns)
                deadline = now;
            sleep_until(deadline);
        }
        report(now_ns());
        if (writer)
            writer->remove();
    } catch (const std::exception& error) {
        std::printf("error %s\n", error.what());
        return 3;
    }
    return 0;
}
