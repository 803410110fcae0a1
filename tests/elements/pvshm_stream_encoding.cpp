// SPDX-License-Identifier: LGPL-2.1-or-later
// pvshmpay's encodings across pvshmpay ! pvshmdepay: jpeg gives a JPEG picture of the frame's
// size close to it (PSNR) from every 8-bit format, lossless gives the same bytes back, a frame
// jpeg cannot take goes raw with one warning, and a lossless frame that does not decompress as
// its header says is counted and skipped.
#include <cmath>
#include <string>
#include <vector>

#include <gst/app/gstappsink.h>
#include <gst/video/video.h>

#include <opencv2/core.hpp>

#include <pvshm/normalize.hpp>

#include "element_support.hpp"
#include "frame_codec.hpp"
#include "stream_format.hpp"

using namespace pvshm::element_test;
namespace stream = pvshm::stream;

namespace {

using Bytes = std::vector<uint8_t>;

constexpr const char* kGrayCaps = "video/x-raw,format=GRAY8,width=4,height=2,framerate=30/1";

// One frame of videotestsrc's `pattern` in `caps`, in the layout GStreamer gives it.
GstSample* test_frame(const std::string& caps, const char* pattern = "smpte")
{
    const std::string text = std::string("videotestsrc num-buffers=1 pattern=") + pattern + " ! " +
                             caps + " ! appsink name=out";
    GError* error = nullptr;
    GstElement* pipeline = gst_parse_launch(text.c_str(), &error);
    fail_unless(pipeline != nullptr && error == nullptr, "%s", text.c_str());
    GstElement* out = gst_bin_get_by_name(GST_BIN(pipeline), "out");
    fail_unless_equals_int(gst_element_set_state(pipeline, GST_STATE_PLAYING),
                           GST_STATE_CHANGE_ASYNC);
    GstSample* sample = gst_app_sink_try_pull_sample(GST_APP_SINK(out), 20 * GST_SECOND);
    fail_unless(sample != nullptr, "%s", text.c_str());
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(out);
    gst_object_unref(pipeline);
    return sample;
}

// What the library needs to normalize a frame of `caps`, as pvshmsink stores it.
pvshm::FrameInfo frame_info(GstCaps* caps, gsize size)
{
    pvshm::FrameInfo info;
    const GstStructure* s = gst_caps_get_structure(caps, 0);
    info.payload_size = size;
    if (gst_structure_has_name(s, "image/jpeg")) {
        info.format = pvshm::PixelFormat::Jpeg;
        return info;
    }
    if (gst_structure_has_name(s, "video/x-bayer")) {
        fail_unless_equals_string(gst_structure_get_string(s, "format"), "rggb");
        int width = 0;
        int height = 0;
        gst_structure_get_int(s, "width", &width);
        gst_structure_get_int(s, "height", &height);
        info = pvshm::packed_frame_info(pvshm::PixelFormat::BayerRGGB, uint32_t(width),
                                        uint32_t(height));
        return info;
    }
    GstVideoInfo video;
    fail_unless(gst_video_info_from_caps(&video, caps));
    const auto format =
        pvshm::format_from_name(gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(&video)));
    fail_unless(format.has_value());
    info.format = *format;
    info.width = uint32_t(GST_VIDEO_INFO_WIDTH(&video));
    info.height = uint32_t(GST_VIDEO_INFO_HEIGHT(&video));
    info.plane_count = GST_VIDEO_INFO_N_PLANES(&video);
    for (guint plane = 0; plane < info.plane_count; ++plane) {
        info.strides[plane] = uint32_t(GST_VIDEO_INFO_PLANE_STRIDE(&video, plane));
        info.plane_offsets[plane] = GST_VIDEO_INFO_PLANE_OFFSET(&video, plane);
    }
    const GstVideoColorimetry& colorimetry = video.colorimetry;
    info.matrix = colorimetry.matrix == GST_VIDEO_COLOR_MATRIX_BT709 ? pvshm::ColorMatrix::BT709
                                                                     : pvshm::ColorMatrix::BT601;
    info.range = colorimetry.range == GST_VIDEO_COLOR_RANGE_0_255 ? pvshm::ColorRange::Full
                                                                  : pvshm::ColorRange::Limited;
    return info;
}

