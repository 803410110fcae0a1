// SPDX-License-Identifier: LGPL-2.1-or-later
// `pvshm watch`: one line, refreshed in place, with the frame rate, drops and latency of an id.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>
#include <unistd.h>

#include <pvshm/reader.hpp>

#include "commands.hpp"
#include "segment_lookup.hpp"

namespace pvshm::cli {
namespace {

using Clock = std::chrono::steady_clock;

// How long one wait may block, so that Ctrl-C and the refresh interval are noticed in time.
constexpr std::chrono::milliseconds kWaitSlice{50};

std::atomic<bool> interrupted{false};

void on_signal(int)
{
    interrupted = true;
}

// Latency of the frames seen since the last refresh.
struct LatencyStats
{
    double sum_ms = 0;
    double max_ms = 0;
    uint64_t frames = 0;

    void add(double ms)
    {
        sum_ms += ms;
        max_ms = frames ? std::max(max_ms, ms) : ms;
        ++frames;
    }
};

std::string status_line(const std::string& id, const std::optional<SegmentStatus>& status,
                        double fps, uint64_t drops, const LatencyStats& latency)
{
    if (!status)
        return id + ": no segment";
    char line[256];
    const uint64_t sequence = status->latest ? status->latest->sequence : 0;
    int length = std::snprintf(line, sizeof line, "%s: %6.1f fps  frame #%llu  drops %llu",
                               id.c_str(), fps, static_cast<unsigned long long>(sequence),
                               static_cast<unsigned long long>(drops));
    if (latency.frames)
        length += std::snprintf(line + length, sizeof line - length, "  latency %.2f ms (max %.2f)",
                                latency.sum_ms / latency.frames, latency.max_ms);
    else
        length += std::snprintf(line + length, sizeof line - length, "  no new frame");
    std::snprintf(line + length, sizeof line - length, "  writer %s",
                  status->writer_alive ? "alive" : "gone");
    return line;
}

} // namespace

int watch(const std::string& id, const WatchOptions& options)
{
    Reader reader(id, options.reader);
    const SegmentStatus initial = require_segment(reader);

    struct sigaction action = {};
    action.sa_handler = on_signal;
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);

    // On a terminal the line is redrawn in place; into a pipe or file each refresh is a line.
    const bool terminal = isatty(STDOUT_FILENO);
    const auto start = Clock::now();
    const auto interval = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(options.interval));
    auto last_refresh = start;
    uint64_t last_written = initial.frames_written;
    const uint64_t initial_dropped = initial.frames_dropped;
    uint64_t frames_seen = 0;
    LatencyStats latency;

    const auto refresh = [&](Clock::time_point now) {
        std::optional<SegmentStatus> status = reader.status();
        const double seconds = std::chrono::duration<double>(now - last_refresh).count();
        const uint64_t written = status ? status->frames_written : last_written;
        // A re-created segment counts from 0 again.
        const double fps = written >= last_written && seconds > 0
                               ? static_cast<double>(written - last_written) / seconds
                               : 0.0;
        const uint64_t dropped = status ? status->frames_dropped : 0;
        const std::string line = status_line(
            id, status, fps, dropped >= initial_dropped ? dropped - initial_dropped : 0, latency);
        std::printf(terminal ? "\r%s\x1b[K" : "%s\n", line.c_str());
        std::fflush(stdout);
        last_written = written;
        last_refresh = now;
        latency = {};
    };

    for (;;) {
        const auto now = Clock::now();
        const bool done =
            interrupted || (options.count && frames_seen >= *options.count) ||
            (options.duration && now - start >= std::chrono::duration<double>(*options.duration));
        if (done || now - last_refresh >= interval)
            refresh(now);
        if (done)
            break;
        if (!reader.wait(kWaitSlice))
            continue;
        if (const auto view = reader.view_latest()) {
            latency.add(frame_age_ms(view->info()));
            ++frames_seen;
        }
    }
    if (terminal)
        std::printf("\n");
    return 0;
}

} // namespace pvshm::cli
