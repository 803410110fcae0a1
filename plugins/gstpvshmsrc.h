// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <gst/base/gstpushsrc.h>

G_BEGIN_DECLS

#define GST_TYPE_PV_SHM_SRC (gst_pv_shm_src_get_type())
G_DECLARE_FINAL_TYPE(GstPvShmSrc, gst_pv_shm_src, GST, PV_SHM_SRC, GstPushSrc)

GST_ELEMENT_REGISTER_DECLARE(pvshmsrc);

G_END_DECLS
