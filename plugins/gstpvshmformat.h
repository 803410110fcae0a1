// SPDX-License-Identifier: LGPL-2.1-or-later
// The one table between GStreamer caps and pvshm frames, used by pvshmsink and pvshmsrc alike.
#pragma once

#include <optional>
#include <string>

#include <gst/gst.h>
#include <gst/video/video.h>

#include <pvshm/frame.hpp>
#include <pvshm/normalize.hpp>

// Every caps pvshmsink accepts (and pvshmsrc may output), built from the table.
GstCaps* gst_pv_shm_format_all_caps();

// Fills `video` for video/x-raw caps in one of the table's formats; false for anything else
// (gst_video_info_from_caps alone also accepts Bayer and encoded images, as format ENCODED).
bool gst_pv_shm_format_raw_video_info(const GstCaps* caps, GstVideoInfo* video);

// The description shared by every frame of `caps` (fixed caps): format, size, and for video/x-raw
// and video/x-bayer the plane layout GStreamer uses without a GstVideoMeta. For encoded images
// payload_size is left 0 (it is each buffer's size). nullopt, with `error` set, for caps outside
// the table.
std::optional<pvshm::FrameInfo> gst_pv_shm_format_frame_info(const GstCaps* caps,
                                                             std::string& error);

// Caps describing a frame read from a segment: the caps pvshmsink stored with it when they
// agree with the frame, otherwise caps derived from its format (encoded bytes are sniffed; a
// raw 3-channel array, PixelFormat::Rgb3Unordered, as RGB or BGR by `unordered`). nullptr when
// the format has no caps.
GstCaps* gst_pv_shm_format_caps_for_frame(const pvshm::FrameInfo& info, const uint8_t* payload,
                                          pvshm::ColorOrder unordered);

// What gst_pv_shm_format_caps_for_frame() depends on: frames with equal keys have equal caps, so
// a reader builds caps only when the key changes.
struct GstPvShmCapsKey
{
    pvshm::PixelFormat format = pvshm::PixelFormat::Unknown;
    uint32_t width = 0;
    uint32_t height = 0;
    pvshm::ColorMatrix matrix = pvshm::ColorMatrix::Unspecified;
    pvshm::ColorRange range = pvshm::ColorRange::Unspecified;
    std::string caps;
};
GstPvShmCapsKey gst_pv_shm_format_caps_key(const pvshm::FrameInfo& info, const uint8_t* payload);
// Whether `key` is the frame's key; compared in place, nothing is allocated (once per frame).
bool gst_pv_shm_format_caps_key_matches(const GstPvShmCapsKey& key, const pvshm::FrameInfo& info,
                                        const uint8_t* payload);
