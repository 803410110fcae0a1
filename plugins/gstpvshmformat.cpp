// SPDX-License-Identifier: LGPL-2.1-or-later
#include "gstpvshmformat.h"

#include <cstring>

#include <pvshm/format.hpp>

namespace {

using pvshm::ColorMatrix;
using pvshm::ColorRange;
using pvshm::PixelFormat;

struct RawFormat
{
    GstVideoFormat video;
    PixelFormat pixel;
};

constexpr RawFormat kRawFormats[] = {
    {GST_VIDEO_FORMAT_RGB, PixelFormat::RGB},
    {GST_VIDEO_FORMAT_BGR, PixelFormat::BGR},
    {GST_VIDEO_FORMAT_RGBA, PixelFormat::RGBA},
    {GST_VIDEO_FORMAT_BGRA, PixelFormat::BGRA},
    {GST_VIDEO_FORMAT_RGBx, PixelFormat::RGBx},
    {GST_VIDEO_FORMAT_BGRx, PixelFormat::BGRx},
    {GST_VIDEO_FORMAT_GRAY8, PixelFormat::GRAY8},
    {GST_VIDEO_FORMAT_GRAY16_LE, PixelFormat::GRAY16_LE},
    {GST_VIDEO_FORMAT_NV12, PixelFormat::NV12},
    {GST_VIDEO_FORMAT_I420, PixelFormat::I420},
    {GST_VIDEO_FORMAT_YUY2, PixelFormat::YUY2},
    {GST_VIDEO_FORMAT_UYVY, PixelFormat::UYVY},
};

struct NamedFormat
{
    const char* name;
    PixelFormat pixel;
};

// 8-bit Bayer only: the names GStreamer's bayer2rgb and rgb2bayer use.
constexpr NamedFormat kBayerFormats[] = {
    {"rggb", PixelFormat::BayerRGGB},
    {"bggr", PixelFormat::BayerBGGR},
    {"grbg", PixelFormat::BayerGRBG},
    {"gbrg", PixelFormat::BayerGBRG},
};

constexpr NamedFormat kEncodedFormats[] = {
    {"image/jpeg", PixelFormat::Jpeg},
    {"image/png", PixelFormat::Png},
};

constexpr const char* kRawMedia = "video/x-raw";
constexpr const char* kBayerMedia = "video/x-bayer";

std::optional<PixelFormat> pixel_of_video(GstVideoFormat video)
{
    for (const auto& entry : kRawFormats)
        if (entry.video == video)
            return entry.pixel;
    return std::nullopt;
}

GstVideoFormat video_of_pixel(PixelFormat pixel, pvshm::ColorOrder unordered)
{
    // A raw array's channel order is unknown to the segment: the reader says which it is.
    if (pixel == PixelFormat::Rgb3Unordered)
        pixel = unordered == pvshm::ColorOrder::BGR ? PixelFormat::BGR : PixelFormat::RGB;
    for (const auto& entry : kRawFormats)
        if (entry.pixel == pixel)
            return entry.video;
    return GST_VIDEO_FORMAT_UNKNOWN;
}

template <size_t N>
std::optional<PixelFormat> pixel_of_name(const NamedFormat (&table)[N], const char* name)
{
    for (const auto& entry : table)
        if (name && std::strcmp(entry.name, name) == 0)
            return entry.pixel;
    return std::nullopt;
}

template <size_t N> const char* name_of_pixel(const NamedFormat (&table)[N], PixelFormat pixel)
{
    for (const auto& entry : table)
        if (entry.pixel == pixel)
            return entry.name;
    return nullptr;
}

ColorMatrix matrix_of(GstVideoColorMatrix matrix)
{
    switch (matrix) {
    case GST_VIDEO_COLOR_MATRIX_BT601:
        return ColorMatrix::BT601;
    case GST_VIDEO_COLOR_MATRIX_BT709:
        return ColorMatrix::BT709;
    case GST_VIDEO_COLOR_MATRIX_BT2020:
        return ColorMatrix::BT2020;
    default:
        return ColorMatrix::Unspecified;
    }
}

GstVideoColorMatrix video_matrix_of(ColorMatrix matrix)
{
    switch (matrix) {
    case ColorMatrix::BT601:
        return GST_VIDEO_COLOR_MATRIX_BT601;
    case ColorMatrix::BT709:
        return GST_VIDEO_COLOR_MATRIX_BT709;
    case ColorMatrix::BT2020:
        return GST_VIDEO_COLOR_MATRIX_BT2020;
    case ColorMatrix::Unspecified:
        break;
    }
    return GST_VIDEO_COLOR_MATRIX_UNKNOWN;
}

ColorRange range_of(GstVideoColorRange range)
{
    switch (range) {
    case GST_VIDEO_COLOR_RANGE_0_255:
        return ColorRange::Full;
    case GST_VIDEO_COLOR_RANGE_16_235:
        return ColorRange::Limited;
    default:
        return ColorRange::Unspecified;
    }
}

GstVideoColorRange video_range_of(ColorRange range)
{
    switch (range) {
    case ColorRange::Full:
        return GST_VIDEO_COLOR_RANGE_0_255;
    case ColorRange::Limited:
        return GST_VIDEO_COLOR_RANGE_16_235;
    case ColorRange::Unspecified:
        break;
    }
    return GST_VIDEO_COLOR_RANGE_UNKNOWN;
}

// Frames over the library's size limit are refused with their size, before GStreamer (whose own
// limit is 2 GiB) fails to lay them out. Every format of the table takes a byte per pixel at
// least. Returns the explanation, or "" when the size is within the limit.
std::string size_over_limit(const GstStructure* s, uint64_t bytes)
{
    int width = 0;
    int height = 0;
    const char* format = gst_structure_get_string(s, "format");
    gst_structure_get_int(s, "width", &width);
    gst_structure_get_int(s, "height", &height);
    const bool at_least = bytes == 0;
    if (at_least && width > 0 && height > 0)
        bytes = uint64_t(width) * uint64_t(height);
    if (bytes <= pvshm::kMaxPayloadSize)
        return "";
    return std::to_string(width) + "x" + std::to_string(height) + " " + (format ? format : "") +
           " frames take " + (at_least ? "at least " : "") + std::to_string(bytes) +
           " bytes, more than the limit of " + std::to_string(pvshm::kMaxPayloadSize) +
           " bytes per frame";
}

std::optional<pvshm::FrameInfo> raw_frame_info(const GstCaps* caps, std::string& error)
{
    const GstStructure* s = gst_caps_get_structure(caps, 0);
    if (error = size_over_limit(s, 0); !error.empty())
        return std::nullopt;
    GstVideoInfo video;
    if (!gst_video_info_from_caps(&video, caps)) {
        error = "incomplete video/x-raw caps";
        return std::nullopt;
    }
    if (error = size_over_limit(s, GST_VIDEO_INFO_SIZE(&video)); !error.empty())
        return std::nullopt;
    const auto pixel = pixel_of_video(GST_VIDEO_INFO_FORMAT(&video));
    if (!pixel) {
        error = std::string("unsupported video format ") +
                gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(&video));
        return std::nullopt;
    }
    pvshm::FrameInfo info;
    info.width = GST_VIDEO_INFO_WIDTH(&video);
    info.height = GST_VIDEO_INFO_HEIGHT(&video);
    info.format = *pixel;
    info.plane_count = GST_VIDEO_INFO_N_PLANES(&video);
    for (uint32_t i = 0; i < info.plane_count; ++i) {
        info.strides[i] = GST_VIDEO_INFO_PLANE_STRIDE(&video, i);
        info.plane_offsets[i] = GST_VIDEO_INFO_PLANE_OFFSET(&video, i);
    }
    info.payload_size = GST_VIDEO_INFO_SIZE(&video);
    if (GST_VIDEO_INFO_IS_YUV(&video)) {
        info.matrix = matrix_of(video.colorimetry.matrix);
        info.range = range_of(video.colorimetry.range);
    }
    return info;
}