cv::Mat rgb_of(GstCaps* caps, GstBuffer* buffer)
{
    GstMapInfo map;
    fail_unless(gst_buffer_map(buffer, &map, GST_MAP_READ));
    cv::Mat rgb;
    pvshm::normalize_to_rgb(frame_info(caps, map.size), map.data, rgb);
    gst_buffer_unmap(buffer, &map);
    return rgb;
}

GstBuffer* buffer_of(const Bytes& bytes)
{
    GstBuffer* buffer = gst_buffer_new_allocate(nullptr, bytes.size(), nullptr);
    gst_buffer_fill(buffer, 0, bytes.data(), bytes.size());
    return buffer;
}

// A frame as a sender writes it, with `payload` as the bytes of `encoding`.
Bytes crafted_frame(uint64_t sequence, stream::Encoding encoding, const Bytes& payload)
{
    stream::FrameFacts facts;
    facts.sequence = sequence;
    facts.encoding = encoding;
    Bytes frame = stream::encode_frame_prefix(facts, kGrayCaps, payload.data(), payload.size());
    frame.insert(frame.end(), payload.begin(), payload.end());
    return frame;
}

Bytes zstd_of(const Bytes& raw)
{
    stream::ZstdCompressor compressor;
    Bytes out(stream::ZstdCompressor::bound(raw.size()));
    out.resize(compressor.compress(raw.data(), raw.size(), out.data()));
    return out;
}

} // namespace

// Every 8-bit format pvshmsink takes comes out of pvshmpay encoding=jpeg ! pvshmdepay as an
// image/jpeg frame of its size whose picture is close to the frame's (the library normalizes
// both): I420 and NV12 of BT.601 from their planes (limited and full range), the others through
// TurboJPEG's RGB input or the library's RGB conversion.
GST_START_TEST(test_jpeg_is_a_close_picture_of_every_8bit_format)
{
    // PSNR bounds some 3 dB under what each gives (40.7-42.6 dB; a limited range taken for full
    // range costs more than that); Bayer's demosaiced pinwheel edges give 30.2 dB.
    const struct
    {
        const char* caps;
        double min_psnr;
    } formats[] = {
        {"video/x-raw,format=BGR,width=320,height=240", 38},
        {"video/x-raw,format=RGB,width=322,height=242", 38},
        {"video/x-raw,format=BGRx,width=320,height=240", 38},
        {"video/x-raw,format=RGBA,width=320,height=240", 38},
        {"video/x-raw,format=GRAY8,width=321,height=241", 38},
        {"video/x-raw,format=I420,width=320,height=240,colorimetry=bt601", 38},
        {"video/x-raw,format=I420,width=321,height=241,colorimetry=bt601", 38},
        {"video/x-raw,format=I420,width=320,height=240,colorimetry=1:4:0:0", 38},
        {"video/x-raw,format=NV12,width=320,height=240,colorimetry=bt601", 38},
        {"video/x-raw,format=NV12,width=320,height=240,colorimetry=bt709", 38},
        {"video/x-raw,format=YUY2,width=320,height=240,colorimetry=bt601", 38},
        {"video/x-raw,format=UYVY,width=320,height=240,colorimetry=bt709", 38},
        {"video/x-bayer,format=rggb,width=320,height=240", 28},
    };
    for (const auto& format : formats) {
        const char* caps_text = format.caps;
        GstSample* sample = test_frame(std::string(caps_text) + ",framerate=30/1", "pinwheel");
        GstCaps* caps = gst_sample_get_caps(sample);
        GstBuffer* in = gst_sample_get_buffer(sample);
        GstHarness* h = gst_harness_new_parse("pvshmpay encoding=jpeg quality=90 ! pvshmdepay");
        gst_harness_set_src_caps(h, gst_caps_ref(caps));
        fail_unless_equals_int(gst_harness_push(h, gst_buffer_ref(in)), GST_FLOW_OK);
        GstBuffer* out = gst_harness_pull(h);
        GstCaps* received = gst_pad_get_current_caps(h->sinkpad);
        const GstStructure* s = gst_caps_get_structure(received, 0);
        fail_unless(gst_structure_has_name(s, "image/jpeg"), "%s", caps_text);
        int width = 0;
        int height = 0;
        fail_unless(gst_structure_get_int(s, "width", &width));
        fail_unless(gst_structure_get_int(s, "height", &height));
        const cv::Mat sent = rgb_of(caps, in);
        const cv::Mat decoded = rgb_of(received, out);
        fail_unless_equals_int(width, sent.cols);
        fail_unless_equals_int(height, sent.rows);
        fail_unless_equals_int(decoded.cols, sent.cols);
        fail_unless_equals_int(decoded.rows, sent.rows);
        const double quality = cv::PSNR(sent, decoded);
        fail_unless(quality >= format.min_psnr, "%s: PSNR %.1f dB", caps_text, quality);
        fail_unless(gst_buffer_get_size(out) < gst_buffer_get_size(in), "%s", caps_text);
        gst_caps_unref(received);
        gst_buffer_unref(out);
        gst_harness_teardown(h);
        gst_sample_unref(sample);
    }
}
GST_END_TEST;

