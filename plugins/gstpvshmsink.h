// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <gst/base/gstbasesink.h>

G_BEGIN_DECLS

#define GST_TYPE_PV_SHM_SINK (gst_pv_shm_sink_get_type())
G_DECLARE_FINAL_TYPE(GstPvShmSink, gst_pv_shm_sink, GST, PV_SHM_SINK, GstBaseSink)

GST_ELEMENT_REGISTER_DECLARE(pvshmsink);

G_END_DECLS
