// SPDX-License-Identifier: LGPL-2.1-or-later
// The facts of a frame on a GStreamer buffer, beyond its timestamps: the capture time as a
// `timestamp/x-unix` GstReferenceTimestampMeta, and the camera id, sequence number and user
// metadata in the custom meta "GstPvShmFrameMeta", whose GstStructure holds
//
//   camera-id   G_TYPE_STRING   (absent when the frame names no camera)
//   sequence    G_TYPE_UINT64   the frame's sequence number in its segment
//   bit-depth   G_TYPE_UINT     significant bits of GRAY16_LE samples, 1..16 (absent: all 16)
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

// The same in two steps, for a buffer made before its frame is there: the metas attached, empty
// (time 0, no field), then filled in as gst_pv_shm_meta_add() would.
struct GstPvShmMetas
{
    GstReferenceTimestampMeta* unix_time = nullptr;
    GstStructure* facts = nullptr; // of the GstPvShmFrameMeta
};
GstPvShmMetas gst_pv_shm_meta_attach(GstBuffer* buffer);
std::string gst_pv_shm_meta_fill(const GstPvShmMetas& metas, const pvshm::FrameInfo& info);

// The capture time (CLOCK_REALTIME ns) of the buffer's `timestamp/x-unix` reference timestamp.
std::optional<int64_t> gst_pv_shm_meta_unix_time(GstBuffer* buffer);

// What a GstPvShmFrameMeta tells a writer.
struct GstPvShmMetaFacts
{
    std::optional<uint64_t> sequence;
    std::string camera_id;  // "" if none
    uint32_t bit_depth = 0; // 0 if none
    // The user fields, converted to metadata values (other integer and floating-point types
    // widened).
    pvshm::UserMetadata metadata;
    // The fields left out, of another type (or a bit depth outside 1..16), for a warning.
    std::string skipped;
};

// The facts of the GstPvShmFrameMeta on `buffer`, or nullopt when it has none.
std::optional<GstPvShmMetaFacts> gst_pv_shm_meta_read(GstBuffer* buffer);
