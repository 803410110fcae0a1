// SPDX-License-Identifier: LGPL-2.1-or-later
// The physical floor: single-thread memcpy of one 1920x1080 and one 3840x2160 BGR frame, with hot
// buffers (the same source and target copied again and again, cache-resident when they fit) and
// cold ones (a 128 MiB sweep through other memory between copies evicts both from every cache).
// Prints JSON lines in bench/report.py's format: time per copy (µs) and bandwidth (GB/s, frame
// bytes copied per second, each byte counted once).
//
//   pvshm-bench-floor [--quick]
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "report_row.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Mode
{
    int repeats;
    int batch; // copies per hot measurement
};

// Touches every page so that no measurement pays for page faults.
std::vector<uint8_t> filled(size_t size, uint8_t seed)
{
    std::vector<uint8_t> bytes(size);
    for (size_t i = 0; i < size; ++i)
        bytes[i] = static_cast<uint8_t>(i * 7 + seed);
    return bytes;
}

double elapsed_us(Clock::time_point start)
{
    return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
}

// Keeps the compiler from treating the copies as dead stores.
volatile uint8_t g_sink;

std::vector<double> hot_copies(const Mode& mode, size_t size)
{
    const auto source = filled(size, 1);
    auto target = filled(size, 2);
    for (int i = 0; i < 3; ++i)
        std::memcpy(target.data(), source.data(), size);
    std::vector<double> us;
    for (int r = 0; r < mode.repeats; ++r) {
        const auto start = Clock::now();
        for (int i = 0; i < mode.batch; ++i) {
            std::memcpy(target.data(), source.data(), size);
            g_sink = target[static_cast<size_t>(i) % size];
        }
        us.push_back(elapsed_us(start) / mode.batch);
    }
    return us;
}

std::vector<double> cold_copies(const Mode& mode, size_t size, std::vector<uint8_t>& sweep)
{
    const auto source = filled(size, 3);
    auto target = filled(size, 4);
    std::vector<double> us;
    for (int r = 0; r < mode.repeats * 2; ++r) {
        // Writing the sweep buffer (4x the 32 MiB L3 of the machine this was written on) pushes
        // the source and target out of every cache level.
        std::memset(sweep.data(), r & 0xff, sweep.size());
        g_sink = sweep[static_cast<size_t>(r) * 4099 % sweep.size()];
        const auto start = Clock::now();
        std::memcpy(target.data(), source.data(), size);
        us.push_back(elapsed_us(start));
        g_sink = target[static_cast<size_t>(r) % size];
    }
    return us;
}

std::vector<double> bandwidth_gbs(const std::vector<double>& us, size_t size)
{
    std::vector<double> gbs;
    for (double t : us)
        gbs.push_back(static_cast<double>(size) / (t * 1e3));
    return gbs;
}

} // namespace

int main(int argc, char** argv)
{
    bool quick = false;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--quick") == 0) {
            quick = true;
        } else {
            std::fprintf(stderr, "usage: %s [--quick]\n", argv[0]);
            return 2;
        }
    }
    const Mode mode = quick ? Mode{3, 3} : Mode{25, 20};
    const std::string section = "floor: single-thread memcpy";
    std::vector<uint8_t> sweep = filled(size_t{128} << 20, 5);

    struct Frame
    {
        const char* name;
        size_t size;
    };
    const Frame frames[] = {{"1080p BGR", size_t{1920} * 1080 * 3},
                            {"4K BGR", size_t{3840} * 2160 * 3}};
    for (const Frame& frame : frames) {
        const auto hot = hot_copies(mode, frame.size);
        report_row(section, std::string("memcpy ") + frame.name + ", hot", "time", "us", hot);
        report_row(section, std::string("memcpy ") + frame.name + ", hot", "bandwidth", "GB/s",
                   bandwidth_gbs(hot, frame.size));
        const auto cold = cold_copies(mode, frame.size, sweep);
        report_row(section, std::string("memcpy ") + frame.name + ", cold", "time", "us", cold);
        report_row(section, std::string("memcpy ") + frame.name + ", cold", "bandwidth", "GB/s",
                   bandwidth_gbs(cold, frame.size));
    }
    return 0;
}
