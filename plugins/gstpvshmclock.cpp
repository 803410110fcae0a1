// SPDX-License-Identifier: LGPL-2.1-or-later
#include "gstpvshmclock.h"

#include <pvshm/clock.hpp>

int64_t gst_pv_shm_clock_to_monotonic_offset(GstClock* clock)
{
    if (GST_IS_SYSTEM_CLOCK(clock)) {
        GstClockType type = GST_CLOCK_TYPE_REALTIME;
        g_object_get(clock, "clock-type", &type, nullptr);
        if (type == GST_CLOCK_TYPE_MONOTONIC)
            return 0;
    }
    return pvshm::clock_ns(CLOCK_MONOTONIC) - int64_t(gst_clock_get_time(clock));
}