// pvshmpay encoding=lossless ! pvshmdepay gives the frame's bytes and caps back, whatever the
// format, and sends fewer bytes for a picture that compresses.
GST_START_TEST(test_lossless_gives_the_same_bytes)
{
    const char* const formats[] = {
        "video/x-raw,format=BGR,width=321,height=241,framerate=30/1",
        "video/x-raw,format=GRAY16_LE,width=321,height=241,framerate=30/1",
        "video/x-raw,format=I420,width=321,height=241,framerate=30/1,colorimetry=bt601",
        "video/x-raw,format=NV12,width=320,height=240,framerate=30/1,colorimetry=bt709",
        "video/x-raw,format=RGBA,width=320,height=240,framerate=30/1",
        "video/x-bayer,format=grbg,width=321,height=241,framerate=30/1",
    };
    for (const char* caps_text : formats) {
        GstSample* sample = test_frame(caps_text);
        GstCaps* caps = gst_sample_get_caps(sample);
        GstBuffer* in = gst_sample_get_buffer(sample);
        GstHarness* h = gst_harness_new_parse("pvshmpay name=pay encoding=lossless ! pvshmdepay");
        gst_harness_set_src_caps(h, gst_caps_ref(caps));
        fail_unless_equals_int(gst_harness_push(h, gst_buffer_ref(in)), GST_FLOW_OK);
        GstBuffer* out = gst_harness_pull(h);
        fail_unless(gst_buffer_get_size(out) == gst_buffer_get_size(in), "%s", caps_text);
        GstMapInfo map;
        gst_buffer_map(in, &map, GST_MAP_READ);
        fail_unless(buffer_equals(out, map.data, map.size), "%s", caps_text);
        gst_buffer_unmap(in, &map);
        GstCaps* received = gst_pad_get_current_caps(h->sinkpad);
        fail_unless(gst_caps_is_equal(received, caps), "%s came out as %" GST_PTR_FORMAT, caps_text,
                    received);
        GstElement* pay = gst_bin_get_by_name(GST_BIN(h->element), "pay");
        fail_unless(stat_of(pay, "bytes") < gst_buffer_get_size(in) / 2, "%s: %" G_GUINT64_FORMAT,
                    caps_text, stat_of(pay, "bytes"));
        gst_object_unref(pay);
        gst_caps_unref(received);
        gst_buffer_unref(out);
        gst_harness_teardown(h);
        gst_sample_unref(sample);
    }
}
GST_END_TEST;

// 16-bit gray frames cannot be JPEG: they go raw, byte for byte, with one warning for all of
// them.
GST_START_TEST(test_jpeg_sends_16bit_frames_raw_with_one_warning)
{
    GstHarness* h = gst_harness_new_parse("pvshmpay encoding=jpeg ! pvshmdepay");
    GstBus* bus = watch_bus(h->element);
    const char* caps = "video/x-raw,format=GRAY16_LE,width=8,height=4,framerate=30/1";
    gst_harness_set_src_caps_str(h, caps);
    for (int frame = 0; frame < 3; ++frame) {
        GstBuffer* in = pattern_buffer(64, uint8_t(frame));
        Bytes expected(64);
        gst_buffer_extract(in, 0, expected.data(), expected.size());
        fail_unless_equals_int(gst_harness_push(h, in), GST_FLOW_OK);
        GstBuffer* out = gst_harness_pull(h);
        fail_unless(buffer_equals(out, expected.data(), expected.size()));
        gst_buffer_unref(out);
    }
    GstCaps* received = gst_pad_get_current_caps(h->sinkpad);
    GstCaps* sent = gst_caps_from_string(caps);
    fail_unless(gst_caps_is_equal(received, sent));
    gst_caps_unref(sent);
    gst_caps_unref(received);
    const auto warnings = warnings_on(bus);
    fail_unless_equals_int(warnings.size(), 1);
    fail_unless_equals_string(warnings[0].c_str(),
                              "Frames of GRAY16_LE sent raw: JPEG takes 8-bit frames only");
    teardown_watched(h, bus);
}
GST_END_TEST;

