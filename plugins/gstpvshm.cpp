// SPDX-License-Identifier: LGPL-2.1-or-later
// The pvshm plugin: pvshmsink and pvshmsrc, and pvshmpay and pvshmdepay for other hosts.
#include <gst/gst.h>

#include "gstpvshmdepay.h"
#include "gstpvshmmeta.h"
#include "gstpvshmpay.h"
#include "gstpvshmsink.h"
#include "gstpvshmsrc.h"

static gboolean plugin_init(GstPlugin* plugin)
{
    gst_pv_shm_meta_register();
    gboolean ok = GST_ELEMENT_REGISTER(pvshmsink, plugin);
    ok |= GST_ELEMENT_REGISTER(pvshmsrc, plugin);
    ok |= GST_ELEMENT_REGISTER(pvshmpay, plugin);
    ok |= GST_ELEMENT_REGISTER(pvshmdepay, plugin);
    return ok;
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, pvshm,
                  "Camera frames between processes through shared memory", plugin_init, VERSION,
                  GST_LICENSE, GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)
