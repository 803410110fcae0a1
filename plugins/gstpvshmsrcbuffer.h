// SPDX-License-Identifier: LGPL-2.1-or-later
// pvshmsrc's buffers: a frame wrapped in place (its slot pinned while the buffer lives), copied
// into GStreamer's layout for a downstream that ignores video metas, or normalized to RGB. Which
// caps they go out in is the element's (gstpvshmsrc.cpp).
#pragma once

#include <memory>

#include <gst/gst.h>
#include <gst/video/video.h>

#include <opencv2/core.hpp>

#include <pvshm/frame.hpp>
#include <pvshm/normalize.hpp>

#include "gstpvshmmeta.h"

// What the output caps say of every buffer; set when downstream accepts them.
struct PvShmSrcOutput
{
    GstVideoInfo video_info{};
    bool raw_video = false;
    bool downstream_video_meta = false;
    // The caps' frame interval; GST_CLOCK_TIME_NONE for a variable or unknown rate.
    GstClockTime frame_interval = GST_CLOCK_TIME_NONE;
};

// The buffer of the next frame read in place, made before the wait for it: the metas every such
// buffer carries are allocated while the caches are warm from the last frame, so that a reader
// just woken (its caches cold) only fills them in. Made for the output as it is, and let go when
// the output caps change.
struct PvShmSrcNextBuffer
{
    GstBuffer* buffer = nullptr;
    GstVideoMeta* video = nullptr; // raw video: in the output's format, the layout set per frame
    GstPvShmMetas metas;
};

// A buffer for the next frame, for `output`: its metas attached, no memory yet.
PvShmSrcNextBuffer gst_pv_shm_src_buffer_prepare(const PvShmSrcOutput& output);

// The frame in place: the buffer pins its slot until it is freed. Raw video carries its layout
// in a GstVideoMeta, or is copied into GStreamer's layout for a downstream that ignores metas.
// `next` (prepared, or empty) is used up. `metas` are the buffer's frame-fact metas, attached
// already (empty for a copy). nullptr, with an error of `element` posted, when the frame cannot
// be mapped for that copy.
GstBuffer* gst_pv_shm_src_buffer_wrap(GstElement* element, pvshm::FrameView view,
                                      const PvShmSrcOutput& output, PvShmSrcNextBuffer& next,
                                      GstPvShmMetas& metas);

// The frame as the library normalizes it, or black of the frame's (else `output`'s) size when
// it cannot be decoded, with a warning of `element`. nullptr when there is no size to make black.
std::unique_ptr<cv::Mat> gst_pv_shm_src_buffer_normalize(GstElement* element,
                                                         const pvshm::FrameView& view,
                                                         pvshm::ColorOrder unordered,
                                                         const PvShmSrcOutput& output);

// `rgb` (taken) as a buffer laid out as `video` says: the image itself when GStreamer's rows are
// its rows, else a copy. nullptr, with an error of `element` posted, when the copy cannot be
// mapped.
GstBuffer* gst_pv_shm_src_buffer_rgb(GstElement* element, std::unique_ptr<cv::Mat> rgb,
                                     const GstVideoInfo& video);
