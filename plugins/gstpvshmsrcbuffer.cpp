// SPDX-License-Identifier: LGPL-2.1-or-later
#include "gstpvshmsrcbuffer.h"

#include <algorithm>
#include <exception>
#include <utility>

#include "gstpvshmvideo.h"

GST_DEBUG_CATEGORY_EXTERN(gst_pv_shm_src_debug);
#define GST_CAT_DEFAULT gst_pv_shm_src_debug

PvShmSrcNextBuffer gst_pv_shm_src_buffer_prepare(const PvShmSrcOutput& output)
{
    PvShmSrcNextBuffer next;
    next.buffer = gst_buffer_new();
    if (output.raw_video) {
        GstVideoInfo video = output.video_info;
        next.video = gst_buffer_add_video_meta_full(
            next.buffer, GST_VIDEO_FRAME_FLAG_NONE, GST_VIDEO_INFO_FORMAT(&video),
            GST_VIDEO_INFO_WIDTH(&video), GST_VIDEO_INFO_HEIGHT(&video),
            GST_VIDEO_INFO_N_PLANES(&video), video.offset, video.stride);
    }
    next.metas = gst_pv_shm_meta_attach(next.buffer);
    return next;
}

namespace {

void delete_view(gpointer view)
{
    delete static_cast<pvshm::FrameView*>(view);
}

void delete_mat(gpointer mat)
{
    delete static_cast<cv::Mat*>(mat);
}

bool layout_is_default(const pvshm::FrameInfo& info, const GstVideoInfo& video)
{
    for (guint i = 0; i < GST_VIDEO_INFO_N_PLANES(&video); ++i)
        if (info.strides[i] != guint(GST_VIDEO_INFO_PLANE_STRIDE(&video, i)) ||
            info.plane_offsets[i] != GST_VIDEO_INFO_PLANE_OFFSET(&video, i))
            return false;
    return info.payload_size >= GST_VIDEO_INFO_SIZE(&video);
}

} // namespace

GstBuffer* gst_pv_shm_src_buffer_wrap(GstElement* element, pvshm::FrameView view,
                                      const PvShmSrcOutput& output, PvShmSrcNextBuffer& next,
                                      GstPvShmMetas& metas)
{
    const pvshm::FrameInfo& info = view.info();
    auto* held = new pvshm::FrameView(std::move(view));
    PvShmSrcNextBuffer made =
        next.buffer ? std::exchange(next, {}) : gst_pv_shm_src_buffer_prepare(output);
    g_autoptr(GstBuffer) buffer = made.buffer;
    gst_buffer_append_memory(
        buffer, gst_memory_new_wrapped(GST_MEMORY_FLAG_READONLY, const_cast<uint8_t*>(held->data()),
                                       held->size(), 0, held->size(), held, delete_view));
    metas = made.metas;
    if (!output.raw_video)
        return g_steal_pointer(&buffer);
    for (guint i = 0; i < made.video->n_planes; ++i) {
        made.video->offset[i] = info.plane_offsets[i];
        made.video->stride[i] = gint(info.strides[i]);
    }
    if (output.downstream_video_meta || layout_is_default(info, output.video_info))
        return g_steal_pointer(&buffer);
    metas = {};
    const GstVideoInfo* video = &output.video_info;
    g_autoptr(GstBuffer) copy =
        gst_buffer_new_allocate(nullptr, GST_VIDEO_INFO_SIZE(video), nullptr);
    if (!gst_pv_shm_video_copy(element, *video, buffer, copy))
        return nullptr;
    return g_steal_pointer(&copy);
}

std::unique_ptr<cv::Mat> gst_pv_shm_src_buffer_normalize(GstElement* element,
                                                         const pvshm::FrameView& view,
                                                         pvshm::ColorOrder unordered,
                                                         const PvShmSrcOutput& output)
{
    auto rgb = std::make_unique<cv::Mat>();
    try {
        pvshm::normalize_to_rgb(view.info(), view.data(), *rgb, unordered);
    } catch (const std::exception& error) {
        int width = int(view.info().width);
        int height = int(view.info().height);
        if ((width == 0 || height == 0) && output.raw_video) {
            width = GST_VIDEO_INFO_WIDTH(&output.video_info);
            height = GST_VIDEO_INFO_HEIGHT(&output.video_info);
        }
        if (width == 0 || height == 0) {
            GST_ELEMENT_WARNING(element, STREAM, DECODE,
                                ("Could not decode a frame of unknown size, skipped"),
                                ("%s", error.what()));
            return nullptr;
        }
        GST_ELEMENT_WARNING(element, STREAM, DECODE, ("Could not decode a frame, output black"),
                            ("%s", error.what()));
        *rgb = cv::Mat::zeros(height, width, CV_8UC3);
    }
    return rgb;
}

GstBuffer* gst_pv_shm_src_buffer_rgb(GstElement* element, std::unique_ptr<cv::Mat> rgb,
                                     const GstVideoInfo& video)
{
    const gsize size = rgb->total() * rgb->elemSize();
    if (GST_VIDEO_INFO_PLANE_STRIDE(&video, 0) == gint(rgb->step[0]) && rgb->isContinuous()) {
        cv::Mat* held = rgb.release();
        return gst_buffer_new_wrapped_full(GST_MEMORY_FLAG_READONLY, held->data, size, 0, size,
                                           held, delete_mat);
    }
    // GStreamer pads RGB rows to 4 bytes.
    g_autoptr(GstBuffer) buffer =
        gst_buffer_new_allocate(nullptr, GST_VIDEO_INFO_SIZE(&video), nullptr);
    GstMapInfo map;
    if (!gst_buffer_map(buffer, &map, GST_MAP_WRITE)) {
        GST_ELEMENT_ERROR(
            element, RESOURCE, FAILED, ("Could not map a buffer to copy a frame into"),
            ("%" G_GSIZE_FORMAT " bytes for a normalized frame", gst_buffer_get_size(buffer)));
        return nullptr;
    }
    const auto stride = size_t(GST_VIDEO_INFO_PLANE_STRIDE(&video, 0));
    for (int row = 0; row < rgb->rows; ++row)
        std::copy_n(rgb->ptr<uint8_t>(row), size_t(rgb->cols) * 3, map.data + row * stride);
    gst_buffer_unmap(buffer, &map);
    return g_steal_pointer(&buffer);
}
