// SPDX-License-Identifier: LGPL-2.1-or-later
// The clocks the benchmarks measure with: CLOCK_MONOTONIC and this process's CPU time (user and
// system, all threads), in seconds.
#pragma once

#include <ctime>
#include <sys/resource.h>

inline double monotonic_s()
{
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

inline double cpu_s()
{
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    auto seconds = [](const timeval& tv) { return double(tv.tv_sec) + double(tv.tv_usec) / 1e6; };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}
