// SPDX-License-Identifier: LGPL-2.1-or-later
// Publish-to-wake-up latency between two processes, and its statistics: a 1920x1080 BGR frame's
// producer stamps CLOCK_MONOTONIC into its first 8 bytes just before handing it over, the consumer
// computes now - stamp when it wakes. Shared by the latency benchmarks (latency.cpp, iceoryx.cpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "child_process.hpp"

namespace pvshm::bench {

constexpr int kWidth = 1920;
constexpr int kHeight = 1080;
constexpr int kWarm = 20; // frames received before the measured ones

int64_t monotonic_ns();
double monotonic_s();
void sleep_until(int64_t deadline_ns);

struct Percentiles
{
    bool ok = false;
    double p50 = 0, p99 = 0, max = 0;
    size_t count = 0;
};

Percentiles percentiles(std::vector<double> us);

// A child process's percentiles, as a "result ..." line on its standard output, and read back
// from it (not ok when there is no line or it does not parse).
void print_result(const Percentiles& p);
Percentiles parse_result(const std::optional<std::string>& line);

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

// How frames come: one every `period_ns`; `paint`: the producer fills the whole frame between
// them, as a camera's driver would.
struct Pattern
{
    int64_t period_ns = 10'000'000;
    bool paint = true;
};

// Waits for `child` at most `timeout`, then kills it.
void reap(pvshm::test::ChildProcess& child, std::chrono::milliseconds timeout);

// A bare futex wake-up between processes through shared memory (forked before any thread
// exists). The floor of every wake-up.
Percentiles futex_floor(int frames, const Pattern& pattern);

// pvshm::Writer loan + publish -> pvshm::Reader::wait + view_latest, `spin` as ReaderOptions'.
Percentiles pvshm_library(int frames, const Pattern& pattern, std::chrono::nanoseconds spin = {});

} // namespace pvshm::bench
