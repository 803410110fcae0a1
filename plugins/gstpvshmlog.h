// SPDX-License-Identifier: LGPL-2.1-or-later
// Library messages in GStreamer's debug log: the messages of the library calls an element makes
// go to that element's category and object, so GST_DEBUG=pvshm*:6 shows them in context. Calls
// the application makes itself keep the application's own pvshm log handler (or stderr).
#pragma once

#include <gst/gst.h>

#include <pvshm/log.hpp>

// While alive, the library messages of this thread are logged into `category` for `object`.
class GstPvShmLogScope
{
public:
    GstPvShmLogScope(GstDebugCategory* category, gpointer object);

private:
    pvshm::ThreadLogHandler handler_;
};