std::optional<pvshm::FrameInfo> bayer_frame_info(const GstStructure* s, std::string& error)
{
    const auto pixel = pixel_of_name(kBayerFormats, gst_structure_get_string(s, "format"));
    int width = 0;
    int height = 0;
    if (!pixel || !gst_structure_get_int(s, "width", &width) ||
        !gst_structure_get_int(s, "height", &height) || width <= 0 || height <= 0) {
        error =
            "video/x-bayer caps need an 8-bit format (rggb, bggr, grbg, gbrg), width and height";
        return std::nullopt;
    }
    pvshm::FrameInfo info;
    info.width = width;
    info.height = height;
    info.format = *pixel;
    info.plane_count = 1;
    // Rows padded to 4 bytes, as GStreamer's bayer elements lay them out.
    info.strides[0] = GST_ROUND_UP_4(width);
    info.payload_size = uint64_t{info.strides[0]} * info.height;
    if (error = size_over_limit(s, info.payload_size); !error.empty())
        return std::nullopt;
    return info;
}

// The frame the caps describe, without the caps string, for comparing a frame with its caps.
bool caps_describe(const GstCaps* caps, const pvshm::FrameInfo& frame)
{
    std::string ignored;
    const auto described = gst_pv_shm_format_frame_info(caps, ignored);
    if (!described)
        return false;
    if (pvshm::is_encoded(frame.format))
        return described->format == frame.format ||
               (frame.format == PixelFormat::Encoded && pvshm::is_encoded(described->format));
    return described->format == frame.format && described->width == frame.width &&
           described->height == frame.height;
}

