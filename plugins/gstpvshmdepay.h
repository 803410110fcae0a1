// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_PV_SHM_DEPAY (gst_pv_shm_depay_get_type())
G_DECLARE_FINAL_TYPE(GstPvShmDepay, gst_pv_shm_depay, GST, PV_SHM_DEPAY, GstElement)

GST_ELEMENT_REGISTER_DECLARE(pvshmdepay);

G_END_DECLS
