// SPDX-License-Identifier: LGPL-2.1-or-later
// The library turns YUV frames written by pvshmsink into the RGB that GStreamer's videoconvert
// gives for the same frames, for every YUV format, BT.601 and BT.709, studio and full swing: within
// 3 levels per channel (the contract) for at least 99% of the values and never more than 4 off
// (videoconvert's integer matrices give a few saturated colours of colour bars 4 levels apart).
#include <gst/app/gstappsink.h>

#include "element_support.hpp"

using namespace pvshm::element_test;

namespace {

constexpr int kWidth = 320;
constexpr int kHeight = 240;

struct Case
{
    const char* format;
    const char* colorimetry;
};

// Writes one frame of `pattern` through pvshmsink and returns videoconvert's RGB for it.
GstSample* write_and_convert(const std::string& id, const Case& c, const char* pattern)
{
    const std::string description =
        std::string("videotestsrc num-buffers=1 pattern=") + pattern +
        " ! video/x-raw,format=" + c.format + ",width=" + std::to_string(kWidth) +
        ",height=" + std::to_string(kHeight) + ",colorimetry=" + c.colorimetry +
        " ! tee name=t ! queue ! pvshmsink sync=false shared-mem-id=" + id +
        " t. ! queue ! videoconvert ! video/x-raw,format=RGB ! appsink name=rgb sync=false";
    GError* error = nullptr;
    GstElement* pipeline = gst_parse_launch(description.c_str(), &error);
    fail_unless(pipeline && !error, "%s", error ? error->message : "no pipeline");
    GstElement* appsink = gst_bin_get_by_name(GST_BIN(pipeline), "rgb");
    fail_unless_equals_int(gst_element_set_state(pipeline, GST_STATE_PLAYING),
                           GST_STATE_CHANGE_ASYNC);
    GstSample* sample = gst_app_sink_try_pull_sample(GST_APP_SINK(appsink), 10 * GST_SECOND);
    GstBus* bus = gst_element_get_bus(pipeline);
    GstMessage* end = gst_bus_timed_pop_filtered(
        bus, 10 * GST_SECOND, GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    fail_unless(end && GST_MESSAGE_TYPE(end) == GST_MESSAGE_EOS, "pipeline did not end cleanly");
    gst_message_unref(end);
    gst_object_unref(bus);
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(appsink);
    gst_object_unref(pipeline);
    fail_unless(sample != nullptr);
    return sample;
}

struct Difference
{
    int worst;
    double share_over_3;
};

Difference difference(const cv::Mat& ours, GstSample* reference)
{
    GstMapInfo map;
    GstBuffer* buffer = gst_sample_get_buffer(reference);
    fail_unless(gst_buffer_map(buffer, &map, GST_MAP_READ));
    const cv::Mat theirs(kHeight, kWidth, CV_8UC3, map.data, GST_ROUND_UP_4(kWidth * 3));
    cv::Mat absolute;
    cv::absdiff(ours, theirs, absolute);
    gst_buffer_unmap(buffer, &map);
    const cv::Mat values = absolute.reshape(1);
    return {static_cast<int>(cv::norm(values, cv::NORM_INF)),
            cv::countNonZero(values > 3) / double(values.total())};
}

} // namespace

GST_START_TEST(test_yuv_normalization_matches_videoconvert)
{
    static const Case kCases[] = {
        {"I420", "bt601"}, {"I420", "bt709"}, {"I420", "1:4:0:0"}, {"I420", "1:3:5:1"},
        {"NV12", "bt601"}, {"NV12", "bt709"}, {"NV12", "1:4:0:0"}, {"NV12", "1:3:5:1"},
        {"YUY2", "bt601"}, {"YUY2", "bt709"}, {"YUY2", "1:4:0:0"}, {"YUY2", "1:3:5:1"},
        {"UYVY", "bt601"}, {"UYVY", "bt709"}, {"UYVY", "1:4:0:0"}, {"UYVY", "1:3:5:1"},
    };
    int index = 0;
    for (const Case& c : kCases) {
        for (const char* pattern : {"smpte75", "circular", "ball"}) {
            const std::string id = unique_id("parity" + std::to_string(index++));
            SegmentCleanup cleanup(id);
            GstSample* reference = write_and_convert(id, c, pattern);
            pvshm::ImageMeta meta;
            meta.width = kWidth;
            meta.height = kHeight;
            const cv::Mat ours = pvshm::read_image_from_shared_memory(id, meta);
            fail_unless_equals_int(ours.cols, kWidth);
            const Difference d = difference(ours, reference);
            fail_unless(d.worst <= 4 && d.share_over_3 <= 0.01,
                        "%s %s %s: up to %d levels from videoconvert, %.1f%% over 3", c.format,
                        c.colorimetry, pattern, d.worst, 100 * d.share_over_3);
            gst_sample_unref(reference);
        }
    }
}
GST_END_TEST

static Suite* videoconvert_parity_suite()
{
    Suite* s = suite_create("videoconvert_parity");
    TCase* tc = general_test_case(s, 120);
    tcase_add_test(tc, test_yuv_normalization_matches_videoconvert);
    return s;
}

GST_CHECK_MAIN(videoconvert_parity)
