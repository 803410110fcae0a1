// SPDX-License-Identifier: LGPL-2.1-or-later
// normalize_to_rgb() on hand-built frames of every format, checked against known pixel values.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <gtest/gtest.h>
#include <stdexcept>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <pvshm/format.hpp>
#include <pvshm/frame.hpp>
#include <pvshm/normalize.hpp>

#include "normalize_yuv.hpp"

namespace pvshm {
namespace {

constexpr uint8_t kPaddingByte = 0xab;

// A frame of `format` whose rows are `padding` bytes longer than needed and whose planes are
// separated by gaps, all filled with kPaddingByte so that reading them shows up in the result.
struct TestFrame
{
    FrameInfo info;
    std::vector<uint8_t> bytes;

    TestFrame(PixelFormat format, uint32_t width, uint32_t height, uint32_t padding = 0)
        : info(packed_frame_info(format, width, height))
    {
        uint64_t offset = 0;
        for (uint32_t i = 0; i < info.plane_count; ++i) {
            const uint64_t rows = i == 0 ? height : (height + 1) / 2;
            info.strides[i] += padding;
            info.plane_offsets[i] = offset;
            offset += uint64_t{info.strides[i]} * rows + padding;
        }
        info.payload_size = offset;
        bytes.assign(offset, kPaddingByte);
    }

    uint8_t* row(uint32_t plane, uint32_t y)
    {
        return bytes.data() + info.plane_offsets[plane] + uint64_t{info.strides[plane]} * y;
    }