PixelFormat sniff_encoded(const pvshm::FrameInfo& info, const uint8_t* payload)
{
    static constexpr uint8_t kJpeg[] = {0xff, 0xd8, 0xff};
    static constexpr uint8_t kPng[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (info.payload_size >= sizeof kJpeg && std::memcmp(payload, kJpeg, sizeof kJpeg) == 0)
        return PixelFormat::Jpeg;
    if (info.payload_size >= sizeof kPng && std::memcmp(payload, kPng, sizeof kPng) == 0)
        return PixelFormat::Png;
    return PixelFormat::Unknown;
}

// The format of the frame's bytes: an Encoded frame's is told by its signature.
PixelFormat stored_format(const pvshm::FrameInfo& info, const uint8_t* payload)
{
    return info.format == PixelFormat::Encoded ? sniff_encoded(info, payload) : info.format;
}

GstCaps* derived_caps(const pvshm::FrameInfo& info, const uint8_t* payload,
                      pvshm::ColorOrder unordered)
{
    if (pvshm::is_encoded(info.format)) {
        const char* media = name_of_pixel(kEncodedFormats, stored_format(info, payload));
        if (!media)
            return nullptr;
        GstCaps* caps = gst_caps_new_empty_simple(media);
        if (info.width > 0 && info.height > 0)
            gst_caps_set_simple(caps, "width", G_TYPE_INT, int(info.width), "height", G_TYPE_INT,
                                int(info.height), nullptr);
        return caps;
    }
    if (const char* bayer = name_of_pixel(kBayerFormats, info.format))
        return gst_caps_new_simple(kBayerMedia, "format", G_TYPE_STRING, bayer, "width", G_TYPE_INT,
                                   int(info.width), "height", G_TYPE_INT, int(info.height),
                                   "framerate", GST_TYPE_FRACTION, 0, 1, nullptr);
    const GstVideoFormat video_format = video_of_pixel(info.format, unordered);
    if (video_format == GST_VIDEO_FORMAT_UNKNOWN)
        return nullptr;
    GstVideoInfo video;
    if (!gst_video_info_set_format(&video, video_format, info.width, info.height))
        return nullptr;
    if (GST_VIDEO_INFO_IS_YUV(&video)) {
        if (info.matrix != ColorMatrix::Unspecified)
            video.colorimetry.matrix = video_matrix_of(info.matrix);
        if (info.range != ColorRange::Unspecified)
            video.colorimetry.range = video_range_of(info.range);
    }
    return gst_video_info_to_caps(&video);
}

} // namespace

bool gst_pv_shm_format_raw_video_info(const GstCaps* caps, GstVideoInfo* video)
{
    return caps && gst_caps_get_size(caps) > 0 &&
           gst_structure_has_name(gst_caps_get_structure(caps, 0), kRawMedia) &&
           gst_video_info_from_caps(video, caps) &&
           pixel_of_video(GST_VIDEO_INFO_FORMAT(video)).has_value();
}

