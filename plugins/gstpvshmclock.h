// SPDX-License-Identifier: LGPL-2.1-or-later
// Frames carry capture times in CLOCK_MONOTONIC, which every process shares; pipelines run on
// their own clocks. This converts between the two.
#pragma once

#include <cstdint>

#include <gst/gst.h>

// CLOCK_MONOTONIC minus `clock`'s time, now: 0 for GStreamer's default system clock, which reads
// CLOCK_MONOTONIC itself.
int64_t gst_pv_shm_clock_to_monotonic_offset(GstClock* clock);
