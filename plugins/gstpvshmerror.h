// SPDX-License-Identifier: LGPL-2.1-or-later
// Library exceptions never cross a GLib callback: the elements catch them and post them here.
#pragma once

#include <string>

#include <gst/gst.h>

enum class GstPvShmAccess
{
    Read,
    Write,
};

// Called from a catch block: posts the exception being handled as an element error of `element`,
// `what` for the user and the library's explanation for both.
void gst_pv_shm_post_exception(GstElement* element, GstPvShmAccess access, const std::string& what);