GstCaps* gst_pv_shm_format_all_caps()
{
    GstCaps* caps = gst_caps_new_empty();

    GValue formats = G_VALUE_INIT;
    GValue format = G_VALUE_INIT;
    gst_value_list_init(&formats, G_N_ELEMENTS(kRawFormats));
    g_value_init(&format, G_TYPE_STRING);
    for (const auto& entry : kRawFormats) {
        g_value_set_static_string(&format, gst_video_format_to_string(entry.video));
        gst_value_list_append_value(&formats, &format);
    }
    GstStructure* raw = gst_structure_new_empty(kRawMedia);
    gst_structure_take_value(raw, "format", &formats);
    gst_caps_append_structure(caps, raw);

    gst_value_list_init(&formats, G_N_ELEMENTS(kBayerFormats));
    for (const auto& entry : kBayerFormats) {
        g_value_set_static_string(&format, entry.name);
        gst_value_list_append_value(&formats, &format);
    }
    GstStructure* bayer = gst_structure_new_empty(kBayerMedia);
    gst_structure_take_value(bayer, "format", &formats);
    gst_caps_append_structure(caps, bayer);
    g_value_unset(&format);

    const int max = int(pvshm::kMaxDimension);
    for (guint i = 0; i < gst_caps_get_size(caps); ++i)
        gst_structure_set(gst_caps_get_structure(caps, i), "width", GST_TYPE_INT_RANGE, 1, max,
                          "height", GST_TYPE_INT_RANGE, 1, max, "framerate",
                          GST_TYPE_FRACTION_RANGE, 0, 1, G_MAXINT, 1, nullptr);
    for (const auto& entry : kEncodedFormats)
        gst_caps_append_structure(caps, gst_structure_new_empty(entry.name));
    return caps;
}

std::optional<pvshm::FrameInfo> gst_pv_shm_format_frame_info(const GstCaps* caps,
                                                             std::string& error)
{
    if (!caps || !gst_caps_is_fixed(caps)) {
        error = "caps are not fixed";
        return std::nullopt;
    }
    const GstStructure* s = gst_caps_get_structure(caps, 0);
    const char* media = gst_structure_get_name(s);
    std::optional<pvshm::FrameInfo> info;
    if (std::strcmp(media, kRawMedia) == 0) {
        info = raw_frame_info(caps, error);
    } else if (std::strcmp(media, kBayerMedia) == 0) {
        info = bayer_frame_info(s, error);
    } else if (const auto encoded = pixel_of_name(kEncodedFormats, media)) {
        info.emplace();
        info->format = *encoded;
        info->plane_count = 1;
        int width = 0;
        int height = 0;
        if (gst_structure_get_int(s, "width", &width) &&
            gst_structure_get_int(s, "height", &height) && width > 0 && height > 0) {
            info->width = width;
            info->height = height;
        }
        return info;
    } else {
        error = std::string("unsupported media type ") + media;
        return std::nullopt;
    }
    if (info) {
        if (auto problem = pvshm::frame_geometry_problem(*info); !problem.empty()) {
            error = problem;
            return std::nullopt;
        }
    }
    return info;
}

GstCaps* gst_pv_shm_format_caps_for_frame(const pvshm::FrameInfo& info, const uint8_t* payload,
                                          pvshm::ColorOrder unordered)
{
    if (!info.caps.empty()) {
        g_autoptr(GstCaps) stored = gst_caps_from_string(info.caps.c_str());
        if (stored && gst_caps_is_fixed(stored) && caps_describe(stored, info))
            return g_steal_pointer(&stored);
    }
    return derived_caps(info, payload, unordered);
}

GstPvShmCapsKey gst_pv_shm_format_caps_key(const pvshm::FrameInfo& info, const uint8_t* payload)
{
    GstPvShmCapsKey key;
    key.format = stored_format(info, payload);
    key.width = info.width;
    key.height = info.height;
    key.matrix = info.matrix;
    key.range = info.range;
    key.caps = info.caps;
    return key;
}

bool gst_pv_shm_format_caps_key_matches(const GstPvShmCapsKey& key, const pvshm::FrameInfo& info,
                                        const uint8_t* payload)
{
    return key.format == stored_format(info, payload) && key.width == info.width &&
           key.height == info.height && key.matrix == info.matrix && key.range == info.range &&
           key.caps == info.caps;
}
