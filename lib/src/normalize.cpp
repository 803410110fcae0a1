// SPDX-License-Identifier: LGPL-2.1-or-later
#include <pvshm/normalize.hpp>

// YUV goes through libyuv, which takes a colour matrix, in bands on OpenCV's threads; everything
// else through OpenCV.
#include <algorithm>
#include <cctype>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include <libyuv/convert_argb.h>
#include <libyuv/planar_functions.h>
#include <opencv2/core/hal/intrin.hpp>
#include <opencv2/imgproc.hpp>

#include "decode.hpp"
#include "normalize_yuv.hpp"

namespace pvshm {
namespace {

// GStreamer 1.22's default when caps carry no colorimetry (set_default_colorimetry() in
// gst-libs/gst/video/video-info.c): BT.601 up to 576 lines, BT.709 above, limited range.
constexpr uint32_t kLargestSdHeight = 576;
// Studio-swing frames come out of GStreamer 1.22's videoconvert about two levels darker than the
// BT.601/709 equations give (its integer matrices truncate: Y=235 gives 253, Y=32 gives 16).
// The contract is to match videoconvert, so the same offset is applied to luma.
constexpr int kVideoconvertLimitedRangeOffset = -2;
// YUV frames are converted in bands of at least this many pixels, so small frames in one piece:
// waking a thread costs more than it saves on them.
constexpr uint64_t kMinBandPixels = 1 << 16;
constexpr uint32_t kBandsPerThread = 4;

const uint8_t* plane(const FrameInfo& info, const uint8_t* payload, int index)
{
    return payload + info.plane_offsets[index];
}

int stride(const FrameInfo& info, int index)
{
    return static_cast<int>(info.strides[index]);
}

// A read-only Mat header over one plane; OpenCV has no const Mat, nothing writes through it.
cv::Mat plane_mat(const FrameInfo& info, const uint8_t* payload, int index, int rows, int cols,
                  int type)
{
    return cv::Mat(rows, cols, type, const_cast<uint8_t*>(plane(info, payload, index)),
                   info.strides[index]);
}

cv::Mat image_mat(const FrameInfo& info, const uint8_t* payload, int type)
{
    return plane_mat(info, payload, 0, static_cast<int>(info.height), static_cast<int>(info.width),
                     type);
}

// Per-thread intermediate planes, for the conversions that take two steps.
uint8_t* scratch(std::vector<uint8_t>& buffer, size_t size)
{
    if (buffer.size() < size)
        buffer.resize(size);
    return buffer.data();
}

// The full-swing libyuv constants of the frame's matrix. libyuv's "RGB24" is B,G,R in memory;
// passing V where it expects U together with the mirrored kYvu* constants makes the same
// converters write R,G,B, as libyuv's own *ToRAW do.
//
// Studio-swing (limited range) frames are stretched to full swing first rather than converted
// with libyuv's studio constants: those keep their coefficients in 6-bit fixed point and saturate
// the U-to-blue one at 2.0, so BT.709 (2.112) and BT.2020 (2.142) come out up to 13 and 16 levels
// off in blue, while the full-swing constants are within 2 levels of the equations.
const libyuv::YuvConstants* rgb_order_constants(const FrameInfo& info)
{
    ColorMatrix matrix = info.matrix;
    if (matrix == ColorMatrix::Unspecified)
        matrix = info.height <= kLargestSdHeight ? ColorMatrix::BT601 : ColorMatrix::BT709;
    switch (matrix) {
    case ColorMatrix::BT709:
        return &libyuv::kYvuF709Constants;
    case ColorMatrix::BT2020:
        return &libyuv::kYvuV2020Constants;
    case ColorMatrix::BT601:
    case ColorMatrix::Unspecified:
        break;
    }
    return &libyuv::kYvuJPEGConstants;
}

// Studio swing (luma 16..235, chroma 16..240 around 128) to full swing, in the 16-bit fixed point
// that SIMD multiplies in: ((sample * scale >> 8) - offset) >> 6, clipped to 0..255. Samples
// outside the studio range, which videoconvert keeps, are clipped.
struct FullSwingStretch
{
    uint16_t scale;
    int16_t offset;
};
constexpr FullSwingStretch kLumaStretch{19077, 1288};
constexpr FullSwingStretch kChromaStretch{18652, 1102};

constexpr uint8_t stretched(int sample, FullSwingStretch stretch)
{
    const int shifted = std::max(((sample * stretch.scale) >> 8) - stretch.offset, 0) >> 6;
    return static_cast<uint8_t>(std::min(shifted, 255));
}

// The constants give every sample the level nearest to the equation's, ties (chroma 16 only) to
// even: luma 255 (Y - 16) / 219 + kVideoconvertLimitedRangeOffset, chroma
// 255 (C - 128) / 224 + 128.
constexpr bool stretch_rounds_the_equation(bool luma)
{
    const int denominator = luma ? 219 : 224;
    for (int sample = 0; sample < 256; ++sample) {
        const int numerator = luma ? 255 * (sample - 16) + kVideoconvertLimitedRangeOffset * 219
                                   : 255 * (sample - 128) + 128 * 224;
        int level = numerator / denominator - (numerator % denominator < 0 ? 1 : 0);
        const int twice_remainder = 2 * (numerator - level * denominator);
        if (twice_remainder > denominator || (twice_remainder == denominator && level % 2 != 0))
            ++level;
        if (stretched(sample, luma ? kLumaStretch : kChromaStretch) != std::clamp(level, 0, 255))
            return false;
    }
    return true;
}
static_assert(stretch_rounds_the_equation(true) && stretch_rounds_the_equation(false));

// Stretches `rows` rows of `cols` samples into `destination` (rows of `cols` bytes), which may be
// `source` when its stride is `cols`.
void stretch_to_full_swing(const uint8_t* source, int source_stride, uint8_t* destination, int cols,
                           int rows, FullSwingStretch stretch)
{
    for (int row = 0; row < rows; ++row) {
        const uint8_t* from = source + static_cast<size_t>(source_stride) * row;
        uint8_t* to = destination + static_cast<size_t>(cols) * row;
        int i = 0;
#if CV_SIMD128
        const cv::v_uint16x8 scale = cv::v_setall_u16(stretch.scale);
        const cv::v_int16x8 offset = cv::v_setall_s16(stretch.offset);
        // Samples times 256, whose products with `scale` have sample * scale >> 8 as high half.
        const auto stretch_times_256 = [&](const cv::v_uint8x16& samples) {
            const cv::v_uint16x8 product = cv::v_mul_hi(cv::v_reinterpret_as_u16(samples), scale);
            return cv::v_shr<6>(cv::v_reinterpret_as_s16(product) - offset);
        };
        for (; i + 16 <= cols; i += 16) {
            cv::v_uint8x16 low, high;
            cv::v_zip(cv::v_setzero_u8(), cv::v_load(from + i), low, high);
            cv::v_store(to + i, cv::v_pack_u(stretch_times_256(low), stretch_times_256(high)));
        }
#endif
        for (; i < cols; ++i)
            to[i] = stretched(from[i], stretch);
    }
}

bool is_packed_422(PixelFormat format)
{
    return format == PixelFormat::YUY2 || format == PixelFormat::UYVY;
}

// Full-swing planar Y, U and V, as libyuv's planar converters take them.
struct PlanarRows
{
    const uint8_t* y;
    int y_stride;
    const uint8_t* u;
    int u_stride;
    const uint8_t* v;
    int v_stride;
};

// Luma rows [first, last) of the frame (`first` even) and the chroma rows they need: in the frame
// itself where it holds them so, otherwise in a per-thread buffer (NV12 chroma split, packed 4:2:2
// unpacked, studio swing stretched), which a band's conversion then finds in cache.
PlanarRows planar_rows(const FrameInfo& info, const uint8_t* payload, int first, int last)
{
    const int width = static_cast<int>(info.width);
    const int chroma_width = (width + 1) / 2;
    const bool packed_422 = is_packed_422(info.format);
    const int chroma_first = packed_422 ? first : first / 2;
    const int chroma_rows = (packed_422 ? last : (last + 1) / 2) - chroma_first;
    const int rows = last - first;
    const size_t luma_size = static_cast<size_t>(width) * rows;
    const size_t chroma_size = static_cast<size_t>(chroma_width) * chroma_rows;
    thread_local std::vector<uint8_t> buffer;
    uint8_t* y = scratch(buffer, luma_size + 2 * chroma_size);
    uint8_t* u = y + luma_size;
    uint8_t* v = u + chroma_size;
    auto row = [&](int index, int number) {
        return plane(info, payload, index) + static_cast<size_t>(stride(info, index)) * number;
    };

    PlanarRows planes{row(0, first), stride(info, 0), u, chroma_width, v, chroma_width};
    if (packed_422) {
        const auto unpack =
            info.format == PixelFormat::YUY2 ? libyuv::YUY2ToI422 : libyuv::UYVYToI422;
        unpack(planes.y, planes.y_stride, y, width, u, chroma_width, v, chroma_width, width, rows);
        planes.y = y;
        planes.y_stride = width;
    } else if (info.format == PixelFormat::NV12) {
        libyuv::SplitUVPlane(row(1, chroma_first), stride(info, 1), u, chroma_width, v,
                             chroma_width, chroma_width, chroma_rows);
    } else {
        planes.u = row(1, chroma_first);
        planes.u_stride = stride(info, 1);
        planes.v = row(2, chroma_first);
        planes.v_stride = stride(info, 2);
    }
    if (info.range != ColorRange::Full) {
        stretch_to_full_swing(planes.y, planes.y_stride, y, width, rows, kLumaStretch);
        stretch_to_full_swing(planes.u, planes.u_stride, u, chroma_width, chroma_rows,
                              kChromaStretch);
        stretch_to_full_swing(planes.v, planes.v_stride, v, chroma_width, chroma_rows,
                              kChromaStretch);
        planes = {y, width, u, chroma_width, v, chroma_width};
    }
    return planes;
}

// Converts luma rows [first, last) of the frame (`first` even) as if they were a whole frame.
// videoconvert interpolates the chroma of NV12 (between rows and columns) and of packed 4:2:2
// (between columns); its I420 fast path does not.
void convert_window(const FrameInfo& info, const uint8_t* payload,
                    const libyuv::YuvConstants* constants, int first, int last, cv::Mat& out,
                    int out_row)
{
    const PlanarRows p = planar_rows(info, payload, first, last);
    const int width = static_cast<int>(info.width);
    uint8_t* rgb = out.ptr(out_row);
    const int rgb_stride = static_cast<int>(out.step);
    // V in U's place: see rgb_order_constants().
    if (is_packed_422(info.format)) {
        libyuv::I422ToRGB24MatrixFilter(p.y, p.y_stride, p.v, p.v_stride, p.u, p.u_stride, rgb,
                                        rgb_stride, constants, width, last - first,
                                        libyuv::kFilterLinear);
    } else {
        const auto filter =
            info.format == PixelFormat::NV12 ? libyuv::kFilterBilinear : libyuv::kFilterNone;
        libyuv::I420ToRGB24MatrixFilter(p.y, p.y_stride, p.v, p.v_stride, p.u, p.u_stride, rgb,
                                        rgb_stride, constants, width, last - first, filter);
    }
}

// Converts the band of luma rows [first, last) of the frame (both even, but for a last band that
// ends the frame), so that the bands together give `out` what one conversion of the whole frame
// would.
//
// Only NV12 needs care: libyuv's bilinear converter takes the first row it is given, and the last
// when their count is even, for the frame's edge, whose chroma comes from one chroma row instead
// of two; in a window starting at an even row all the other rows are exact. So an NV12 band is
// converted without its last row, and the next band converts that row and its own first one from
// the three rows around their boundary.
void convert_band(const FrameInfo& info, const uint8_t* payload,
                  const libyuv::YuvConstants* constants, int first, int last, cv::Mat& out)
{
    if (info.format != PixelFormat::NV12) {
        convert_window(info, payload, constants, first, last, out, first);
        return;
    }
    convert_window(info, payload, constants, first, last == out.rows ? last : last - 1, out, first);
    if (first > 0) {
        thread_local cv::Mat boundary;
        boundary.create(3, out.cols, CV_8UC3);
        convert_window(info, payload, constants, first - 2, first + 1, boundary, 0);
        boundary.rowRange(1, 3).copyTo(out.rowRange(first - 1, first + 1));
    }
}

// Calls convert(first, last) on OpenCV's threads for `bands` ranges of rows that cover
// [0, rows); every range starts at an even row, so none splits a 4:2:0 chroma row.
void for_each_band(int rows, int bands, const std::function<void(int, int)>& convert)
{
    bands = std::clamp(bands, 1, std::max(1, rows / 2));
    if (bands == 1) {
        convert(0, rows);
        return;
    }
    const auto band_start = [&](int band) {
        return band == bands ? rows : 2 * static_cast<int>(int64_t{rows / 2} * band / bands);
    };
    cv::parallel_for_(
        cv::Range(0, bands),
        [&](const cv::Range& range) {
            for (int band = range.start; band < range.end; ++band)
                convert(band_start(band), band_start(band + 1));
        },
        bands);
}

// The bands normalize_to_rgb() converts a frame in: several per thread, so that a thread that was
// descheduled leaves its bands to the others.
int yuv_bands(const FrameInfo& info)
{
    const uint64_t pixels = uint64_t{info.width} * info.height;
    const uint64_t most = uint64_t{kBandsPerThread} * std::max(1, cv::getNumThreads());
    return static_cast<int>(std::clamp<uint64_t>(pixels / kMinBandPixels, 1, most));
}

// Scaled by the frame's significant bits: a 12-bit camera's 4095 is white.
void convert_gray16(const FrameInfo& info, const uint8_t* payload, cv::Mat& out)
{
    const int width = out.cols;
    const int height = out.rows;
    const uint32_t bits = info.bit_depth == 0 ? 16 : info.bit_depth;
    thread_local std::vector<uint8_t> buffer;
    uint8_t* gray = scratch(buffer, static_cast<size_t>(width) * height);
    cv::Mat gray_mat(height, width, CV_8UC1, gray);
    if (bits >= 8) {
        // libyuv computes min((sample * scale) >> 16, 255): scale 2^(24 - bits) is an exact
        // shift right by bits - 8, saturating samples above the declared depth. The source
        // stride is in samples.
        libyuv::Convert16To8Plane(reinterpret_cast<const uint16_t*>(plane(info, payload, 0)),
                                  stride(info, 0) / 2, gray, width, 1 << (24 - bits), width,
                                  height);
    } else {
        plane_mat(info, payload, 0, height, width, CV_16UC1)
            .convertTo(gray_mat, CV_8U, 255.0 / ((1 << bits) - 1));
    }
    cv::cvtColor(gray_mat, out, cv::COLOR_GRAY2RGB);
}

// OpenCV names a Bayer pattern after the second row's second and third pixels, GStreamer after
// the first row's first two: for an RGGB sensor OpenCV's code is BayerBG.
int bayer_code(PixelFormat format)
{
    switch (format) {
    case PixelFormat::BayerRGGB:
        return cv::COLOR_BayerBG2RGB;
    case PixelFormat::BayerBGGR:
        return cv::COLOR_BayerRG2RGB;
    case PixelFormat::BayerGRBG:
        return cv::COLOR_BayerGB2RGB;
    case PixelFormat::BayerGBRG:
    default:
        return cv::COLOR_BayerGR2RGB;
    }
}

} // namespace

void yuv_to_rgb(const FrameInfo& info, const uint8_t* payload, cv::Mat& out, int bands)
{
    out.create(static_cast<int>(info.height), static_cast<int>(info.width), CV_8UC3);
    const libyuv::YuvConstants* constants = rgb_order_constants(info);
    for_each_band(out.rows, bands, [&](int first, int last) {
        convert_band(info, payload, constants, first, last, out);
    });
}

ColorOrder color_order_from_name(const std::string& name)
{
    std::string upper = name;
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    if (upper == "RGB")
        return ColorOrder::RGB;
    if (upper == "BGR")
        return ColorOrder::BGR;
    throw std::invalid_argument("color order must be \"RGB\" or \"BGR\", not \"" + name + "\"");
}

void normalize_to_rgb(const FrameInfo& info, const uint8_t* payload, cv::Mat& out,
                      ColorOrder unordered_order)
{
    if (const std::string problem = frame_geometry_problem(info); !problem.empty())
        throw std::invalid_argument("normalize_to_rgb: " + problem);
    if (payload == nullptr)
        throw std::invalid_argument("normalize_to_rgb: no payload");

    if (is_encoded(info.format)) {
        decode_image(payload, static_cast<size_t>(info.payload_size), out);
        return;
    }

    out.create(static_cast<int>(info.height), static_cast<int>(info.width), CV_8UC3);
    switch (info.format) {
    case PixelFormat::Rgb3Unordered:
        if (unordered_order == ColorOrder::BGR)
            cv::cvtColor(image_mat(info, payload, CV_8UC3), out, cv::COLOR_BGR2RGB);
        else
            image_mat(info, payload, CV_8UC3).copyTo(out);
        return;
    case PixelFormat::RGB:
        image_mat(info, payload, CV_8UC3).copyTo(out);
        return;
    case PixelFormat::BGR:
        cv::cvtColor(image_mat(info, payload, CV_8UC3), out, cv::COLOR_BGR2RGB);
        return;
    case PixelFormat::RGBA:
    case PixelFormat::RGBx:
        cv::cvtColor(image_mat(info, payload, CV_8UC4), out, cv::COLOR_RGBA2RGB);
        return;
    case PixelFormat::BGRA:
    case PixelFormat::BGRx:
        cv::cvtColor(image_mat(info, payload, CV_8UC4), out, cv::COLOR_BGRA2RGB);
        return;
    case PixelFormat::GRAY8:
        cv::cvtColor(image_mat(info, payload, CV_8UC1), out, cv::COLOR_GRAY2RGB);
        return;
    case PixelFormat::GRAY16_LE:
        convert_gray16(info, payload, out);
        return;
    case PixelFormat::BayerRGGB:
    case PixelFormat::BayerBGGR:
    case PixelFormat::BayerGRBG:
    case PixelFormat::BayerGBRG:
        cv::cvtColor(image_mat(info, payload, CV_8UC1), out, bayer_code(info.format));
        return;
    case PixelFormat::NV12:
    case PixelFormat::I420:
    case PixelFormat::YUY2:
    case PixelFormat::UYVY:
        yuv_to_rgb(info, payload, out, yuv_bands(info));
        return;
    case PixelFormat::Unknown:
    case PixelFormat::Jpeg:
    case PixelFormat::Png:
    case PixelFormat::Encoded:
        break;
    }
    // frame_geometry_problem() rejected every other format.
    throw std::invalid_argument("normalize_to_rgb: unsupported format");
}

} // namespace pvshm
