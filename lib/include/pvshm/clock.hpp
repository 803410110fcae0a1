// SPDX-License-Identifier: LGPL-2.1-or-later
// The clocks frames are stamped with, in nanoseconds.
#pragma once

#include <cstdint>
#include <ctime>

namespace pvshm {

// Now on `clock` (CLOCK_REALTIME for capture times shared between hosts, CLOCK_MONOTONIC for
// latencies on one host), in nanoseconds.
inline int64_t clock_ns(clockid_t clock)
{
    timespec now{};
    clock_gettime(clock, &now);
    return int64_t{now.tv_sec} * 1000000000 + now.tv_nsec;
}

} // namespace pvshm
