// SPDX-License-Identifier: LGPL-2.1-or-later
// Raw video frames moved between layouts, for the elements that repack a frame whose planes do
// not lie where its caps say (pvshmsink, pvshmpay) or where its downstream expects (pvshmsrc).
#pragma once

#include <gst/gst.h>
#include <gst/video/video.h>

// True when the planes of `buffer` lie where `video` (its caps) says: it has no GstVideoMeta,
// or one with the same offsets and strides.
bool gst_pv_shm_video_has_caps_layout(GstBuffer* buffer, const GstVideoInfo& video);

// Copies the frame in `source` into `target`, each laid out as its GstVideoMeta says, else as
// `video`. False, with an element error of `element` posted, when either cannot be mapped so.
bool gst_pv_shm_video_copy(GstElement* element, const GstVideoInfo& video, GstBuffer* source,
                           GstBuffer* target);
