// SPDX-License-Identifier: LGPL-2.1-or-later
// A capture time that survives a lossy codec: CLOCK_MONOTONIC in microseconds, 48 bits, painted
// as a row of 48 blocks of kStampBlock x kStampBlock pixels across the top of an I420 frame
// (white for 1, black for 0, neutral chroma), bit 0 on the left. bench/rtsp_viewer.py reads it
// back from the decoded picture. The frame must be at least 48 blocks wide.
#pragma once

#include <cstdint>
#include <cstring>
#include <ctime>

#include <gst/gst.h>
#include <gst/video/video.h>

namespace pvshm::bench {

constexpr int kStampBits = 48;
constexpr int kStampBlock = 40;

inline int64_t monotonic_us()
{
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t{ts.tv_sec} * 1000000 + ts.tv_nsec / 1000;
}

// Paints `stamp_us` into a mapped I420 frame; false when the frame cannot hold it.
inline bool paint_stamp(GstVideoFrame& frame, int64_t stamp_us)
{
    if (GST_VIDEO_FRAME_FORMAT(&frame) != GST_VIDEO_FORMAT_I420 ||
        GST_VIDEO_FRAME_WIDTH(&frame) < kStampBits * kStampBlock ||
        GST_VIDEO_FRAME_HEIGHT(&frame) < kStampBlock)
        return false;
    for (int plane = 0; plane < 3; ++plane) {
        const int scale = plane == 0 ? 1 : 2;
        auto* data = static_cast<uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(&frame, plane));
        const int stride = GST_VIDEO_FRAME_PLANE_STRIDE(&frame, plane);
        const int block = kStampBlock / scale;
        for (int bit = 0; bit < kStampBits; ++bit) {
            const bool one = (stamp_us >> bit) & 1;
            const uint8_t value = plane > 0 ? 128 : one ? 235 : 16;
            for (int row = 0; row < block; ++row)
                std::memset(data + row * stride + bit * block, value, size_t(block));
        }
    }
    return true;
}

// A buffer probe that stamps each frame passing the pad with the time it passes.
inline GstPadProbeReturn stamp_probe(GstPad* pad, GstPadProbeInfo* info, gpointer)
{
    GstCaps* caps = gst_pad_get_current_caps(pad);
    GstVideoInfo video;
    const bool known = caps && gst_video_info_from_caps(&video, caps);
    if (caps)
        gst_caps_unref(caps);
    if (!known)
        return GST_PAD_PROBE_OK;
    GstBuffer* buffer = gst_buffer_make_writable(GST_PAD_PROBE_INFO_BUFFER(info));
    GST_PAD_PROBE_INFO_DATA(info) = buffer;
    GstVideoFrame frame;
    if (gst_video_frame_map(&frame, &video, buffer, GST_MAP_WRITE)) {
        paint_stamp(frame, monotonic_us());
        gst_video_frame_unmap(&frame);
    }
    return GST_PAD_PROBE_OK;
}

// Stamps what leaves the element named "stamp" in `bin`, when there is one.
inline void stamp_frames_of(GstElement* bin)
{
    GstElement* stamp = gst_bin_get_by_name(GST_BIN(bin), "stamp");
    if (!stamp)
        return;
    GstPad* pad = gst_element_get_static_pad(stamp, "src");
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, stamp_probe, nullptr, nullptr);
    gst_object_unref(pad);
    gst_object_unref(stamp);
}

} // namespace pvshm::bench
