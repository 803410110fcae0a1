// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_PV_SHM_PAY (gst_pv_shm_pay_get_type())
G_DECLARE_FINAL_TYPE(GstPvShmPay, gst_pv_shm_pay, GST, PV_SHM_PAY, GstElement)

GST_ELEMENT_REGISTER_DECLARE(pvshmpay);

G_END_DECLS
