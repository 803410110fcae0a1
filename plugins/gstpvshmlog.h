// SPDX-License-Identifier: LGPL-2.1-or-later
// Library messages in GStreamer's debug log: each one goes to the category and object of the
// element that called into the library on that thread, so GST_DEBUG=pvshm*:6 shows them in context.
#pragma once

#include <gst/gst.h>

// Installs the process-wide pvshm log handler; called once from plugin_init.
void gst_pv_shm_log_init();

// While alive, library messages of this thread are logged into `category` for `object`.
class GstPvShmLogScope
{
public:
    GstPvShmLogScope(GstDebugCategory* category, gpointer object);
    ~GstPvShmLogScope();
    GstPvShmLogScope(const GstPvShmLogScope&) = delete;
    GstPvShmLogScope& operator=(const GstPvShmLogScope&) = delete;

private:
    GstDebugCategory* previous_category_;
    GObject* previous_object_;
};
