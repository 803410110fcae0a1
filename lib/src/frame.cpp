// SPDX-License-Identifier: LGPL-2.1-or-later
#include <pvshm/frame.hpp>

// packed_frame_info() and frame_geometry_problem(); FrameView lives in frame_view.cpp.
#include <stdexcept>
#include <string>

#include <pvshm/clock.hpp>

namespace pvshm {
namespace {

// The bytes a row of one plane holds and how many rows it has, for a width x height frame.
struct PlaneShape
{
    uint64_t row_bytes = 0;
    uint64_t rows = 0;
};

struct FormatLayout
{
    bool known = false;
    bool encoded = false;
    uint32_t plane_count = 0;
    std::array<PlaneShape, kMaxPlanes> planes{};
    // Bytes per sample, which strides and plane offsets must be multiples of.
    uint32_t sample_bytes = 1;
};

// The one place that knows what each format's planes look like. Dimensions are 32-bit, so none
// of these 64-bit products can overflow, even before the dimensions are checked.
FormatLayout format_layout(PixelFormat format, uint64_t width, uint64_t height)
{
    const uint64_t half_width = (width + 1) / 2;
    const uint64_t half_height = (height + 1) / 2;
    auto single = [&](uint64_t bytes_per_pixel) {
        FormatLayout layout{true, false, 1, {}, 1};
        layout.planes[0] = {bytes_per_pixel * width, height};
        return layout;
    };

    switch (format) {
    case PixelFormat::RGB:
    case PixelFormat::BGR:
    case PixelFormat::Rgb3Unordered:
        return single(3);
    case PixelFormat::RGBA:
    case PixelFormat::BGRA:
    case PixelFormat::RGBx:
    case PixelFormat::BGRx:
        return single(4);
    case PixelFormat::GRAY8:
    case PixelFormat::BayerRGGB:
    case PixelFormat::BayerBGGR:
    case PixelFormat::BayerGRBG:
    case PixelFormat::BayerGBRG:
        return single(1);
    case PixelFormat::GRAY16_LE: {
        FormatLayout layout = single(2);
        layout.sample_bytes = 2;
        return layout;
    }
    case PixelFormat::YUY2:
    case PixelFormat::UYVY: {
        FormatLayout layout = single(1);
        layout.planes[0].row_bytes = 4 * half_width;
        return layout;
    }
    case PixelFormat::NV12: {
        FormatLayout layout{true, false, 2, {}, 1};
        layout.planes[0] = {width, height};
        layout.planes[1] = {2 * half_width, half_height};
        return layout;
    }
    case PixelFormat::I420: {
        FormatLayout layout{true, false, 3, {}, 1};
        layout.planes[0] = {width, height};
        layout.planes[1] = {half_width, half_height};
        layout.planes[2] = {half_width, half_height};
        return layout;
    }
    case PixelFormat::Jpeg:
    case PixelFormat::Png:
    case PixelFormat::Encoded:
        return FormatLayout{true, true, 1, {}, 1};
    case PixelFormat::Unknown:
        break;
    }
    return FormatLayout{};
}

std::string format_label(PixelFormat format)
{
    const std::string_view name = format_name(format);
    if (name != format_name(PixelFormat::Unknown))
        return std::string(name);
    return std::to_string(static_cast<uint32_t>(format));
}

} // namespace

FrameInfo packed_frame_info(PixelFormat format, uint32_t width, uint32_t height)
{
    const FormatLayout layout = format_layout(format, width, height);
    if (!layout.known)
        throw std::invalid_argument("packed_frame_info: unknown pixel format " +
                                    format_label(format));

    FrameInfo info;
    info.width = width;
    info.height = height;
    info.format = format;
    info.plane_count = layout.plane_count;

    if (layout.encoded) {
        // Encoded sizes are byte counts, bounded by kMaxPayloadSize rather than kMaxDimension.
        info.payload_size = uint64_t{width} * height;
        if (info.payload_size > kMaxPayloadSize)
            throw std::invalid_argument("packed_frame_info: " + std::to_string(info.payload_size) +
                                        " encoded bytes exceed the limit of " +
                                        std::to_string(kMaxPayloadSize));
        return info;
    }

    if (width > kMaxDimension || height > kMaxDimension)
        throw std::invalid_argument("packed_frame_info: " + std::to_string(width) + "x" +
                                    std::to_string(height) + " exceeds the largest dimension " +
                                    std::to_string(kMaxDimension));

    uint64_t offset = 0;
    for (uint32_t i = 0; i < layout.plane_count; ++i) {
        const PlaneShape& plane = layout.planes[i];
        info.strides[i] = static_cast<uint32_t>(plane.row_bytes);
        info.plane_offsets[i] = offset;
        offset += plane.row_bytes * plane.rows;
    }
    if (offset > kMaxPayloadSize)
        throw std::invalid_argument(
            "packed_frame_info: a " + std::to_string(width) + "x" + std::to_string(height) + " " +
            format_label(format) + " frame needs " + std::to_string(offset) +
            " bytes, more than the limit of " + std::to_string(kMaxPayloadSize));
    info.payload_size = offset;
    return info;
}

std::string frame_geometry_problem(const FrameInfo& info)
{
    if (info.payload_size > kMaxPayloadSize)
        return "payload of " + std::to_string(info.payload_size) + " bytes exceeds the limit of " +
               std::to_string(kMaxPayloadSize);

    const FormatLayout layout = format_layout(info.format, info.width, info.height);
    if (!layout.known)
        return "unknown pixel format " + format_label(info.format);
    if (layout.encoded) {
        if (info.payload_size == 0)
            return "empty " + format_label(info.format) + " payload";
        // FrameView::plane() hands these out: nothing else bounds them for encoded bytes.
        if (info.plane_count > 1 || (info.plane_count == 1 && info.plane_offsets[0] != 0))
            return format_label(info.format) + " bytes are one plane at offset 0, the frame has " +
                   std::to_string(info.plane_count) + " planes, the first at offset " +
                   std::to_string(info.plane_offsets[0]);
        return {};
    }

    if (info.width == 0 || info.height == 0 || info.width > kMaxDimension ||
        info.height > kMaxDimension)
        return "frame size " + std::to_string(info.width) + "x" + std::to_string(info.height) +
               " is outside 1.." + std::to_string(kMaxDimension);
    if (info.plane_count != layout.plane_count)
        return format_label(info.format) + " needs " + std::to_string(layout.plane_count) +
               " planes, the frame has " + std::to_string(info.plane_count);

    for (uint32_t i = 0; i < layout.plane_count; ++i) {
        const PlaneShape& plane = layout.planes[i];
        const uint64_t stride = info.strides[i];
        const uint64_t offset = info.plane_offsets[i];
        // Named only for an error: a valid frame (every frame published or read) builds no text.
        auto what = [&] {
            return "plane " + std::to_string(i) + " of a " + std::to_string(info.width) + "x" +
                   std::to_string(info.height) + " " + format_label(info.format) + " frame";
        };
        if (stride < plane.row_bytes)
            return what() + ": stride " + std::to_string(stride) + " is less than the " +
                   std::to_string(plane.row_bytes) + " bytes of a row";
        // A one-row plane never multiplies its stride, so bound it here: consumers take it as int.
        if (stride > kMaxPayloadSize)
            return what() + ": stride " + std::to_string(stride) + " exceeds the payload limit";
        if (stride % layout.sample_bytes != 0 || offset % layout.sample_bytes != 0)
            return what() + ": stride " + std::to_string(stride) + " and offset " +
                   std::to_string(offset) + " must be multiples of the " +
                   std::to_string(layout.sample_bytes) + "-byte sample";
        if (offset > info.payload_size)
            return what() + ": offset " + std::to_string(offset) + " is beyond the " +
                   std::to_string(info.payload_size) + "-byte payload";
        // stride <= 2^30 and rows <= 2^16: the product stays far below 2^64.
        const uint64_t extent = stride * (plane.rows - 1) + plane.row_bytes;
        if (extent > info.payload_size - offset)
            return what() + ": " + std::to_string(extent) + " bytes from offset " +
                   std::to_string(offset) + " run past the " + std::to_string(info.payload_size) +
                   "-byte payload";
    }
    return {};
}

int64_t FrameInfo::age_ns() const
{
    return clock_ns(CLOCK_REALTIME) - timestamp_realtime_ns;
}

} // namespace pvshm
