// SPDX-License-Identifier: LGPL-2.1-or-later
// Several cameras and every frame, across two processes (a forked writer, this reader):
// wait_any() over 1, 4 and 16 ids, publish-to-wake-up latency next to a single Reader::wait();
// lossless replay frames/s with a reader that takes every frame and does nothing else, next to
// the same writer in latest mode. Prints JSON lines in bench/report.py's format.
//
//   pvshm-bench-workflows [--quick]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include <pvshm/clock.hpp>
#include <pvshm/pvshm.hpp>

#include "child_process.hpp"
#include "report_row.hpp"

namespace {

using Clock = std::chrono::steady_clock;

// A forked writer: `body` runs in the child once it owns its ids and this process said go, so
// that readers exist before its first frame.
class WriterProcess
{
public:
    WriterProcess(const std::function<void()>& take_ids, const std::function<void()>& body)
        : child_([&] {
              take_ids();
              std::printf("ready\n");
              std::fflush(stdout);
              char go[8];
              if (!std::fgets(go, sizeof go, stdin))
                  return 1;
              body();
              return 0;
          })
    {
        if (!child_.wait_for_line("ready", std::chrono::seconds(30)))
            throw std::runtime_error("the writer process did not start");
    }
    void go() { child_.write_line("go"); }
    // Waits for the writer to write its last frame.
    ~WriterProcess() { child_.wait_exit(std::chrono::seconds(60)); }

private:
    pvshm::test::ChildProcess child_;
};

double percentile(std::vector<double> values, double fraction)
{
    std::sort(values.begin(), values.end());
    return values.empty() ? 0 : values[static_cast<size_t>(fraction * double(values.size() - 1))];
}

std::vector<std::string> ids_for(const std::string& name, int count)
{
    std::vector<std::string> ids;
    for (int i = 0; i < count; ++i)
        ids.push_back("bench-" + name + "-" + std::to_string(getpid()) + "-" + std::to_string(i));
    return ids;
}

void clear(const std::vector<std::string>& ids)
{
    for (const auto& id : ids)
        pvshm::dev_clear_shared_memory(id);
}

// Microseconds from publish (the frame's monotonic capture time) to this process holding the
// frame: `frames` frames 2 ms apart (the reader is asleep for each) spread over the ids, waited
// for with wait_any(), or with Reader::wait() when there is one id and `single`.
std::vector<double> wake_up_latencies(int id_count, int frames, bool single)
{
    const auto ids = ids_for("wake", id_count);
    std::vector<std::unique_ptr<pvshm::Writer>> writers;
    WriterProcess writer(
        [&] {
            for (const auto& id : ids)
                writers.push_back(std::make_unique<pvshm::Writer>(id));
        },
        [&] {
            auto info = pvshm::packed_frame_info(pvshm::PixelFormat::GRAY8, 64, 48);
            std::vector<uint8_t> pixels(info.payload_size, 1);
            for (int n = 0; n < frames; ++n) {
                std::this_thread::sleep_for(std::chrono::milliseconds(2));
                info.timestamp_monotonic_ns = pvshm::clock_ns(CLOCK_MONOTONIC);
                writers[size_t(n) % writers.size()]->write(info, pixels.data());
            }
        });
    std::vector<std::unique_ptr<pvshm::Reader>> readers;
    std::vector<pvshm::Reader*> pointers;
    for (const auto& id : ids) {
        readers.push_back(std::make_unique<pvshm::Reader>(id));
        pointers.push_back(readers.back().get());
    }
    writer.go();
    std::vector<double> latencies;
    while (int(latencies.size()) < frames) {
        std::vector<pvshm::Reader*> ready;
        if (single)
            ready = readers[0]->wait(std::chrono::seconds(5)) ? pointers : ready;
        else
            ready = pvshm::wait_any(pointers, std::chrono::seconds(5));
        const int64_t now = pvshm::clock_ns(CLOCK_MONOTONIC);
        if (ready.empty())
            break; // the writer is gone
        for (auto* reader : ready)
            if (auto view = reader->view_latest())
                latencies.push_back(double(now - view->info().timestamp_monotonic_ns) / 1e3);
    }
    clear(ids);
    return latencies;
}

// Frames per second of a writer of `frames` 640x480 GRAY8 frames written as fast as it can,
// lossless with a reader of every frame that does nothing else, or in latest mode with a
// reader of the newest frame.
double replay_rate(bool lossless, int frames)
{
    const auto ids = ids_for(lossless ? "lossless" : "latest", 1);
    std::unique_ptr<pvshm::Writer> owner;
    WriterProcess writer(
        [&] {
            pvshm::WriterOptions options;
            options.lossless = lossless;
            options.initial_slot_size = 640 * 480;
            owner = std::make_unique<pvshm::Writer>(ids[0], options);
        },
        [&] {
            const auto info = pvshm::packed_frame_info(pvshm::PixelFormat::GRAY8, 640, 480);
            for (int n = 0; n < frames; ++n)
                if (auto loan = owner->loan(info.payload_size)) {
                    std::memset(loan->data(), n & 0xff, info.payload_size);
                    owner->publish(*loan, info);
                }
        });
    pvshm::Reader reader(ids[0]);
    reader.view_next(); // takes every frame from the first
    const auto start = Clock::now();
    writer.go();
    uint64_t last = 0;
    while (last < uint64_t(frames) && reader.wait(std::chrono::seconds(5))) {
        auto view = lossless ? reader.view_next() : reader.view_latest();
        if (view)
            last = view->info().sequence;
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    clear(ids);
    return double(frames) / seconds;
}

// Every figure, as JSON lines.
int run(bool quick)
{
    const int repeats = quick ? 1 : 5;
    const int frames = quick ? 50 : 400;
    const std::string section = "several ids, every frame (two processes)";
    std::vector<double> single_p50, single_p99;
    for (int r = 0; r < repeats; ++r) {
        const auto latencies = wake_up_latencies(1, frames, true);
        single_p50.push_back(percentile(latencies, 0.5));
        single_p99.push_back(percentile(latencies, 0.99));
    }
    for (int ids : {1, 4, 16}) {
        std::vector<double> p50, p99;
        for (int r = 0; r < repeats; ++r) {
            const auto latencies = wake_up_latencies(ids, frames, false);
            p50.push_back(percentile(latencies, 0.5));
            p99.push_back(percentile(latencies, 0.99));
        }
        const std::string name = "wait_any over " + std::to_string(ids) + " ids";
        report_row(section, name, "wake-up p50", "us", p50, "Reader::wait, one id", single_p50);
        report_row(section, name, "wake-up p99", "us", p99, "Reader::wait, one id", single_p99);
    }
    std::vector<double> lossless, latest;
    for (int r = 0; r < repeats; ++r) {
        lossless.push_back(replay_rate(true, quick ? 200 : 2000));
        latest.push_back(replay_rate(false, quick ? 200 : 2000));
    }
    report_row(section, "lossless replay, 640x480 GRAY8, a reader of every frame", "frames/s",
               "fps", lossless, "latest mode, a reader of the newest frame", latest);
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    try {
        return run(argc > 1 && std::strcmp(argv[1], "--quick") == 0);
    } catch (const std::exception& error) {
        std::fprintf(stderr, "pvshm-bench-workflows: %s\n", error.what());
        return 1;
    }
}
