// SPDX-License-Identifier: LGPL-2.1-or-later
// Format names, packed frame layouts and the geometry check that guards against hostile segments.
#include <cstdint>
#include <gtest/gtest.h>
#include <limits>
#include <stdexcept>

#include <pvshm/format.hpp>
#include <pvshm/frame.hpp>

namespace pvshm {
namespace {

constexpr uint32_t kLastFormat = static_cast<uint32_t>(PixelFormat::Encoded);

TEST(FormatName, RoundTripsEveryEnumerator)
{
    for (uint32_t value = 0; value <= kLastFormat; ++value) {
        const auto format = static_cast<PixelFormat>(value);
        const auto parsed = format_from_name(format_name(format));
        ASSERT_TRUE(parsed.has_value()) << value;
        EXPECT_EQ(*parsed, format) << format_name(format);
    }
}

TEST(FormatName, NamesAreTheDocumentedOnes)
{
    EXPECT_EQ(format_name(PixelFormat::Unknown), "unknown");
    EXPECT_EQ(format_name(PixelFormat::GRAY16_LE), "GRAY16_LE");
    EXPECT_EQ(format_name(PixelFormat::BayerGBRG), "bayer-gbrg");
    EXPECT_EQ(format_name(PixelFormat::Rgb3Unordered), "rgb3-unordered");
    EXPECT_EQ(format_name(PixelFormat::Encoded), "encoded");
}

TEST(FormatName, ValueFromASegmentBeyondTheEnumIsUnknown)
{
    EXPECT_EQ(format_name(static_cast<PixelFormat>(kLastFormat + 1)), "unknown");
    EXPECT_EQ(format_name(static_cast<PixelFormat>(0xffffffffu)), "unknown");
}

TEST(FormatName, UnknownNamesAndWrongCaseAreRejected)
{
    EXPECT_FALSE(format_from_name("").has_value());
    EXPECT_FALSE(format_from_name("rgb").has_value());
    EXPECT_FALSE(format_from_name("NV21").has_value());
}

TEST(IsEncoded, OnlyJpegPngAndEncoded)
{
    for (uint32_t value = 0; value <= kLastFormat; ++value) {
        const auto format = static_cast<PixelFormat>(value);
        const bool expected = format == PixelFormat::Jpeg || format == PixelFormat::Png ||
                              format == PixelFormat::Encoded;
        EXPECT_EQ(is_encoded(format), expected) << format_name(format);
    }
}

struct PackedCase
{
    PixelFormat format;
    uint32_t plane_count;
    uint32_t strides[3];
    uint64_t offsets[3];
    uint64_t payload_size;
};

// 5x3: odd in both directions, so chroma planes round up to 3x2.
TEST(PackedFrameInfo, LaysOutEachFormatTightly)
{
    const PackedCase cases[] = {
        {PixelFormat::RGB, 1, {15}, {0}, 45},
        {PixelFormat::BGR, 1, {15}, {0}, 45},
        {PixelFormat::Rgb3Unordered, 1, {15}, {0}, 45},
        {PixelFormat::RGBA, 1, {20}, {0}, 60},
        {PixelFormat::BGRA, 1, {20}, {0}, 60},
        {PixelFormat::RGBx, 1, {20}, {0}, 60},
        {PixelFormat::BGRx, 1, {20}, {0}, 60},
        {PixelFormat::GRAY8, 1, {5}, {0}, 15},
        {PixelFormat::GRAY16_LE, 1, {10}, {0}, 30},
        {PixelFormat::BayerRGGB, 1, {5}, {0}, 15},
        {PixelFormat::BayerBGGR, 1, {5}, {0}, 15},
        {PixelFormat::BayerGRBG, 1, {5}, {0}, 15},
        {PixelFormat::BayerGBRG, 1, {5}, {0}, 15},
        {PixelFormat::YUY2, 1, {12}, {0}, 36},
        {PixelFormat::UYVY, 1, {12}, {0}, 36},
        {PixelFormat::NV12, 2, {5, 6}, {0, 15}, 27},
        {PixelFormat::I420, 3, {5, 3, 3}, {0, 15, 21}, 27},
    };
    for (const PackedCase& expected : cases) {
        SCOPED_TRACE(format_name(expected.format));
        const FrameInfo info = packed_frame_info(expected.format, 5, 3);
        EXPECT_EQ(info.width, 5u);
        EXPECT_EQ(info.height, 3u);
        EXPECT_EQ(info.format, expected.format);
        ASSERT_EQ(info.plane_count, expected.plane_count);
        for (uint32_t i = 0; i < info.plane_count; ++i) {
            EXPECT_EQ(info.strides[i], expected.strides[i]) << "plane " << i;
            EXPECT_EQ(info.plane_offsets[i], expected.offsets[i]) << "plane " << i;
        }
        EXPECT_EQ(info.payload_size, expected.payload_size);
        EXPECT_EQ(frame_geometry_problem(info), "");
    }
}

TEST(PackedFrameInfo, EncodedFormatsTakeTheByteCountAsWidth)
{
    for (PixelFormat format : {PixelFormat::Jpeg, PixelFormat::Png, PixelFormat::Encoded}) {
        const FrameInfo info = packed_frame_info(format, 123456, 1);
        EXPECT_EQ(info.plane_count, 1u);
        EXPECT_EQ(info.strides[0], 0u);
        EXPECT_EQ(info.payload_size, 123456u);
        EXPECT_EQ(frame_geometry_problem(info), "");
    }
}

TEST(PackedFrameInfo, RejectsDimensionsBeyondTheLimit)
{
    EXPECT_THROW(packed_frame_info(PixelFormat::GRAY8, kMaxDimension + 1, 1),
                 std::invalid_argument);
    EXPECT_THROW(packed_frame_info(PixelFormat::GRAY8, 1, kMaxDimension + 1),
                 std::invalid_argument);
}

TEST(PackedFrameInfo, RejectsPayloadsBeyondTheLimit)
{
    // 65535 x 65535 x 4 bytes is 16 GiB: the dimensions are valid, the size is not.
    EXPECT_THROW(packed_frame_info(PixelFormat::RGBA, kMaxDimension, kMaxDimension),
                 std::invalid_argument);
    EXPECT_THROW(packed_frame_info(PixelFormat::Jpeg, 1u << 20, (1u << 10) + 1),
                 std::invalid_argument);
}

TEST(PackedFrameInfo, RejectsUnknownFormat)
{
    EXPECT_THROW(packed_frame_info(PixelFormat::Unknown, 4, 4), std::invalid_argument);
    EXPECT_THROW(packed_frame_info(static_cast<PixelFormat>(999), 4, 4), std::invalid_argument);
}

TEST(FrameGeometryProblem, AcceptsPaddedStridesAndGapsBetweenPlanes)
{
    FrameInfo info = packed_frame_info(PixelFormat::I420, 5, 3);
    info.strides = {8, 4, 4};
    info.plane_offsets = {0, 32, 48};
    info.payload_size = 48 + 4 + 3;
    EXPECT_EQ(frame_geometry_problem(info), "");
}

TEST(FrameGeometryProblem, RejectsUnknownFormat)
{
    FrameInfo info = packed_frame_info(PixelFormat::GRAY8, 4, 4);
    info.format = static_cast<PixelFormat>(77);
    EXPECT_NE(frame_geometry_problem(info), "");
}

TEST(FrameGeometryProblem, RejectsWrongPlaneCount)
{
    FrameInfo info = packed_frame_info(PixelFormat::NV12, 4, 4);
    info.plane_count = 0;
    EXPECT_NE(frame_geometry_problem(info), "");
    info.plane_count = 1;
    EXPECT_NE(frame_geometry_problem(info), "");
    info.plane_count = 3;
    EXPECT_NE(frame_geometry_problem(info), "");
}

TEST(FrameGeometryProblem, RejectsZeroAndHugeDimensions)
{
    FrameInfo info = packed_frame_info(PixelFormat::GRAY8, 4, 4);
    info.width = 0;
    EXPECT_NE(frame_geometry_problem(info), "");
    info.width = kMaxDimension + 1;
    EXPECT_NE(frame_geometry_problem(info), "");
    info.width = 4;
    info.height = 0;
    EXPECT_NE(frame_geometry_problem(info), "");
}

TEST(FrameGeometryProblem, RejectsStrideShorterThanARow)
{
    FrameInfo info = packed_frame_info(PixelFormat::RGB, 5, 3);
    info.strides[0] = 14;
    EXPECT_NE(frame_geometry_problem(info), "");

    info = packed_frame_info(PixelFormat::I420, 5, 3);
    info.strides[2] = 2; // the V plane needs 3 bytes a row
    EXPECT_NE(frame_geometry_problem(info), "");
}

TEST(FrameGeometryProblem, RejectsPlaneEndingOneBytePastThePayload)
{
    FrameInfo info = packed_frame_info(PixelFormat::NV12, 5, 3);
    info.payload_size -= 1;
    EXPECT_NE(frame_geometry_problem(info), "");
}

TEST(FrameGeometryProblem, RejectsPlaneStartingBeyondThePayload)
{
    FrameInfo info = packed_frame_info(PixelFormat::I420, 4, 4);
    info.plane_offsets[1] = info.payload_size + 1;
    EXPECT_NE(frame_geometry_problem(info), "");
}

TEST(FrameGeometryProblem, RejectsOffsetsThatWouldOverflow)
{
    FrameInfo info = packed_frame_info(PixelFormat::I420, 4, 4);
    info.plane_offsets[2] = std::numeric_limits<uint64_t>::max() - 1;
    EXPECT_NE(frame_geometry_problem(info), "");
}

TEST(FrameGeometryProblem, RejectsStridesThatReachPastThePayload)
{
    FrameInfo info = packed_frame_info(PixelFormat::GRAY8, 4, 4);
    info.strides[0] = std::numeric_limits<uint32_t>::max();
    EXPECT_NE(frame_geometry_problem(info), "");
}

TEST(FrameGeometryProblem, RejectsHugeStrideOnASingleRowPlane)
{
    // One row never multiplies the stride, yet consumers take the stride as an int.
    FrameInfo info = packed_frame_info(PixelFormat::GRAY8, 4, 1);
    info.strides[0] = std::numeric_limits<uint32_t>::max();
    EXPECT_NE(frame_geometry_problem(info), "");
}

TEST(FrameGeometryProblem, RejectsPayloadSizeBeyondTheLimit)
{
    FrameInfo info = packed_frame_info(PixelFormat::GRAY8, 4, 4);
    info.payload_size = kMaxPayloadSize + 1;
    EXPECT_NE(frame_geometry_problem(info), "");
}

TEST(FrameGeometryProblem, RejectsOddStrideForSixteenBitSamples)
{
    FrameInfo info = packed_frame_info(PixelFormat::GRAY16_LE, 4, 2);
    info.strides[0] = 9;
    info.payload_size = 32;
    EXPECT_NE(frame_geometry_problem(info), "");
}

TEST(FrameGeometryProblem, EncodedNeedsANonEmptyPayloadWithinTheLimit)
{
    FrameInfo info = packed_frame_info(PixelFormat::Png, 100, 1);
    info.payload_size = 0;
    EXPECT_NE(frame_geometry_problem(info), "");
    info.payload_size = kMaxPayloadSize + 1;
    EXPECT_NE(frame_geometry_problem(info), "");
    info.payload_size = kMaxPayloadSize;
    EXPECT_EQ(frame_geometry_problem(info), "");
}

} // namespace
} // namespace pvshm
