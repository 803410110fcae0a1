// SPDX-License-Identifier: LGPL-2.1-or-later
#include "gstpvshmpts.h"

#include <algorithm>

namespace {

// The frame interval assumed for placing a frame after the previous one when neither the frame
// nor the caps give its rate.
constexpr GstClockTime kUnknownFrameInterval = 2 * GST_MSECOND;

} // namespace

GstPvShmPlacement gst_pv_shm_place_frame(int64_t running, GstClockTime previous,
                                         GstClockTime frame_duration, GstClockTime caps_interval)
{
    const GstClockTime known_interval =
        GST_CLOCK_TIME_IS_VALID(frame_duration) ? frame_duration : caps_interval;
    GstPvShmPlacement placed{GstClockTime(std::max<int64_t>(running, 0)), known_interval};
    if (!GST_CLOCK_TIME_IS_VALID(previous))
        return placed;
    const GstClockTime interval =
        GST_CLOCK_TIME_IS_VALID(known_interval) ? known_interval : kUnknownFrameInterval;
    const GstClockTime earliest = previous + std::max<GstClockTime>(interval / 2, 1);
    placed.pts = running > int64_t(earliest) ? GstClockTime(running) : earliest;
    if (!GST_CLOCK_TIME_IS_VALID(placed.duration))
        placed.duration = placed.pts - previous;
    return placed;
}
