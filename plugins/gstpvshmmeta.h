// SPDX-License-Identifier: LGPL-2.1-or-later
// The facts of a frame on a GStreamer buffer, beyond its timestamps: the capture time as a
// `timestamp/x-unix` GstReferenceTimestampMeta, and the camera id, sequence number and user
// metadata in the custom meta "GstPvShmFrameMeta", whose GstStructure holds
//
//   camera-id   G_TYPE_STRING   (absent when the frame names no camera)
//   sequence    G_TYPE_UINT64   the frame's sequence number in its segment
//   <key>       G_TYPE_STRING, G_TYPE_INT64 or G_TYPE_DOUBLE, one field per user-metadata key
//
// A user key named like one of the meta's own fields is left out of the structure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <gst/gst.h>

#include <pvshm/frame.hpp>

inline constexpr const char* kGstPvShmFrameMetaName = "GstPvShmFrameMeta";

// Registers GstPvShmFrameMeta; called once from plugin_init, before any element exists.
void gst_pv_shm_meta_register();

// Adds the frame's realtime capture time and its GstPvShmFrameMeta to `buffer`. Returns the
// user-metadata keys left out because they are named like the meta's own fields ("" if none).
std::string gst_pv_shm_meta_add(GstBuffer* buffer, const pvshm::FrameInfo& info);

// The capture time (CLOCK_REALTIME ns) of the buffer's `timestamp/x-unix` reference timestamp.
std::optional<int64_t> gst_pv_shm_meta_unix_time(GstBuffer* buffer);

// The sequence number a GstPvShmFrameMeta on `buffer` names, if any.
std::optional<uint64_t> gst_pv_shm_meta_sequence(GstBuffer* buffer);

// What a GstPvShmFrameMeta on `buffer` tells a writer: its camera id ("" if none) and its user
// fields, converted to metadata values (other integer and floating-point types widened). Fields
// of any other type are left out and named in `skipped`. False when the buffer has no such meta.
bool gst_pv_shm_meta_read(GstBuffer* buffer, std::string& camera_id, pvshm::UserMetadata& metadata,
                          std::string& skipped);
