// SPDX-License-Identifier: LGPL-2.1-or-later
#include "gstpvshmclock.h"

#include <pvshm/clock.hpp>

namespace {

// A system clock's type, remembered on the clock itself (reading a property costs more than the
// rest of a frame's time stamp) and forgotten when it changes.
GQuark clock_type_quark()
{
    static const GQuark quark = g_quark_from_static_string("gst-pv-shm-clock-type");
    return quark;
}

void forget_clock_type(GObject* clock, GParamSpec*, gpointer)
{
    g_object_set_qdata(clock, clock_type_quark(), nullptr);
}

GstClockType system_clock_type(GstClock* clock)
{
    GObject* object = G_OBJECT(clock);
    if (gpointer known = g_object_get_qdata(object, clock_type_quark()))
        return GstClockType(GPOINTER_TO_INT(known) - 1);
    GstClockType type = GST_CLOCK_TYPE_REALTIME;
    g_object_get(clock, "clock-type", &type, nullptr);
    if (!g_signal_handler_find(object, G_SIGNAL_MATCH_FUNC, 0, 0, nullptr,
                               reinterpret_cast<gpointer>(forget_clock_type), nullptr))
        g_signal_connect(object, "notify::clock-type", G_CALLBACK(forget_clock_type), nullptr);
    g_object_set_qdata(object, clock_type_quark(), GINT_TO_POINTER(int(type) + 1));
    return type;
}

} // namespace

int64_t gst_pv_shm_clock_to_monotonic_offset(GstClock* clock)
{
    if (GST_IS_SYSTEM_CLOCK(clock) && system_clock_type(clock) == GST_CLOCK_TYPE_MONOTONIC)
        return 0;
    return pvshm::clock_ns(CLOCK_MONOTONIC) - int64_t(gst_clock_get_time(clock));
}