    cv::Mat normalize(ColorOrder order = ColorOrder::RGB) const
    {
        cv::Mat out;
        normalize_to_rgb(info, bytes.data(), out, order);
        return out;
    }
};

struct Yuv
{
    uint8_t y;
    uint8_t u;
    uint8_t v;
};

// The studio-swing / full-swing Y'CbCr to R'G'B' equations of BT.601, BT.709 and BT.2020,
// written from their Kr and Kb.
cv::Vec3b reference_rgb(Yuv yuv, ColorMatrix matrix, ColorRange range)
{
    double kr = 0.299, kb = 0.114;
    if (matrix == ColorMatrix::BT709) {
        kr = 0.2126;
        kb = 0.0722;
    } else if (matrix == ColorMatrix::BT2020) {
        kr = 0.2627;
        kb = 0.0593;
    }
    const bool full = range == ColorRange::Full;
    // Studio swing as videoconvert gives it: two levels below the equations (see normalize.cpp).
    const double luma = full ? yuv.y / 255.0 : (yuv.y - 16) / 219.0 - 2.0 / 255.0;
    const double pb = (yuv.u - 128) / (full ? 255.0 : 224.0);
    const double pr = (yuv.v - 128) / (full ? 255.0 : 224.0);
    const double r = luma + 2 * (1 - kr) * pr;
    const double b = luma + 2 * (1 - kb) * pb;
    const double g = (luma - kr * r - kb * b) / (1 - kr - kb);
    auto to8 = [](double value) {
        return static_cast<uint8_t>(std::clamp(std::lround(value * 255), 0L, 255L));
    };
    return {to8(r), to8(g), to8(b)};
}

// Luma varies per pixel; chroma per 2x2 block (4:2:0) or per pixel pair (4:2:2) cycles through
// colours spread over the gamut, so that misplaced planes or swapped U and V cannot go unseen.
uint8_t pattern_luma(uint32_t x, uint32_t y)
{
    return static_cast<uint8_t>(20 + (x * 37 + y * 53) % 210);
}

// Chroma is constant over blocks of 3x3 chroma samples, so that interpolated chroma (NV12 and
// packed 4:2:2, as videoconvert does) still has known values inside each block.
constexpr uint32_t kChromaBlock = 3;

Yuv pattern_chroma(uint32_t chroma_x, uint32_t chroma_y)
{
    static constexpr uint8_t kChroma[][2] = {{128, 128}, {90, 240},  {54, 34}, {240, 110},
                                             {16, 146},  {200, 200}, {160, 60}};
    const uint32_t block = chroma_x / kChromaBlock + 3 * (chroma_y / kChromaBlock);
    const auto& uv = kChroma[block % std::size(kChroma)];
    return {0, uv[0], uv[1]};
}

// Whether the chroma of pixel (x, y) is known exactly: always for I420 (never interpolated),
// otherwise when every chroma sample next to the pixel's own lies in the same block.
bool chroma_is_exact(PixelFormat format, uint32_t width, uint32_t height, uint32_t x, uint32_t y)
{
    if (format == PixelFormat::I420)
        return true;
    const bool vertical = format == PixelFormat::NV12;
    const uint32_t chroma_width = (width + 1) / 2;
    const uint32_t chroma_height = vertical ? (height + 1) / 2 : height;
    const uint32_t cx = x / 2;
    const uint32_t cy = vertical ? y / 2 : y;
    auto same_block = [](uint32_t a, uint32_t b) { return a / kChromaBlock == b / kChromaBlock; };
    const bool x_exact =
        same_block(cx, cx == 0 ? 0 : cx - 1) && same_block(cx, std::min(cx + 1, chroma_width - 1));
    const bool y_exact = !vertical || (same_block(cy, cy == 0 ? 0 : cy - 1) &&
                                       same_block(cy, std::min(cy + 1, chroma_height - 1)));
    return x_exact && y_exact;
}

// Fills `frame` with the pattern and returns the pixels it stands for.
std::vector<Yuv> fill_yuv(TestFrame& frame)
{
    const FrameInfo& info = frame.info;
    const bool packed_422 = info.format == PixelFormat::YUY2 || info.format == PixelFormat::UYVY;
    std::vector<Yuv> pixels(size_t{info.width} * info.height);
    for (uint32_t y = 0; y < info.height; ++y) {
        for (uint32_t x = 0; x < info.width; ++x) {
            Yuv pixel = pattern_chroma(x / 2, packed_422 ? y : y / 2);
            pixel.y = pattern_luma(x, y);
            pixels[size_t{y} * info.width + x] = pixel;
        }
    }

    const uint32_t chroma_width = (info.width + 1) / 2;
    switch (info.format) {
    case PixelFormat::I420:
    case PixelFormat::NV12:
        for (uint32_t y = 0; y < info.height; ++y) {
            for (uint32_t x = 0; x < info.width; ++x)
                frame.row(0, y)[x] = pattern_luma(x, y);
        }
        for (uint32_t y = 0; y < (info.height + 1) / 2; ++y) {
            for (uint32_t x = 0; x < chroma_width; ++x) {
                const Yuv chroma = pattern_chroma(x, y);
                if (info.format == PixelFormat::I420) {
                    frame.row(1, y)[x] = chroma.u;
                    frame.row(2, y)[x] = chroma.v;
                } else {
                    frame.row(1, y)[2 * x] = chroma.u;
                    frame.row(1, y)[2 * x + 1] = chroma.v;
                }
            }
        }
        break;
    case PixelFormat::YUY2:
    case PixelFormat::UYVY: {
        const bool yuy2 = info.format == PixelFormat::YUY2;
        for (uint32_t y = 0; y < info.height; ++y) {
            for (uint32_t x = 0; x < chroma_width; ++x) {
                uint8_t* quad = frame.row(0, y) + 4 * x;
                const Yuv chroma = pattern_chroma(x, y);
                const uint8_t luma[2] = {pattern_luma(2 * x, y), pattern_luma(2 * x + 1, y)};
                quad[yuy2 ? 0 : 1] = luma[0];
                quad[yuy2 ? 2 : 3] = luma[1];
                quad[yuy2 ? 1 : 0] = chroma.u;
                quad[yuy2 ? 3 : 2] = chroma.v;
            }
        }
        break;
    }
    default:
        ADD_FAILURE() << "not a YUV format: " << format_name(info.format);
    }
    return pixels;
}

int max_channel_difference(const cv::Vec3b& a, const cv::Vec3b& b)
{
    int worst = 0;
    for (int c = 0; c < 3; ++c)
        worst = std::max(worst, std::abs(int{a[c]} - int{b[c]}));
    return worst;
}

// Converts the pattern in `format` and compares every pixel whose chroma is known with the
// reference equations.
void expect_yuv_matches_reference(PixelFormat format, uint32_t width, uint32_t height,
                                  uint32_t padding, ColorMatrix matrix, ColorRange range,
                                  ColorMatrix expected_matrix, ColorRange expected_range)
{
    TestFrame frame(format, width, height, padding);
    frame.info.matrix = matrix;
    frame.info.range = range;
    const std::vector<Yuv> pixels = fill_yuv(frame);
    const cv::Mat out = frame.normalize();
    ASSERT_EQ(out.type(), CV_8UC3);
    ASSERT_EQ(out.size(), cv::Size(static_cast<int>(width), static_cast<int>(height)));
    uint32_t compared = 0;
    for (uint32_t y = 0; y < height; ++y) {
        for (uint32_t x = 0; x < width; ++x) {
            if (!chroma_is_exact(format, width, height, x, y))
                continue;
            ++compared;
            const Yuv yuv = pixels[size_t{y} * width + x];
            const cv::Vec3b expected = reference_rgb(yuv, expected_matrix, expected_range);
            const cv::Vec3b actual = out.at<cv::Vec3b>(static_cast<int>(y), static_cast<int>(x));
            EXPECT_LE(max_channel_difference(actual, expected), 3)
                << format_name(format) << " at (" << x << "," << y << ") YUV " << int{yuv.y} << ","
                << int{yuv.u} << "," << int{yuv.v} << ": got " << actual << ", expected "
                << expected;
        }
    }
    EXPECT_GE(4 * compared, width * height) << format_name(format) << ": too few pixels compared";
}

void expect_yuv_matches_reference(PixelFormat format, uint32_t width, uint32_t height,
                                  uint32_t padding, ColorMatrix matrix, ColorRange range)
{
    expect_yuv_matches_reference(format, width, height, padding, matrix, range, matrix, range);
}

constexpr PixelFormat kYuvFormats[] = {PixelFormat::I420, PixelFormat::NV12, PixelFormat::YUY2,
                                       PixelFormat::UYVY};

TEST(NormalizeYuv, Bt601LimitedAtOddSize)
{
    for (PixelFormat format : kYuvFormats)
        expect_yuv_matches_reference(format, 5, 3, 0, ColorMatrix::BT601, ColorRange::Limited);
}

TEST(NormalizeYuv, Bt601FullAtOddSize)
{
    for (PixelFormat format : kYuvFormats)
        expect_yuv_matches_reference(format, 5, 3, 0, ColorMatrix::BT601, ColorRange::Full);
}

TEST(NormalizeYuv, Bt709LimitedAtOddSize)
{
    for (PixelFormat format : kYuvFormats)
        expect_yuv_matches_reference(format, 5, 3, 0, ColorMatrix::BT709, ColorRange::Limited);
}

TEST(NormalizeYuv, Bt709Full)
{
    for (PixelFormat format : kYuvFormats)
        expect_yuv_matches_reference(format, 8, 4, 0, ColorMatrix::BT709, ColorRange::Full);
}

TEST(NormalizeYuv, Bt2020LimitedAndFull)
{
    for (PixelFormat format : kYuvFormats) {
        expect_yuv_matches_reference(format, 6, 4, 0, ColorMatrix::BT2020, ColorRange::Limited);
        expect_yuv_matches_reference(format, 6, 4, 0, ColorMatrix::BT2020, ColorRange::Full);
    }
}

TEST(NormalizeYuv, HonoursPaddedStridesAndPlaneOffsets)
{
    for (PixelFormat format : kYuvFormats)
        expect_yuv_matches_reference(format, 5, 3, 7, ColorMatrix::BT601, ColorRange::Limited);
}

TEST(NormalizeYuv, WiderThanOneSimdBlock)
{
    for (PixelFormat format : kYuvFormats)
        expect_yuv_matches_reference(format, 67, 5, 3, ColorMatrix::BT709, ColorRange::Limited);
}

// GStreamer's default when caps carry no colorimetry: BT.601 up to 576 lines, BT.709 above,
// limited range.
TEST(NormalizeYuv, UnspecifiedIsBt601LimitedUpTo576Lines)
{
    expect_yuv_matches_reference(PixelFormat::I420, 4, 576, 0, ColorMatrix::Unspecified,
                                 ColorRange::Unspecified, ColorMatrix::BT601, ColorRange::Limited);
}

TEST(NormalizeYuv, UnspecifiedIsBt709LimitedAbove576Lines)
{
    expect_yuv_matches_reference(PixelFormat::NV12, 4, 578, 0, ColorMatrix::Unspecified,
                                 ColorRange::Unspecified, ColorMatrix::BT709, ColorRange::Limited);
}

TEST(NormalizeYuv, UnspecifiedRangeIsLimited)
{
    expect_yuv_matches_reference(PixelFormat::YUY2, 6, 2, 0, ColorMatrix::BT709,
                                 ColorRange::Unspecified, ColorMatrix::BT709, ColorRange::Limited);
}

TEST(NormalizeYuv, Bt601LimitedTextbookValues)
{
    // 75% colour bars of BT.601: white, yellow, cyan, green, magenta, red, blue.
    const Yuv bars[] = {{180, 128, 128}, {162, 44, 142}, {131, 156, 44}, {112, 72, 58},
                        {84, 184, 198},  {65, 100, 212}, {35, 212, 114}};
    const cv::Vec3b rgb[] = {{191, 191, 191}, {191, 191, 0}, {0, 191, 191}, {0, 191, 0},
                             {191, 0, 191},   {191, 0, 0},   {0, 0, 191}};
    for (size_t i = 0; i < std::size(bars); ++i) {
        TestFrame frame(PixelFormat::I420, 2, 2);
        frame.info.matrix = ColorMatrix::BT601;
        frame.info.range = ColorRange::Limited;
        std::fill_n(frame.row(0, 0), 2, bars[i].y);
        std::fill_n(frame.row(0, 1), 2, bars[i].y);
        *frame.row(1, 0) = bars[i].u;
        *frame.row(2, 0) = bars[i].v;
        const cv::Mat out = frame.normalize();
        EXPECT_LE(max_channel_difference(out.at<cv::Vec3b>(1, 1), rgb[i]), 3)
            << "bar " << i << ": got " << out.at<cv::Vec3b>(1, 1) << ", expected " << rgb[i];
    }
}

// Large YUV frames are converted in bands on several threads; NV12's chroma is interpolated
// between rows, so where two bands meet is where a difference would show.
TEST(NormalizeYuv, BandsGiveTheBytesOfOneWholeFrameConversion)
{
    const cv::Size sizes[] = {{5, 3},     {2, 9},     {67, 10},   {64, 64},
                              {641, 481}, {640, 480}, {1001, 723}};
    for (PixelFormat format : kYuvFormats) {
        for (ColorRange range : {ColorRange::Full, ColorRange::Limited}) {
            for (const cv::Size& size : sizes) {
                TestFrame frame(format, static_cast<uint32_t>(size.width),
                                static_cast<uint32_t>(size.height), 3);
                frame.info.range = range;
                uint32_t state = 12345;
                for (uint8_t& byte : frame.bytes) {
                    state = state * 1664525u + 1013904223u;
                    byte = static_cast<uint8_t>(state >> 24);
                }
                cv::Mat whole;
                yuv_to_rgb(frame.info, frame.bytes.data(), whole, 1);
                for (int bands : {2, 3, 4, 7, 16}) {
                    cv::Mat banded;
                    yuv_to_rgb(frame.info, frame.bytes.data(), banded, bands);
                    ASSERT_EQ(banded.size(), whole.size());
                    for (int y = 0; y < whole.rows; ++y) {
                        ASSERT_EQ(cv::norm(banded.row(y), whole.row(y), cv::NORM_INF), 0)
                            << format_name(format) << " " << size
                            << (range == ColorRange::Full ? " full" : " limited") << " swing in "
                            << bands << " bands: row " << y;
                    }
                }
            }
        }
    }
}

// A w x h frame of a packed format whose every pixel is `pixel`.
template <size_t N>
TestFrame solid_frame(PixelFormat format, uint32_t width, uint32_t height, uint32_t padding,
                      const uint8_t (&pixel)[N])
{
    TestFrame frame(format, width, height, padding);
    for (uint32_t y = 0; y < height; ++y) {
        for (uint32_t x = 0; x < width; ++x)
            std::copy_n(pixel, N, frame.row(0, y) + N * x);
    }
    return frame;
}

void expect_every_pixel(const cv::Mat& out, cv::Vec3b expected)
{
    ASSERT_EQ(out.type(), CV_8UC3);
    for (int y = 0; y < out.rows; ++y) {
        for (int x = 0; x < out.cols; ++x)
            ASSERT_EQ(out.at<cv::Vec3b>(y, x), expected) << "at (" << x << "," << y << ")";
    }
}

TEST(NormalizePacked, RgbIsCopied)
{
    const uint8_t pixel[] = {10, 20, 30};
    const cv::Mat out = solid_frame(PixelFormat::RGB, 5, 3, 0, pixel).normalize();
    EXPECT_EQ(out.size(), cv::Size(5, 3));
    expect_every_pixel(out, {10, 20, 30});
}

TEST(NormalizePacked, BgrIsSwapped)
{
    const uint8_t pixel[] = {30, 20, 10};
    expect_every_pixel(solid_frame(PixelFormat::BGR, 5, 3, 0, pixel).normalize(), {10, 20, 30});
}

TEST(NormalizePacked, PaddedRowsAreSkipped)
{
    const uint8_t pixel[] = {30, 20, 10};
    expect_every_pixel(solid_frame(PixelFormat::BGR, 5, 3, 5, pixel).normalize(), {10, 20, 30});
    expect_every_pixel(solid_frame(PixelFormat::RGB, 5, 3, 5, pixel).normalize(), {30, 20, 10});
}

TEST(NormalizePacked, UnorderedFollowsTheReadersColorOrder)
{
    const uint8_t pixel[] = {10, 20, 30};
    const TestFrame frame = solid_frame(PixelFormat::Rgb3Unordered, 4, 2, 2, pixel);
    expect_every_pixel(frame.normalize(ColorOrder::RGB), {10, 20, 30});
    expect_every_pixel(frame.normalize(ColorOrder::BGR), {30, 20, 10});
}

TEST(NormalizePacked, KnownFormatsIgnoreTheReadersColorOrder)
{
    const uint8_t pixel[] = {10, 20, 30};
    expect_every_pixel(solid_frame(PixelFormat::RGB, 4, 2, 0, pixel).normalize(ColorOrder::BGR),
                       {10, 20, 30});
}

TEST(NormalizePacked, AlphaAndPaddingChannelsAreDropped)
{
    const uint8_t rgba[] = {10, 20, 30, 40};
    const uint8_t bgra[] = {30, 20, 10, 40};
    expect_every_pixel(solid_frame(PixelFormat::RGBA, 5, 3, 4, rgba).normalize(), {10, 20, 30});
    expect_every_pixel(solid_frame(PixelFormat::RGBx, 5, 3, 0, rgba).normalize(), {10, 20, 30});
    expect_every_pixel(solid_frame(PixelFormat::BGRA, 5, 3, 4, bgra).normalize(), {10, 20, 30});
    expect_every_pixel(solid_frame(PixelFormat::BGRx, 5, 3, 0, bgra).normalize(), {10, 20, 30});
}

TEST(NormalizeGray, Gray8IsExpandedToThreeChannels)
{
    TestFrame frame(PixelFormat::GRAY8, 5, 3, 3);
    for (uint32_t y = 0; y < 3; ++y) {
        for (uint32_t x = 0; x < 5; ++x)
            frame.row(0, y)[x] = static_cast<uint8_t>(y * 5 + x);
    }
    const cv::Mat out = frame.normalize();
    for (int y = 0; y < 3; ++y) {
        for (int x = 0; x < 5; ++x) {
            const auto value = static_cast<uint8_t>(y * 5 + x);
            EXPECT_EQ(out.at<cv::Vec3b>(y, x), cv::Vec3b(value, value, value));
        }
    }
}

TEST(NormalizeGray, Gray16IsShiftedRightByEightBitsExactly)
{
    // Every 16-bit value once, in 256 rows of 256 samples, rows padded by 6 bytes.
    TestFrame frame(PixelFormat::GRAY16_LE, 256, 256, 6);
    for (uint32_t y = 0; y < 256; ++y) {
        for (uint32_t x = 0; x < 256; ++x) {
            const uint32_t value = y * 256 + x;
            frame.row(0, y)[2 * x] = static_cast<uint8_t>(value & 0xff);
            frame.row(0, y)[2 * x + 1] = static_cast<uint8_t>(value >> 8);
        }
    }
    const cv::Mat out = frame.normalize();
    for (int y = 0; y < 256; ++y) {
        for (int x = 0; x < 256; ++x) {
            const auto value = static_cast<uint8_t>(y);
            ASSERT_EQ(out.at<cv::Vec3b>(y, x), cv::Vec3b(value, value, value))
                << "sample " << y * 256 + x;
        }
    }
}

// A 12-bit camera's samples (0..4095 in 16-bit words) span the whole 8-bit range.
TEST(NormalizeGray, Gray16IsScaledByItsSignificantBits)
{
    for (uint32_t bits : {12u, 10u, 4u}) {
        TestFrame frame(PixelFormat::GRAY16_LE, 3, 1, 0);
        const uint32_t max = (1u << bits) - 1;
        const uint32_t values[] = {0, max / 2 + 1, max};
        for (uint32_t x = 0; x < 3; ++x) {
            frame.row(0, 0)[2 * x] = static_cast<uint8_t>(values[x] & 0xff);
            frame.row(0, 0)[2 * x + 1] = static_cast<uint8_t>(values[x] >> 8);
        }
        frame.info.bit_depth = bits;
        const cv::Mat out = frame.normalize();
        EXPECT_EQ(out.at<cv::Vec3b>(0, 0)[0], 0) << bits << " bits";
        EXPECT_NEAR(out.at<cv::Vec3b>(0, 1)[0], 128, 8) << bits << " bits";
        EXPECT_EQ(out.at<cv::Vec3b>(0, 2), cv::Vec3b(255, 255, 255)) << bits << " bits";
    }
}

// A mosaic of a solid colour as a sensor with `pattern` ("rggb": R G on even rows, G B on odd
// rows, GStreamer's naming) would record it.
TestFrame bayer_mosaic(PixelFormat format, const char* pattern, cv::Vec3b rgb)
{
    constexpr uint32_t kSize = 8;
    TestFrame frame(format, kSize, kSize, 2);
    for (uint32_t y = 0; y < kSize; ++y) {
        for (uint32_t x = 0; x < kSize; ++x) {
            const char colour = pattern[(y % 2) * 2 + x % 2];
            frame.row(0, y)[x] = colour == 'r' ? rgb[0] : colour == 'g' ? rgb[1] : rgb[2];
        }
    }
    return frame;
}

TEST(NormalizeBayer, SolidColourSurvivesEachPattern)
{
    const struct
    {
        PixelFormat format;
        const char* pattern;
    } patterns[] = {{PixelFormat::BayerRGGB, "rggb"},
                    {PixelFormat::BayerBGGR, "bggr"},
                    {PixelFormat::BayerGRBG, "grbg"},
                    {PixelFormat::BayerGBRG, "gbrg"}};
    const cv::Vec3b colour(200, 100, 40);
    for (const auto& p : patterns) {
        const cv::Mat out = bayer_mosaic(p.format, p.pattern, colour).normalize();
        ASSERT_EQ(out.size(), cv::Size(8, 8));
        for (int y = 1; y < 7; ++y) {
            for (int x = 1; x < 7; ++x) {
                EXPECT_EQ(out.at<cv::Vec3b>(y, x), colour)
                    << p.pattern << " at (" << x << "," << y << ")";
            }
        }
    }
}

cv::Mat test_picture()
{
    // Smooth gradients: JPEG keeps them within a few levels.
    cv::Mat bgr(48, 64, CV_8UC3);
    for (int y = 0; y < bgr.rows; ++y) {
        for (int x = 0; x < bgr.cols; ++x)
            bgr.at<cv::Vec3b>(y, x) =
                cv::Vec3b(static_cast<uint8_t>(40 + 2 * x), static_cast<uint8_t>(60 + 3 * y),
                          static_cast<uint8_t>(200 - x - y));
    }
    return bgr;
}

FrameInfo encoded_info(PixelFormat format, const std::vector<uint8_t>& bytes)
{
    return packed_frame_info(format, static_cast<uint32_t>(bytes.size()), 1);
}

TEST(NormalizeEncoded, PngDecodesExactly)
{
    const cv::Mat bgr = test_picture();
    std::vector<uint8_t> png;
    ASSERT_TRUE(cv::imencode(".png", bgr, png));
    cv::Mat expected;
    cv::cvtColor(bgr, expected, cv::COLOR_BGR2RGB);

    for (PixelFormat format : {PixelFormat::Png, PixelFormat::Encoded}) {
        cv::Mat out;
        normalize_to_rgb(encoded_info(format, png), png.data(), out);
        ASSERT_EQ(out.type(), CV_8UC3);
        EXPECT_EQ(cv::norm(out, expected, cv::NORM_INF), 0) << format_name(format);
    }
}

TEST(NormalizeEncoded, JpegRoundTripsWithinTolerance)
{
    const cv::Mat bgr = test_picture();
    std::vector<uint8_t> jpeg;
    ASSERT_TRUE(cv::imencode(".jpg", bgr, jpeg, {cv::IMWRITE_JPEG_QUALITY, 95}));
    cv::Mat expected;
    cv::cvtColor(bgr, expected, cv::COLOR_BGR2RGB);

    cv::Mat out;
    normalize_to_rgb(encoded_info(PixelFormat::Jpeg, jpeg), jpeg.data(), out);
    ASSERT_EQ(out.size(), expected.size());
    ASSERT_EQ(out.type(), CV_8UC3);
    EXPECT_LE(cv::norm(out, expected, cv::NORM_INF), 8);
}

TEST(NormalizeEncoded, GarbageBytesAreADecodeError)
{
    std::vector<uint8_t> garbage(1000);
    for (size_t i = 0; i < garbage.size(); ++i)
        garbage[i] = static_cast<uint8_t>(i * 7 + 3);
    cv::Mat out;
    for (PixelFormat format : {PixelFormat::Jpeg, PixelFormat::Png, PixelFormat::Encoded})
        EXPECT_THROW(normalize_to_rgb(encoded_info(format, garbage), garbage.data(), out),
                     DecodeError);
}

TEST(NormalizeEncoded, TruncatedPngIsADecodeError)
{
    std::vector<uint8_t> png;
    ASSERT_TRUE(cv::imencode(".png", test_picture(), png));
    png.resize(40);
    cv::Mat out;
    EXPECT_THROW(normalize_to_rgb(encoded_info(PixelFormat::Png, png), png.data(), out),
                 DecodeError);
}

// Guards against decompression bombs: a few bytes declaring an image larger than any frame.
TEST(NormalizeEncoded, PngDeclaringHugeDimensionsIsRefusedBeforeDecoding)
{
    std::vector<uint8_t> png;
    ASSERT_TRUE(cv::imencode(".png", test_picture(), png));
    // IHDR width, big-endian, at byte 16: 0x00100000 = 1048576 columns.
    png[16] = 0x00;
    png[17] = 0x10;
    png[18] = 0x00;
    png[19] = 0x00;
    cv::Mat out;
    EXPECT_THROW(normalize_to_rgb(encoded_info(PixelFormat::Png, png), png.data(), out),
                 DecodeError);
}

TEST(NormalizeEncoded, JpegDeclaringHugeDimensionsIsRefusedBeforeDecoding)
{
    std::vector<uint8_t> jpeg;
    ASSERT_TRUE(cv::imencode(".jpg", test_picture(), jpeg));
    // 65535 x 65535 fits each dimension but not the decoded size limit.
    bool patched = false;
    for (size_t i = 2; i + 9 <= jpeg.size() && !patched; ++i) {
        if (jpeg[i] == 0xff && (jpeg[i + 1] == 0xc0 || jpeg[i + 1] == 0xc2)) {
            std::fill_n(jpeg.begin() + static_cast<std::ptrdiff_t>(i) + 5, 4, uint8_t{0xff});
            patched = true;
        }
    }
    ASSERT_TRUE(patched);
    cv::Mat out;
    EXPECT_THROW(normalize_to_rgb(encoded_info(PixelFormat::Jpeg, jpeg), jpeg.data(), out),
                 DecodeError);
}

// Guards a bug: junk bytes between two markers made the old hand-written header scan give up,
// and the image decoded to 33000x32000 (6 GB) anyway. The decoder's own header parse skips
// junk as the decoder does.
TEST(NormalizeEncoded, JpegWithJunkBeforeItsFrameHeaderIsStillBounded)
{
    std::vector<uint8_t> jpeg;
    ASSERT_TRUE(cv::imencode(".jpg", test_picture(), jpeg));
    ASSERT_EQ(jpeg[2], 0xff);
    ASSERT_EQ(jpeg[3], 0xe0); // APP0
    const size_t after_app0 = 4 + (size_t{jpeg[4]} << 8 | jpeg[5]);
    jpeg.insert(jpeg.begin() + static_cast<std::ptrdiff_t>(after_app0), {0x12, 0x34, 0x56});
    bool patched = false;
    for (size_t i = after_app0 + 3; i + 9 <= jpeg.size() && !patched; ++i) {
        if (jpeg[i] == 0xff && (jpeg[i + 1] == 0xc0 || jpeg[i + 1] == 0xc2)) {
            const uint8_t size[] = {0x7d, 0x00, 0x80, 0xe8}; // 32000 rows, 33000 columns
            std::copy_n(size, 4, jpeg.begin() + static_cast<std::ptrdiff_t>(i) + 5);
            patched = true;
        }
    }
    ASSERT_TRUE(patched);
    cv::Mat out;
    try {
        normalize_to_rgb(encoded_info(PixelFormat::Jpeg, jpeg), jpeg.data(), out);
        FAIL() << "decoded a " << out.cols << "x" << out.rows << " bomb";
    } catch (const DecodeError& error) {
        EXPECT_NE(std::string(error.what()).find("33000x32000"), std::string::npos) << error.what();
    }
    EXPECT_TRUE(out.empty()) << "pixel memory was allocated before the size was checked";
}

TEST(NormalizeEncoded, EncodedBytesOfAnotherContainerAreADecodeError)
{
    std::vector<uint8_t> bmp;
    ASSERT_TRUE(cv::imencode(".bmp", test_picture(), bmp));
    cv::Mat out;
    EXPECT_THROW(normalize_to_rgb(encoded_info(PixelFormat::Encoded, bmp), bmp.data(), out),
                 DecodeError);
}

TEST(NormalizeGeometry, InconsistentFramesAreInvalidArguments)
{
    const uint8_t pixel[] = {1, 2, 3};
    const TestFrame frame = solid_frame(PixelFormat::RGB, 4, 4, 0, pixel);
    std::vector<std::function<void(FrameInfo&)>> breakages = {
        [](FrameInfo& info) { info.strides[0] = 11; },
        [](FrameInfo& info) { info.plane_offsets[0] = 1; },
        [](FrameInfo& info) { info.width = kMaxDimension + 1; },
        [](FrameInfo& info) { info.height = 0xffffffffu; },
        [](FrameInfo& info) { info.plane_count = 0; },
        [](FrameInfo& info) { info.format = PixelFormat::Unknown; },
    };
    for (size_t i = 0; i < breakages.size(); ++i) {
        FrameInfo info = frame.info;
        breakages[i](info);
        cv::Mat out;
        EXPECT_THROW(normalize_to_rgb(info, frame.bytes.data(), out), std::invalid_argument)
            << "breakage " << i;
    }
}

TEST(NormalizeGeometry, ChromaPlaneBeyondThePayloadIsAnInvalidArgument)
{
    TestFrame frame(PixelFormat::I420, 4, 4);
    frame.info.plane_offsets[2] = frame.info.payload_size - 1;
    cv::Mat out;
    EXPECT_THROW(normalize_to_rgb(frame.info, frame.bytes.data(), out), std::invalid_argument);
}

TEST(NormalizeGeometry, NullPayloadIsAnInvalidArgument)
{
    const FrameInfo info = packed_frame_info(PixelFormat::GRAY8, 2, 2);
    cv::Mat out;
    EXPECT_THROW(normalize_to_rgb(info, nullptr, out), std::invalid_argument);
}

TEST(NormalizeOutput, SameSizedOutputIsReused)
{
    TestFrame frame(PixelFormat::NV12, 6, 4);
    fill_yuv(frame);
    cv::Mat out;
    normalize_to_rgb(frame.info, frame.bytes.data(), out);
    const uint8_t* first = out.data;
    normalize_to_rgb(frame.info, frame.bytes.data(), out);
    EXPECT_EQ(out.data, first);
}

TEST(ColorOrderFromName, AcceptsRgbAndBgrInAnyCase)
{
    EXPECT_EQ(color_order_from_name("RGB"), ColorOrder::RGB);
    EXPECT_EQ(color_order_from_name("bgr"), ColorOrder::BGR);
    EXPECT_EQ(color_order_from_name("Bgr"), ColorOrder::BGR);
    EXPECT_THROW(color_order_from_name("RGBA"), std::invalid_argument);
    EXPECT_THROW(color_order_from_name(""), std::invalid_argument);
}

} // namespace
} // namespace pvshm
