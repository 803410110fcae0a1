// SPDX-License-Identifier: LGPL-2.1-or-later
// The URI both elements take (GstURIHandler): pvshm://ID, the id as the host, and any property
// that can be set as a query parameter, pvshm://cam0?mode=all&timeout=5000000000. So playbin,
// uridecodebin and gst-play-1.0 read an id, and a sink can be named by URI.
#pragma once

#include <gst/gst.h>

// The shared-mem-id property's description, "Id of the segment to `verb` (required): " and the
// id rule (pvshm::kIdRule); it lives as long as the process, as a param spec's strings must.
const gchar* gst_pv_shm_id_blurb(const gchar* verb);

// The interfaces of pvshmsrc (GST_URI_SRC) and pvshmsink (GST_URI_SINK).
void gst_pv_shm_uri_src_handler_init(gpointer iface, gpointer data);
void gst_pv_shm_uri_sink_handler_init(gpointer iface, gpointer data);