// A lossless frame whose zstd frame says another size than its caps, or is cut short, or is no
// zstd at all, is a damaged frame: counted, skipped with one warning, never more than the caps'
// size decompressed; the frames around it go through.
GST_START_TEST(test_depay_skips_damaged_lossless_frames)
{
    GstHarness* h = gst_harness_new("pvshmdepay");
    GstBus* bus = watch_bus(h->element);
    gst_harness_set_src_caps_str(h, "application/x-pvshm-stream");
    const Bytes raw(8, 0x33);
    const Bytes whole = zstd_of(raw);
    Bytes cut = whole;
    cut.pop_back();
    const Bytes stream_bytes[] = {
        crafted_frame(1, stream::Encoding::Zstd, whole),
        crafted_frame(2, stream::Encoding::Zstd, zstd_of(Bytes(7, 0x33))),
        crafted_frame(3, stream::Encoding::Zstd, zstd_of(Bytes(1 << 20, 0x33))),
        crafted_frame(4, stream::Encoding::Zstd, cut),
        crafted_frame(5, stream::Encoding::Zstd, raw),
        crafted_frame(6, stream::Encoding::Zstd, whole),
    };
    for (const Bytes& bytes : stream_bytes)
        fail_unless_equals_int(gst_harness_push(h, buffer_of(bytes)), GST_FLOW_OK);
    std::vector<guint64> sequences;
    while (GstBuffer* out = gst_harness_try_pull(h)) {
        sequences.push_back(GST_BUFFER_OFFSET(out));
        fail_unless(buffer_equals(out, raw.data(), raw.size()));
        gst_buffer_unref(out);
    }
    fail_unless(sequences == std::vector<guint64>({1, 6}));
    fail_unless_equals_uint64(stat_of(h->element, "frames-damaged"), 4);
    fail_unless_equals_uint64(stat_of(h->element, "drops"), 4);
    const auto warnings = warnings_on(bus);
    fail_unless_equals_int(warnings.size(), 1);
    fail_unless(warnings[0].rfind("Damaged lossless frames skipped: ", 0) == 0, "%s",
                warnings[0].c_str());
    teardown_watched(h, bus);
}
GST_END_TEST;

// quality outside 1..100 stops the element from starting, naming the property and its range.
GST_START_TEST(test_pay_refuses_a_quality_out_of_range)
{
    for (guint quality : {0u, 101u}) {
        GstElement* pay = gst_element_factory_make("pvshmpay", nullptr);
        g_object_set(pay, "quality", quality, nullptr);
        GError* error = start_error(pay);
        fail_unless(error != nullptr);
        const std::string expected =
            "Property quality is " + std::to_string(quality) + ", outside its range 1 to 100";
        fail_unless_equals_string(error->message, expected.c_str());
        g_error_free(error);
        gst_object_unref(pay);
    }
}
GST_END_TEST;

static Suite* pvshm_stream_encoding_suite()
{
    Suite* s = suite_create("pvshm_stream_encoding");
    TCase* tc = general_test_case(s, 60);
    tcase_add_test(tc, test_jpeg_is_a_close_picture_of_every_8bit_format);
    tcase_add_test(tc, test_lossless_gives_the_same_bytes);
    tcase_add_test(tc, test_jpeg_sends_16bit_frames_raw_with_one_warning);
    tcase_add_test(tc, test_depay_skips_damaged_lossless_frames);
    tcase_add_test(tc, test_pay_refuses_a_quality_out_of_range);
    return s;
}

GST_CHECK_MAIN(pvshm_stream_encoding)
