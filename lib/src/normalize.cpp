// SPDX-License-Identifier: LGPL-2.1-or-later
#include <pvshm/normalize.hpp>

// YUV goes through libyuv, which takes a colour matrix; everything else through OpenCV.
#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include <libyuv/convert_argb.h>
#include <libyuv/planar_functions.h>
#include <opencv2/imgproc.hpp>

#include "decode.hpp"

namespace pvshm {
namespace {

// GStreamer 1.22's default when caps carry no colorimetry (set_default_colorimetry() in
// gst-libs/gst/video/video-info.c): BT.601 up to 576 lines, BT.709 above, limited range.
constexpr uint32_t kLargestSdHeight = 576;
// Studio-swing frames come out of GStreamer 1.22's videoconvert about two levels darker than the
// BT.601/709 equations give (its integer matrices truncate: Y=235 gives 253, Y=32 gives 16).
// The contract is to match videoconvert, so the same offset is applied to luma.
constexpr double kVideoconvertLimitedRangeOffset = -2.0;

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

// Lookup tables from studio swing (luma 16..235, chroma 16..240 around 128) to full swing. The
// stretch clips samples outside the studio range, which videoconvert keeps.
const cv::Mat& full_swing_table(bool luma)
{
    static const std::array<cv::Mat, 2> tables = [] {
        cv::Mat identity(1, 256, CV_8UC1);
        std::iota(identity.begin<uint8_t>(), identity.end<uint8_t>(), uint8_t{0});
        std::array<cv::Mat, 2> result;
        identity.convertTo(result[0], CV_8U, 255.0 / 224.0, 128.0 - 128.0 * 255.0 / 224.0);
        identity.convertTo(result[1], CV_8U, 255.0 / 219.0,
                           -16.0 * 255.0 / 219.0 + kVideoconvertLimitedRangeOffset);
        return result;
    }();
    return tables[luma ? 1 : 0];
}

// The same table per byte of a packed 4:2:2 macropixel, Y0 U Y1 V or U Y0 V Y1.
const cv::Mat& full_swing_table_422(bool luma_first)
{
    static const std::array<cv::Mat, 2> tables = [] {
        const cv::Mat& luma = full_swing_table(true);
        const cv::Mat& chroma = full_swing_table(false);
        std::array<cv::Mat, 2> result;
        cv::merge(std::vector<cv::Mat>{chroma, luma, chroma, luma}, result[0]);
        cv::merge(std::vector<cv::Mat>{luma, chroma, luma, chroma}, result[1]);
        return result;
    }();
    return tables[luma_first ? 1 : 0];
}

struct YuvFrame
{
    FrameInfo info;
    const uint8_t* payload;
};

// Copies the frame into a tightly packed per-thread buffer with every sample stretched to full
// swing.
YuvFrame stretch_to_full_swing(const YuvFrame& frame)
{
    const FrameInfo& info = frame.info;
    FrameInfo stretched = packed_frame_info(info.format, info.width, info.height);
    stretched.matrix = info.matrix;
    stretched.range = ColorRange::Full;
    thread_local std::vector<uint8_t> buffer;
    uint8_t* copy = scratch(buffer, stretched.payload_size);

    const bool packed_422 = info.format == PixelFormat::YUY2 || info.format == PixelFormat::UYVY;
    const int type = packed_422 ? CV_8UC4 : CV_8UC1;
    for (uint32_t i = 0; i < stretched.plane_count; ++i) {
        const uint64_t offset = stretched.plane_offsets[i];
        const uint64_t end =
            i + 1 < stretched.plane_count ? stretched.plane_offsets[i + 1] : stretched.payload_size;
        const int rows = static_cast<int>((end - offset) / stretched.strides[i]);
        const int cols = static_cast<int>(stretched.strides[i]) / CV_MAT_CN(type);
        const cv::Mat& table = packed_422 ? full_swing_table_422(info.format == PixelFormat::YUY2)
                                          : full_swing_table(i == 0);
        cv::Mat destination(rows, cols, type, copy + offset);
        cv::LUT(plane_mat(info, frame.payload, static_cast<int>(i), rows, cols, type), table,
                destination);
    }
    return {stretched, copy};
}

// videoconvert interpolates the chroma of NV12 and packed 4:2:2 frames (its I420 fast path does
// not), so these go through libyuv's filtering converters, which need separate chroma planes.
void convert_nv12(const YuvFrame& frame, const libyuv::YuvConstants* constants, cv::Mat& out)
{
    const FrameInfo& info = frame.info;
    const int chroma_width = (out.cols + 1) / 2;
    const int chroma_height = (out.rows + 1) / 2;
    const size_t chroma_size = static_cast<size_t>(chroma_width) * chroma_height;
    thread_local std::vector<uint8_t> buffer;
    uint8_t* u = scratch(buffer, 2 * chroma_size);
    uint8_t* v = u + chroma_size;
    libyuv::SplitUVPlane(plane(info, frame.payload, 1), stride(info, 1), u, chroma_width, v,
                         chroma_width, chroma_width, chroma_height);
    libyuv::I420ToRGB24MatrixFilter(plane(info, frame.payload, 0), stride(info, 0), v, chroma_width,
                                    u, chroma_width, out.data, static_cast<int>(out.step),
                                    constants, out.cols, out.rows, libyuv::kFilterBilinear);
}

void convert_i420(const YuvFrame& frame, const libyuv::YuvConstants* constants, cv::Mat& out)
{
    const FrameInfo& info = frame.info;
    libyuv::I420ToRGB24Matrix(plane(info, frame.payload, 0), stride(info, 0),
                              plane(info, frame.payload, 2), stride(info, 2),
                              plane(info, frame.payload, 1), stride(info, 1), out.data,
                              static_cast<int>(out.step), constants, out.cols, out.rows);
}

// libyuv has no packed 4:2:2 to RGB converter taking a matrix: unpack to I422 first. Chroma is
// interpolated horizontally, as videoconvert does.
void convert_packed_422(const YuvFrame& frame, const libyuv::YuvConstants* constants, cv::Mat& out)
{
    const int width = out.cols;
    const int height = out.rows;
    const int chroma_width = (width + 1) / 2;
    const size_t luma_size = static_cast<size_t>(width) * height;
    const size_t chroma_size = static_cast<size_t>(chroma_width) * height;
    thread_local std::vector<uint8_t> buffer;
    uint8_t* y = scratch(buffer, luma_size + 2 * chroma_size);
    uint8_t* u = y + luma_size;
    uint8_t* v = u + chroma_size;

    const auto unpack =
        frame.info.format == PixelFormat::YUY2 ? libyuv::YUY2ToI422 : libyuv::UYVYToI422;
    unpack(plane(frame.info, frame.payload, 0), stride(frame.info, 0), y, width, u, chroma_width, v,
           chroma_width, width, height);
    libyuv::I422ToRGB24MatrixFilter(y, width, v, chroma_width, u, chroma_width, out.data,
                                    static_cast<int>(out.step), constants, width, height,
                                    libyuv::kFilterLinear);
}

void convert_yuv(const FrameInfo& info, const uint8_t* payload, cv::Mat& out)
{
    const libyuv::YuvConstants* constants = rgb_order_constants(info);
    YuvFrame frame{info, payload};
    if (info.range != ColorRange::Full)
        frame = stretch_to_full_swing(frame);

    if (info.format == PixelFormat::NV12)
        convert_nv12(frame, constants, out);
    else if (info.format == PixelFormat::I420)
        convert_i420(frame, constants, out);
    else
        convert_packed_422(frame, constants, out);
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
        convert_yuv(info, payload, out);
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
