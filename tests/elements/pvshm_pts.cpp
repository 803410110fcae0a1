// SPDX-License-Identifier: LGPL-2.1-or-later
// Where pvshmsrc puts a frame on the timeline (gst_pv_shm_place_frame), case by case.
#include <gst/check/gstcheck.h>

#include "gstpvshmpts.h"

namespace {

constexpr GstClockTime kNone = GST_CLOCK_TIME_NONE;
constexpr GstClockTime kMs = GST_MSECOND;

struct Case
{
    const char* what;
    int64_t running;
    GstClockTime previous;
    GstClockTime frame_duration;
    GstClockTime caps_interval;
    GstClockTime pts;
    GstClockTime duration;
};

// clang-format off
const Case kCases[] = {
    {"first frame: its capture time",                 5000 * int64_t(kMs), kNone,    kNone,   33 * kMs, 5000 * kMs, 33 * kMs},
    {"first frame captured before the start: 0",      -70 * int64_t(kMs),  kNone,    kNone,   kNone,    0,          kNone},
    {"first frame: its own duration before the caps'", 10 * int64_t(kMs),  kNone,    20 * kMs, 33 * kMs, 10 * kMs,  20 * kMs},
    {"on time: its capture time",                     1033 * int64_t(kMs), 1000 * kMs, kNone, 33 * kMs, 1033 * kMs, 33 * kMs},
    {"too soon: half the caps' interval later",       1001 * int64_t(kMs), 1000 * kMs, kNone, 40 * kMs, 1020 * kMs, 40 * kMs},
    {"older than the previous (a restarted writer)",  -9000 * int64_t(kMs), 1000 * kMs, kNone, 40 * kMs, 1020 * kMs, 40 * kMs},
    {"too soon, its own duration: half of it",        1000 * int64_t(kMs), 1000 * kMs, 10 * kMs, 40 * kMs, 1005 * kMs, 10 * kMs},
    {"no rate known: 1 ms later, the gap as duration", 1000 * int64_t(kMs), 1000 * kMs, kNone, kNone,   1001 * kMs, 1 * kMs},
    {"no rate known, late: the gap as duration",      1500 * int64_t(kMs), 1000 * kMs, kNone, kNone,    1500 * kMs, 500 * kMs},
    {"an interval of 1 ns still moves on",            5,                   10,         1,     kNone,     11,         1},
};
// clang-format on

} // namespace

// A muxer counts time in ticks: PTS within one tick become one timestamp in the file, which is
// why a frame that comes too soon goes half a frame interval after the previous one.
GST_START_TEST(test_frames_are_placed_at_their_capture_time_and_half_an_interval_apart)
{
    for (const Case& c : kCases) {
        const GstPvShmPlacement placed =
            gst_pv_shm_place_frame(c.running, c.previous, c.frame_duration, c.caps_interval);
        fail_unless(placed.pts == c.pts, "%s: pts %" GST_TIME_FORMAT ", expected %" GST_TIME_FORMAT,
                    c.what, GST_TIME_ARGS(placed.pts), GST_TIME_ARGS(c.pts));
        fail_unless(placed.duration == c.duration,
                    "%s: duration %" GST_TIME_FORMAT ", expected %" GST_TIME_FORMAT, c.what,
                    GST_TIME_ARGS(placed.duration), GST_TIME_ARGS(c.duration));
    }
}
GST_END_TEST;

static Suite* pvshm_pts_suite()
{
    Suite* s = suite_create("pvshm_pts");
    TCase* tc = tcase_create("general");
    suite_add_tcase(s, tc);
    tcase_add_test(tc, test_frames_are_placed_at_their_capture_time_and_half_an_interval_apart);
    return s;
}

GST_CHECK_MAIN(pvshm_pts)
