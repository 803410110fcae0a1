// SPDX-License-Identifier: LGPL-2.1-or-later
#include "gstpvshmvideo.h"

bool gst_pv_shm_video_has_caps_layout(GstBuffer* buffer, const GstVideoInfo& video)
{
    const GstVideoMeta* meta = gst_buffer_get_video_meta(buffer);
    if (!meta)
        return true;
    for (guint i = 0; i < GST_VIDEO_INFO_N_PLANES(&video); ++i)
        if (meta->offset[i] != GST_VIDEO_INFO_PLANE_OFFSET(&video, i) ||
            meta->stride[i] != GST_VIDEO_INFO_PLANE_STRIDE(&video, i))
            return false;
    return true;
}

bool gst_pv_shm_video_copy(GstElement* element, const GstVideoInfo& video, GstBuffer* source,
                           GstBuffer* target)
{
    GstVideoFrame in;
    if (!gst_video_frame_map(&in, &video, source, GST_MAP_READ)) {
        GST_ELEMENT_ERROR(element, STREAM, FORMAT, ("Buffer does not match its caps"),
                          ("%" G_GSIZE_FORMAT " bytes", gst_buffer_get_size(source)));
        return false;
    }
    GstVideoFrame out;
    if (!gst_video_frame_map(&out, &video, target, GST_MAP_WRITE)) {
        gst_video_frame_unmap(&in);
        GST_ELEMENT_ERROR(
            element, RESOURCE, FAILED, ("Could not map a buffer to copy a frame into"),
            ("%" G_GSIZE_FORMAT " bytes for a %s frame of %" G_GSIZE_FORMAT,
             gst_buffer_get_size(target), gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(&video)),
             gsize(GST_VIDEO_INFO_SIZE(&video))));
        return false;
    }
    gst_video_frame_copy(&out, &in);
    gst_video_frame_unmap(&out);
    gst_video_frame_unmap(&in);
    return true;
}
