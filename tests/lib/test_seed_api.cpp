// SPDX-License-Identifier: LGPL-2.1-or-later
// The four seed functions, case by case as the contract states them.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <pvshm/pvshm.hpp>

#include "test_ids.hpp"

namespace {

pvshm::ImageMeta meta(int width, int height, const std::string& color_space = "RGB")
{
    pvshm::ImageMeta m;
    m.width = width;
    m.height = height;
    m.color_space = color_space;
    return m;
}

bool same(const cv::Mat& a, const cv::Mat& b)
{
    return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0;
}

bool all_zero(const cv::Mat& image)
{
    return cv::countNonZero(image.reshape(1)) == 0;
}

cv::Mat gradient(int width, int height)
{
    cv::Mat image(height, width, CV_8UC3);
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x)
            image.at<cv::Vec3b>(y, x) = cv::Vec3b(x * 7, y * 11, (x + y) * 3);
    return image;
}

class SeedApi : public ::testing::Test
{
protected:
    void TearDown() override
    {
        pvshm::dev_clear_shared_memory(id);
        EXPECT_TRUE(pvshm::test::segment_absent(id));
    }

    const std::string id = pvshm::test::unique_id();
};

} // namespace

TEST_F(SeedApi, NonPositiveSizeReturnsAnEmptyMat)
{
    pvshm::write_image_array_to_shared_memory(id, gradient(4, 4));
    EXPECT_TRUE(pvshm::read_image_from_shared_memory(id, meta(0, 4)).empty());
    EXPECT_TRUE(pvshm::read_image_from_shared_memory(id, meta(4, 0)).empty());
    EXPECT_TRUE(pvshm::read_image_from_shared_memory(id, meta(-1, -1)).empty());
    EXPECT_TRUE(pvshm::read_image_from_shared_memory(id, pvshm::ImageMeta{}).empty());
}

TEST_F(SeedApi, MissingIdGivesZerosOfTheRequestedSize)
{
    const cv::Mat image = pvshm::read_image_from_shared_memory(id, meta(7, 5));
    EXPECT_EQ(image.size(), cv::Size(7, 5));
    EXPECT_EQ(image.type(), CV_8UC3);
    EXPECT_TRUE(all_zero(image));
}

TEST_F(SeedApi, RgbPassesThroughUnchanged)
{
    const cv::Mat image = gradient(33, 17);
    pvshm::write_image_array_to_shared_memory(id, image);
    EXPECT_TRUE(same(pvshm::read_image_from_shared_memory(id, meta(33, 17)), image));
}

TEST_F(SeedApi, BgrColorSpaceIsConvertedToRgb)
{
    const cv::Mat bgr = gradient(9, 6);
    pvshm::write_image_array_to_shared_memory(id, bgr);
    cv::Mat rgb;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    EXPECT_TRUE(same(pvshm::read_image_from_shared_memory(id, meta(9, 6, "BGR")), rgb));
}

TEST_F(SeedApi, GrayArraysExpandToThreeChannels)
{
    cv::Mat gray(4, 6, CV_8UC1);
    for (int i = 0; i < 24; ++i)
        gray.data[i] = static_cast<uint8_t>(i * 10);
    cv::Mat expected;
    cv::cvtColor(gray, expected, cv::COLOR_GRAY2RGB);
    pvshm::write_image_array_to_shared_memory(id, gray);
    EXPECT_TRUE(same(pvshm::read_image_from_shared_memory(id, meta(6, 4)), expected));
    const int shape[] = {4, 6, 1};
    const cv::Mat gray3d(3, shape, CV_8U, gray.data);
    pvshm::write_image_array_to_shared_memory(id, gray3d);
    EXPECT_TRUE(same(pvshm::read_image_from_shared_memory(id, meta(6, 4)), expected));
}

TEST_F(SeedApi, NonContinuousArraysAreWrittenRowByRow)
{
    const cv::Mat big = gradient(40, 30);
    const cv::Mat roi = big(cv::Rect(5, 3, 20, 10));
    ASSERT_FALSE(roi.isContinuous());
    pvshm::write_image_array_to_shared_memory(id, roi);
    EXPECT_TRUE(same(pvshm::read_image_from_shared_memory(id, meta(20, 10)), roi));
}

TEST_F(SeedApi, OtherArrayTypesAreRejected)
{
    EXPECT_THROW(pvshm::write_image_array_to_shared_memory(id, cv::Mat(4, 4, CV_16UC3)),
                 std::invalid_argument);
    EXPECT_THROW(pvshm::write_image_array_to_shared_memory(id, cv::Mat(4, 4, CV_8UC4)),
                 std::invalid_argument);
    EXPECT_THROW(pvshm::write_image_array_to_shared_memory(id, cv::Mat(4, 4, CV_32FC1)),
                 std::invalid_argument);
    EXPECT_THROW(pvshm::write_image_array_to_shared_memory(id, cv::Mat()), std::invalid_argument);
}

TEST_F(SeedApi, FrameSizeWinsOverImageMeta)
{
    const cv::Mat image = gradient(12, 8);
    pvshm::write_image_array_to_shared_memory(id, image);
    EXPECT_TRUE(same(pvshm::read_image_from_shared_memory(id, meta(640, 480)), image));
}

