// SPDX-License-Identifier: LGPL-2.1-or-later
// Where pvshmsrc puts a frame on the pipeline's timeline: pure arithmetic, tested alone
// (tests/elements/pvshm_pts.cpp).
#pragma once

#include <cstdint>

#include <gst/gst.h>

struct GstPvShmPlacement
{
    GstClockTime pts;
    GstClockTime duration; // GST_CLOCK_TIME_NONE when nothing tells it
};

// The PTS and duration of a frame captured at `running` (its capture time in the pipeline's
// running time, negative when before the pipeline started), after a frame output at `previous`
// (GST_CLOCK_TIME_NONE for the first). `frame_duration` is the frame's own duration and
// `caps_interval` the caps' frame interval, each GST_CLOCK_TIME_NONE when unknown.
//
// The PTS is the capture time, so that the latency since capture is preserved, but at least half
// a frame interval after the previous frame: strictly increasing is not enough, as muxers count
// time in ticks (mp4mux: 1/3000 s at 30 frames/s) and two PTS within one tick become one
// timestamp in the file. Half an interval (not the gap since the previous frame, which can be
// hours for a dead writer's last frame) places frames captured before the pipeline started, or
// by a restarted writer whose times are older, and lets the frames that follow catch up with
// their capture time. The duration is the frame's own, else the caps', else the gap to the
// previous frame.
GstPvShmPlacement gst_pv_shm_place_frame(int64_t running, GstClockTime previous,
                                         GstClockTime frame_duration, GstClockTime caps_interval);
