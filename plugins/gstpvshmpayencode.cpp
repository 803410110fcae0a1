// SPDX-License-Identifier: LGPL-2.1-or-later
#include "gstpvshmpayencode.h"

#include <stdexcept>

#include <pvshm/format.hpp>

GType gst_pv_shm_pay_encoding_get_type()
{
    static gsize type = 0;
    static const GEnumValue values[] = {
        {GST_PV_SHM_PAY_ENCODING_RAW, "The frame's bytes as its caps describe them", "raw"},
        {GST_PV_SHM_PAY_ENCODING_JPEG,
         "8-bit frames as JPEG images (quality): the receiver gets image/jpeg frames; others raw",
         "jpeg"},
        {GST_PV_SHM_PAY_ENCODING_LOSSLESS,
         "Raw frames' bytes through zstd: the receiver gets the same bytes; encoded images as "
         "they are",
         "lossless"},
        {0, nullptr, nullptr},
    };
    if (g_once_init_enter(&type))
        g_once_init_leave(&type, g_enum_register_static("GstPvShmPayEncoding", values));
    return type;
}

void GstPvShmPayEncoder::start(GstPvShmPayEncoding wanted, int quality)
{
    wanted_ = wanted;
    quality_ = quality;
    encoding_ = pvshm::stream::Encoding::Raw;
}

// The caps of a frame sent as JPEG: image/jpeg of the frame's size and rate.
static std::string gst_pv_shm_pay_jpeg_caps(const pvshm::FrameInfo& frame, GstCaps* caps)
{
    g_autoptr(GstCaps) jpeg =
        gst_caps_new_simple("image/jpeg", "width", G_TYPE_INT, int(frame.width), "height",
                            G_TYPE_INT, int(frame.height), nullptr);
    const GstStructure* from = gst_caps_get_structure(caps, 0);
    GstStructure* to = gst_caps_get_structure(jpeg, 0);
    for (const char* field : {"framerate", "pixel-aspect-ratio"}) {
        if (const GValue* value = gst_structure_get_value(from, field))
            gst_structure_set_value(to, field, value);
    }
    g_autofree gchar* text = gst_caps_to_string(jpeg);
    return text;
}

std::optional<std::string> GstPvShmPayEncoder::set_caps(const pvshm::FrameInfo& frame,
                                                        GstCaps* caps, const std::string& wire_caps)
{
    frame_ = frame;
    caps_ = wire_caps;
    encoding_ = pvshm::stream::Encoding::Raw;
    const bool encoded = pvshm::is_encoded(frame.format);
    if (wanted_ == GST_PV_SHM_PAY_ENCODING_JPEG) {
        if (frame.format == pvshm::PixelFormat::Jpeg)
            return std::nullopt;
        if (!pvshm::stream::JpegEncoder::takes(frame.format))
            return std::string("JPEG takes 8-bit frames only");
        if (!jpeg_)
            jpeg_ = std::make_unique<pvshm::stream::JpegEncoder>();
        encoding_ = pvshm::stream::Encoding::Jpeg;
        caps_ = gst_pv_shm_pay_jpeg_caps(frame, caps);
    } else if (wanted_ == GST_PV_SHM_PAY_ENCODING_LOSSLESS && !encoded) {
        if (!zstd_)
            zstd_ = std::make_unique<pvshm::stream::ZstdCompressor>();
        encoding_ = pvshm::stream::Encoding::Zstd;
    }
    return std::nullopt;
}

GstBuffer* GstPvShmPayEncoder::encode(GstBuffer* raw)
{
    if (encoding_ == pvshm::stream::Encoding::Raw)
        return gst_buffer_ref(raw);
    GstMapInfo in;
    if (!gst_buffer_map(raw, &in, GST_MAP_READ))
        throw std::runtime_error("cannot read the frame");
    const size_t bound = encoding_ == pvshm::stream::Encoding::Jpeg
                             ? pvshm::stream::JpegEncoder::bound(frame_)
                             : pvshm::stream::ZstdCompressor::bound(in.size);
    GstBuffer* out = gst_buffer_new_allocate(nullptr, bound, nullptr);
    GstMapInfo map;
    gst_buffer_map(out, &map, GST_MAP_WRITE);
    size_t size = 0;
    try {
        size = encoding_ == pvshm::stream::Encoding::Jpeg
                   ? jpeg_->encode(frame_, in.data, quality_, map.data)
                   : zstd_->compress(in.data, in.size, map.data);
    } catch (...) {
        gst_buffer_unmap(out, &map);
        gst_buffer_unmap(raw, &in);
        gst_buffer_unref(out);
        throw;
    }
    gst_buffer_unmap(out, &map);
    gst_buffer_unmap(raw, &in);
    gst_buffer_set_size(out, gssize(size));
    return out;
}