TEST_F(SeedApi, FramesOfDifferentSizesFollowEachOther)
{
    pvshm::write_image_array_to_shared_memory(id, gradient(8, 8));
    const cv::Mat big = gradient(1920, 1080);
    pvshm::write_image_array_to_shared_memory(id, big);
    EXPECT_TRUE(same(pvshm::read_image_from_shared_memory(id, meta(1920, 1080)), big));
    const cv::Mat small = gradient(3, 2);
    pvshm::write_image_array_to_shared_memory(id, small);
    EXPECT_TRUE(same(pvshm::read_image_from_shared_memory(id, meta(3, 2)), small));
}

TEST_F(SeedApi, PngBytesDecodeExactly)
{
    const cv::Mat rgb = gradient(21, 13);
    cv::Mat bgr;
    cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
    std::vector<uint8_t> png;
    ASSERT_TRUE(cv::imencode(".png", bgr, png));
    pvshm::dev_write_image_to_shared_memory(id, png);
    EXPECT_TRUE(same(pvshm::read_image_from_shared_memory(id, meta(21, 13)), rgb));
}

TEST_F(SeedApi, JpegBytesDecodeWithinTolerance)
{
    cv::Mat bgr(48, 64, CV_8UC3, cv::Scalar(30, 120, 220)); // B, G, R
    std::vector<uint8_t> jpeg;
    ASSERT_TRUE(cv::imencode(".jpg", bgr, jpeg, {cv::IMWRITE_JPEG_QUALITY, 95}));
    pvshm::dev_write_image_to_shared_memory(id, jpeg);
    const cv::Mat image = pvshm::read_image_from_shared_memory(id, meta(64, 48));
    ASSERT_EQ(image.size(), cv::Size(64, 48));
    const cv::Vec3b pixel = image.at<cv::Vec3b>(20, 30);
    EXPECT_NEAR(pixel[0], 220, 4);
    EXPECT_NEAR(pixel[1], 120, 4);
    EXPECT_NEAR(pixel[2], 30, 4);
}

TEST_F(SeedApi, UndecodableBytesGiveZeros)
{
    pvshm::dev_write_image_to_shared_memory(id, {'n', 'o', 't', ' ', 'a', 'n', ' ', 'i', 'm', 'g'});
    const cv::Mat image = pvshm::read_image_from_shared_memory(id, meta(10, 6));
    EXPECT_EQ(image.size(), cv::Size(10, 6));
    EXPECT_TRUE(all_zero(image));
    const std::vector<uint8_t> truncated_jpeg = {0xff, 0xd8, 0xff, 0xe0, 0, 16, 'J', 'F'};
    pvshm::dev_write_image_to_shared_memory(id, truncated_jpeg);
    EXPECT_TRUE(all_zero(pvshm::read_image_from_shared_memory(id, meta(10, 6))));
}

TEST_F(SeedApi, ClearRemovesTheSegmentAndIsQuietWhenAbsent)
{
    pvshm::write_image_array_to_shared_memory(id, gradient(4, 4));
    EXPECT_FALSE(pvshm::test::segment_absent(id));
    pvshm::dev_clear_shared_memory(id);
    EXPECT_TRUE(pvshm::test::segment_absent(id));
    EXPECT_TRUE(all_zero(pvshm::read_image_from_shared_memory(id, meta(4, 4))));
    EXPECT_NO_THROW(pvshm::dev_clear_shared_memory(id));
    // Writing after a clear creates the segment again.
    pvshm::write_image_array_to_shared_memory(id, gradient(4, 4));
    EXPECT_TRUE(same(pvshm::read_image_from_shared_memory(id, meta(4, 4)), gradient(4, 4)));
}

// An OpenCV algorithm's BGR result, written as BGR, reads as RGB whatever the reader assumes.
TEST_F(SeedApi, ArrayWrittenWithItsColorOrderIgnoresTheReadersAssumption)
{
    const cv::Mat bgr = gradient(6, 4);
    cv::Mat rgb;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    pvshm::write_image_array_to_shared_memory(id, bgr, "BGR");
    EXPECT_TRUE(same(pvshm::read_image_from_shared_memory(id, meta(6, 4, "RGB")), rgb));
    EXPECT_TRUE(same(pvshm::read_image_from_shared_memory(id, meta(6, 4, "BGR")), rgb));
    pvshm::write_image_array_to_shared_memory(id, rgb, "rgb");
    EXPECT_TRUE(same(pvshm::read_image_from_shared_memory(id, meta(6, 4, "BGR")), rgb));
    EXPECT_THROW(pvshm::write_image_array_to_shared_memory(id, rgb, "HSV"), std::invalid_argument);
}

// A result image tagged with the sequence number of the frame it was computed from.
TEST_F(SeedApi, MetadataIsStoredWithTheFrame)
{
    const pvshm::UserMetadata tags{
        {"source_sequence", int64_t{1234}}, {"verdict", std::string("pass")}, {"score", 0.875}};
    pvshm::write_image_array_to_shared_memory(id, gradient(4, 4), "RGB", tags);
    pvshm::Reader reader(id);
    auto view = reader.view_latest();
    ASSERT_TRUE(view);
    EXPECT_EQ(view->info().metadata, tags);

    pvshm::UserMetadata too_big{{"blob", std::string(pvshm::kMaxMetadataBytes, 'x')}};
    EXPECT_THROW(pvshm::write_image_array_to_shared_memory(id, gradient(4, 4), "", too_big),
                 std::invalid_argument);
    EXPECT_THROW(pvshm::write_image_array_to_shared_memory(id, gradient(4, 4), "",
                                                           {{"bad", std::string("\xff\xfe")}}),
                 std::invalid_argument);
    EXPECT_THROW(pvshm::write_image_array_to_shared_memory(id, gradient(4, 4), "", {{"", 1.0}}),
                 std::invalid_argument);
}
