// SPDX-License-Identifier: LGPL-2.1-or-later
// pvshmsrc: properties, errors, frames from pvshmsink in every family of formats, padded rows
// repacked for a downstream without GstVideoMeta, caps that follow the writer, normalize=true,
// color-space, mode=all drops, max-age, timeouts and the warnings before them, timestamps and
// latency, and the facts each buffer carries.
#include <chrono>
#include <cstring>
#include <ctime>
#include <string>
#include <unistd.h>
#include <utility>
#include <vector>

#include <gst/base/gstbasesrc.h>
#include <gst/video/video.h>

#include "element_support.hpp"

using namespace pvshm::element_test;

namespace {

int64_t monotonic_ns()
{
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t{ts.tv_sec} * GST_SECOND + ts.tv_nsec;
}

int64_t realtime_ns()
{
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return int64_t{ts.tv_sec} * GST_SECOND + ts.tv_nsec;
}

// Pulls events until EOS; false when the harness stops giving any (it waits 60 s for each).
bool wait_for_eos(GstHarness* h)
{
    while (GstEvent* event = gst_harness_pull_event(h)) {
        const bool eos = GST_EVENT_TYPE(event) == GST_EVENT_EOS;
        gst_event_unref(event);
        if (eos)
            return true;
    }
    return false;
}

// What the source posted about missing frames: its warnings and its timeout reasons.
struct Posted
{
    std::vector<std::string> warnings;
    std::vector<std::string> timeout_reasons;
};

Posted pop_posted(GstBus* bus)
{
    Posted posted;
    while (GstMessage* message = gst_bus_pop(bus)) {
        if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_WARNING) {
            GError* error = nullptr;
            gst_message_parse_warning(message, &error, nullptr);
            posted.warnings.emplace_back(error->message);
            g_error_free(error);
        } else if (gst_message_has_name(message, "GstPvShmSrcTimeout")) {
            const GstStructure* s = gst_message_get_structure(message);
            posted.timeout_reasons.emplace_back(gst_structure_get_string(s, "reason"));
        }
        gst_message_unref(message);
    }
    return posted;
}

bool current_caps_are(GstHarness* h, const char* expected_string)
{
    GstCaps* current = gst_pad_get_current_caps(h->sinkpad);
    GstCaps* expected = gst_caps_from_string(expected_string);
    const bool same = current && gst_caps_is_equal(current, expected);
    if (current)
        gst_caps_unref(current);
    gst_caps_unref(expected);
    return same;
}

// Writes `frames` frames of one byte value each through the library, then lets the writer go.
void write_gray_frames(const std::string& id, int frames, uint32_t slots = 4)
{
    pvshm::WriterOptions options;
    options.slots = slots;
    pvshm::Writer writer(id, options);
    const pvshm::FrameInfo info = pvshm::packed_frame_info(pvshm::PixelFormat::GRAY8, 16, 8);
    std::vector<uint8_t> pixels(info.payload_size);
    for (int i = 1; i <= frames; ++i) {
        std::fill(pixels.begin(), pixels.end(), uint8_t(i));
        fail_unless(writer.write(info, pixels.data()).has_value());
    }
}

uint8_t first_byte(GstBuffer* buffer)
{
    uint8_t byte = 0;
    gst_buffer_extract(buffer, 0, &byte, 1);
    return byte;
}

} // namespace

GST_START_TEST(test_src_property_defaults)
{
    GstElement* src = gst_element_factory_make("pvshmsrc", nullptr);
    fail_unless(src != nullptr);
    gchar* id = nullptr;
    gboolean normalize = TRUE;
    gint mode = -1;
    guint64 timeout = 1;
    gboolean is_live = FALSE;
    gboolean allow_other_owner = TRUE;
    g_object_get(src, "shared-mem-id", &id, "normalize", &normalize, "mode", &mode, "timeout",
                 &timeout, "is-live", &is_live, "allow-other-owner", &allow_other_owner, nullptr);
    fail_unless(id == nullptr);
    fail_if(normalize);
    fail_if(allow_other_owner);
    fail_unless_equals_uint64(timeout, 0);
    fail_unless(is_live);
    fail_unless(gst_base_src_is_live(GST_BASE_SRC(src)));

    GParamSpec* spec = g_object_class_find_property(G_OBJECT_GET_CLASS(src), "mode");
    fail_unless_equals_string(g_type_name(spec->value_type), "GstPvShmSrcMode");
    GEnumClass* modes = G_ENUM_CLASS(g_type_class_ref(spec->value_type));
    fail_unless_equals_string(g_enum_get_value(modes, mode)->value_nick, "latest");
    fail_unless(g_enum_get_value_by_nick(modes, "all") != nullptr);
    g_type_class_unref(modes);
    gst_util_set_object_arg(G_OBJECT(src), "mode", "all");
    g_object_set(src, "is-live", FALSE, nullptr);
    fail_if(gst_base_src_is_live(GST_BASE_SRC(src)));

    fail_unless(g_object_class_find_property(G_OBJECT_GET_CLASS(src), "num-buffers") != nullptr);
    fail_unless(g_object_class_find_property(G_OBJECT_GET_CLASS(src), "do-timestamp") != nullptr);
    for (const char* field : {"frames-read", "frames-dropped"})
        fail_unless_equals_uint64(stat_of(src, field), 0);
    const gchar* klass =
        gst_element_factory_get_metadata(gst_element_get_factory(src), GST_ELEMENT_METADATA_KLASS);
    fail_unless_equals_string(klass, "Source/Video");
    gst_object_unref(src);
}
GST_END_TEST;

GST_START_TEST(test_src_invalid_id_is_an_element_error)
{
    GstElement* src = gst_element_factory_make("pvshmsrc", nullptr);
    g_object_set(src, "shared-mem-id", "no/slashes", nullptr);
    GError* error = start_error(src);
    fail_unless(error != nullptr);
    fail_unless(error->domain == GST_RESOURCE_ERROR);
    fail_unless(strstr(error->message, "no/slashes") != nullptr, "%s", error->message);
    g_error_free(error);
    gst_object_unref(src);
}
GST_END_TEST;

GST_START_TEST(test_src_outputs_sink_frames_unchanged)
{
    const char* formats[] = {
        "video/x-raw,format=BGR,width=320,height=240,framerate=30/1",
        "video/x-raw,format=RGBA,width=33,height=17,framerate=30/1",
        "video/x-raw,format=GRAY16_LE,width=321,height=241,framerate=30/1",
        "video/x-raw,format=I420,width=321,height=241,framerate=30/1",
        "video/x-raw,format=NV12,width=321,height=241,framerate=30/1",
        "video/x-raw,format=YUY2,width=322,height=240,framerate=30/1",
        "video/x-raw,format=UYVY,width=64,height=48,framerate=30/1",
        "video/x-bayer,format=grbg,width=321,height=241,framerate=30/1",
        "image/png,width=10,height=10,framerate=30/1",
    };
    int index = 0;
    for (const char* caps : formats) {
        const std::string id = unique_id("roundtrip" + std::to_string(index++));
        SegmentCleanup cleanup(id);
        GstHarness* sink = sink_harness(id, caps);
        GstBuffer* buffer = pattern_buffer(frame_layout(caps).size, uint8_t(index));
        fail_unless_equals_int(gst_harness_push(sink, gst_buffer_ref(buffer)), GST_FLOW_OK);

        GstHarness* src = src_harness(id);
        GstBuffer* out = gst_harness_pull(src);
        fail_unless(out != nullptr, "%s", caps);
        fail_unless(current_caps_are(src, caps), "%s", caps);
        GstMapInfo map;
        gst_buffer_map(buffer, &map, GST_MAP_READ);
        fail_unless(buffer_equals(out, map.data, map.size), "%s: bytes differ", caps);
        gst_buffer_unmap(buffer, &map);
        fail_unless_equals_uint64(stat_of(src->element, "frames-read"), 1);
        gst_buffer_unref(out);
        gst_buffer_unref(buffer);
        gst_harness_teardown(src);
        gst_harness_teardown(sink);
    }
}
GST_END_TEST;

GST_START_TEST(test_src_starts_with_newest_frame_of_exited_writer)
{
    const std::string id = unique_id("newest");
    SegmentCleanup cleanup(id);
    write_gray_frames(id, 3);
    GstHarness* h = src_harness(id);
    GstBuffer* out = gst_harness_pull(h);
    fail_unless_equals_int(first_byte(out), 3);
    // Caps derived from the format when no caps were stored.
    fail_unless(current_caps_are(
        h, "video/x-raw,format=GRAY8,width=16,height=8,framerate=0/1,pixel-aspect-ratio=1/1,"
           "interlace-mode=progressive,colorimetry=1:4:0:0"));
    gst_buffer_unref(out);
    gst_harness_teardown(h);
}
GST_END_TEST;

// GstHarness takes no GstVideoMeta: rows wider than GStreamer's reach it repacked.
GST_START_TEST(test_src_repacks_padded_rows_for_a_downstream_without_video_meta)
{
    const std::string id = unique_id("repack");
    SegmentCleanup cleanup(id);
    constexpr uint32_t kWidth = 10;
    constexpr uint32_t kHeight = 4;
    constexpr uint32_t kStride = 16;
    pvshm::FrameInfo info = pvshm::packed_frame_info(pvshm::PixelFormat::GRAY8, kWidth, kHeight);
    info.strides[0] = kStride;
    info.payload_size = kStride * kHeight;
    std::vector<uint8_t> pixels(info.payload_size);
    for (size_t i = 0; i < pixels.size(); ++i)
        pixels[i] = uint8_t(i);
    {
        pvshm::Writer writer(id);
        fail_unless(writer.write(info, pixels.data()).has_value());
    }
    GstHarness* h = src_harness(id);
    GstBuffer* out = gst_harness_pull(h);
    fail_unless(out != nullptr);
    fail_unless(gst_buffer_get_video_meta(out) == nullptr);
    GstVideoInfo video;
    gst_video_info_set_format(&video, GST_VIDEO_FORMAT_GRAY8, kWidth, kHeight);
    fail_unless_equals_uint64(gst_buffer_get_size(out), GST_VIDEO_INFO_SIZE(&video));
    const gsize stride = gsize(GST_VIDEO_INFO_PLANE_STRIDE(&video, 0));
    for (uint32_t row = 0; row < kHeight; ++row)
        fail_unless(gst_buffer_memcmp(out, row * stride, &pixels[row * kStride], kWidth) == 0,
                    "row %u differs", row);
    gst_buffer_unref(out);
    gst_harness_teardown(h);
}
GST_END_TEST;

static GstPadProbeReturn announce_blocked(GstPad*, GstPadProbeInfo*, gpointer blocked)
{
    g_async_queue_push(static_cast<GAsyncQueue*>(blocked), GINT_TO_POINTER(1));
    return GST_PAD_PROBE_OK;
}

GST_START_TEST(test_src_mode_all_counts_overwritten_frames)
{
    const std::string id = unique_id("modeall");
    SegmentCleanup cleanup(id);
    pvshm::WriterOptions four_slots;
    four_slots.slots = 4;
    pvshm::Writer writer(id, four_slots);
    const pvshm::FrameInfo info = pvshm::packed_frame_info(pvshm::PixelFormat::GRAY8, 16, 8);
    std::vector<uint8_t> pixels(info.payload_size, 1);
    fail_unless(writer.write(info, pixels.data()).has_value());

    // The source stays blocked pushing frame 1 while frames 2..11 go through the 4 slots.
    GAsyncQueue* blocked = g_async_queue_new();
    gulong probe = 0;
    GstPad* pad = nullptr;
    GstHarness* h = src_harness(id, [&](GstElement* src) {
        gst_util_set_object_arg(G_OBJECT(src), "mode", "all");
        pad = gst_element_get_static_pad(src, "src");
        probe = gst_pad_add_probe(
            pad, GstPadProbeType(GST_PAD_PROBE_TYPE_BLOCK | GST_PAD_PROBE_TYPE_BUFFER),
            announce_blocked, blocked, nullptr);
    });
    fail_unless(g_async_queue_timeout_pop(blocked, 10 * G_USEC_PER_SEC) != nullptr);
    for (int i = 2; i <= 11; ++i) {
        std::fill(pixels.begin(), pixels.end(), uint8_t(i));
        fail_unless(writer.write(info, pixels.data()).has_value());
    }
    gst_pad_remove_probe(pad, probe);
    gst_object_unref(pad);

    int previous = 0;
    int pulled = 0;
    while (previous != 11) {
        GstBuffer* out = gst_harness_pull(h);
        fail_unless(out != nullptr);
        const int value = first_byte(out);
        fail_unless(value > previous, "frame %d after %d", value, previous);
        previous = value;
        ++pulled;
        gst_buffer_unref(out);
    }
    const guint64 dropped = stat_of(h->element, "frames-dropped");
    fail_unless(dropped > 0);
    fail_unless_equals_uint64(stat_of(h->element, "frames-read"), pulled);
    fail_unless_equals_uint64(pulled + dropped, 11);
    gst_harness_teardown(h);
    g_async_queue_unref(blocked);
}
GST_END_TEST;

GST_START_TEST(test_src_follows_caps_change)
{
    const std::string id = unique_id("capschange");
    SegmentCleanup cleanup(id);
    const char* first = "video/x-raw,format=BGR,width=32,height=24,framerate=30/1";
    const char* second = "video/x-raw,format=GRAY8,width=640,height=480,framerate=15/1";
    GstHarness* sink = sink_harness(id, first);
    fail_unless_equals_int(gst_harness_push(sink, pattern_buffer(32 * 24 * 3)), GST_FLOW_OK);
    GstHarness* src = src_harness(id);
    gst_buffer_unref(gst_harness_pull(src));
    fail_unless(current_caps_are(src, first));

    gst_harness_set_src_caps_str(sink, second);
    GstBuffer* buffer = pattern_buffer(640 * 480, 4);
    fail_unless_equals_int(gst_harness_push(sink, gst_buffer_ref(buffer)), GST_FLOW_OK);
    GstBuffer* out = gst_harness_pull(src);
    fail_unless(current_caps_are(src, second));
    GstMapInfo map;
    gst_buffer_map(buffer, &map, GST_MAP_READ);
    fail_unless(buffer_equals(out, map.data, map.size));
    gst_buffer_unmap(buffer, &map);
    gst_buffer_unref(out);
    gst_buffer_unref(buffer);
    gst_harness_teardown(src);
    gst_harness_teardown(sink);
}
GST_END_TEST;

GST_START_TEST(test_src_normalize_matches_library)
{
    const char* formats[] = {
        "video/x-raw,format=I420,width=321,height=241,framerate=30/1",
        "video/x-raw,format=BGR,width=65,height=7,framerate=30/1",
        "video/x-raw,format=GRAY16_LE,width=33,height=9,framerate=30/1",
        "video/x-bayer,format=bggr,width=64,height=48,framerate=30/1",
    };
    int index = 0;
    for (const char* caps : formats) {
        const std::string id = unique_id("normalize" + std::to_string(index++));
        SegmentCleanup cleanup(id);
        GstHarness* sink = sink_harness(id, caps);
        const FrameLayout layout = frame_layout(caps);
        const int width = layout.width;
        const int height = layout.height;
        fail_unless_equals_int(gst_harness_push(sink, pattern_buffer(layout.size)), GST_FLOW_OK);

        GstHarness* src = src_harness(
            id, [](GstElement* element) { g_object_set(element, "normalize", TRUE, nullptr); });
        GstBuffer* out = gst_harness_pull(src);
        GstCaps* current = gst_pad_get_current_caps(src->sinkpad);
        GstVideoInfo out_info;
        fail_unless(gst_video_info_from_caps(&out_info, current));
        gst_caps_unref(current);
        fail_unless_equals_int(GST_VIDEO_INFO_FORMAT(&out_info), GST_VIDEO_FORMAT_RGB);
        fail_unless_equals_int(GST_VIDEO_INFO_WIDTH(&out_info), width);
        fail_unless_equals_int(GST_VIDEO_INFO_HEIGHT(&out_info), height);

        pvshm::ImageMeta meta;
        meta.width = width;
        meta.height = height;
        const cv::Mat expected = pvshm::read_image_from_shared_memory(id, meta);
        GstMapInfo map;
        gst_buffer_map(out, &map, GST_MAP_READ);
        const int stride = GST_VIDEO_INFO_PLANE_STRIDE(&out_info, 0);
        for (int row = 0; row < height; ++row)
            fail_unless(memcmp(map.data + row * stride, expected.ptr(row), width * 3) == 0,
                        "%s: row %d differs", caps, row);
        gst_buffer_unmap(out, &map);
        gst_buffer_unref(out);
        gst_harness_teardown(src);
        gst_harness_teardown(sink);
    }
}
GST_END_TEST;

GST_START_TEST(test_src_normalize_undecodable_is_black_with_warning)
{
    const std::string id = unique_id("undecodable");
    SegmentCleanup cleanup(id);
    GstHarness* sink = sink_harness(id, "image/jpeg,width=64,height=48,framerate=30/1");
    GstBuffer* garbage = pattern_buffer(500);
    const uint8_t jpeg_start[] = {0xff, 0xd8, 0xff};
    gst_buffer_fill(garbage, 0, jpeg_start, sizeof jpeg_start);
    fail_unless_equals_int(gst_harness_push(sink, garbage), GST_FLOW_OK);

    GstBus* bus = nullptr;
    GstHarness* src = src_harness(id, [&](GstElement* element) {
        g_object_set(element, "normalize", TRUE, nullptr);
        bus = watch_bus(element);
    });
    GstBuffer* out = gst_harness_pull(src);
    fail_unless_equals_int(gst_buffer_get_size(out), 64 * 48 * 3);
    GstMapInfo map;
    gst_buffer_map(out, &map, GST_MAP_READ);
    for (gsize i = 0; i < map.size; ++i)
        fail_unless(map.data[i] == 0, "byte %" G_GSIZE_FORMAT " not black", i);
    gst_buffer_unmap(out, &map);
    gst_buffer_unref(out);
    GstMessage* warning = gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING);
    fail_unless(warning != nullptr);
    gst_message_unref(warning);
    teardown_watched(src, bus);
    gst_harness_teardown(sink);
}
GST_END_TEST;

GST_START_TEST(test_src_timeout_ends_stream)
{
    const std::string id = unique_id("timeout");
    SegmentCleanup cleanup(id);
    const auto started = std::chrono::steady_clock::now();
    GstHarness* h = src_harness(id, [](GstElement* src) {
        g_object_set(src, "timeout", guint64(100 * GST_MSECOND), nullptr);
    });
    bool eos = false;
    while (!eos) {
        GstEvent* event = gst_harness_pull_event(h);
        fail_unless(event != nullptr);
        eos = GST_EVENT_TYPE(event) == GST_EVENT_EOS;
        gst_event_unref(event);
    }
    const auto elapsed = std::chrono::steady_clock::now() - started;
    fail_unless(elapsed >= std::chrono::milliseconds(100));
    fail_unless(elapsed < std::chrono::seconds(5));
    gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_src_waiting_forever_stops_promptly)
{
    const std::string id = unique_id("unlock");
    SegmentCleanup cleanup(id);
    GstHarness* h = src_harness(id);
    // The streaming thread is waiting for a segment that never comes. Without unlock() it waited
    // for good; with it, it looks every 50 ms. The bound tells the two apart and leaves a busy
    // machine room (2 s was once too little beside a CPU-bound process on each core).
    const auto stopping = std::chrono::steady_clock::now();
    gst_harness_teardown(h);
    fail_unless(std::chrono::steady_clock::now() - stopping < std::chrono::seconds(10));
}
GST_END_TEST;

GST_START_TEST(test_src_timestamps_are_capture_running_time)
{
    const std::string id = unique_id("timestamps");
    SegmentCleanup cleanup(id);
    GstElement* element = nullptr;
    GstHarness* h = src_harness(id, [&](GstElement* src) { element = src; });
    gst_harness_use_systemclock(h);
    gst_element_set_state(h->element, GST_STATE_PAUSED);
    gst_harness_play(h);

    pvshm::Writer writer(id);
    pvshm::FrameInfo info = pvshm::packed_frame_info(pvshm::PixelFormat::GRAY8, 4, 4);
    info.timestamp_monotonic_ns = monotonic_ns() - 5 * GST_MSECOND;
    info.duration_ns = 20 * GST_MSECOND;
    std::vector<uint8_t> pixels(info.payload_size, 7);
    fail_unless(writer.write(info, pixels.data()).has_value());

    GstBuffer* out = gst_harness_pull(h);
    const auto base_time = int64_t(gst_element_get_base_time(element));
    fail_unless_equals_uint64(GST_BUFFER_PTS(out),
                              std::max<int64_t>(info.timestamp_monotonic_ns - base_time, 0));
    fail_unless_equals_uint64(GST_BUFFER_DURATION(out), 20 * GST_MSECOND);
    gst_buffer_unref(out);

    GstQuery* query = gst_query_new_latency();
    fail_unless(gst_element_query(h->element, query));
    gboolean live = FALSE;
    GstClockTime min_latency = GST_CLOCK_TIME_NONE;
    gst_query_parse_latency(query, &live, &min_latency, nullptr);
    fail_unless(live);
    fail_unless_equals_uint64(min_latency, 0);
    gst_query_unref(query);
    gst_harness_teardown(h);
}
GST_END_TEST;

// Frames captured before the pipeline started, a writer whose times are older than what was
// already output: PTS keep increasing (muxers refuse anything else), then follow capture time
// again. Guards against every early frame getting PTS 0.
GST_START_TEST(test_src_pts_strictly_increase_before_start_and_across_writer_restart)
{
    const std::string id = unique_id("ptsincrease");
    SegmentCleanup cleanup(id);
    GstElement* element = nullptr;
    GstHarness* h = src_harness(id, [&](GstElement* src) {
        element = src;
        gst_util_set_object_arg(G_OBJECT(src), "mode", "all");
    });
    gst_harness_use_systemclock(h);
    gst_element_set_state(h->element, GST_STATE_PAUSED);
    gst_harness_play(h);
    const auto base = int64_t(gst_element_get_base_time(element));

    GstClockTime previous = GST_CLOCK_TIME_NONE;
    auto write_and_pull = [&](pvshm::Writer& writer, int64_t capture_running, int64_t duration) {
        pvshm::FrameInfo info = pvshm::packed_frame_info(pvshm::PixelFormat::GRAY8, 4, 4);
        info.timestamp_monotonic_ns = base + capture_running;
        info.duration_ns = duration;
        std::vector<uint8_t> pixels(info.payload_size, 1);
        fail_unless(writer.write(info, pixels.data()).has_value());
        GstBuffer* out = gst_harness_pull(h);
        fail_unless(out != nullptr);
        const GstClockTime pts = GST_BUFFER_PTS(out);
        fail_unless(GST_CLOCK_TIME_IS_VALID(pts));
        fail_unless(GST_BUFFER_DURATION_IS_VALID(out));
        if (GST_CLOCK_TIME_IS_VALID(previous))
            fail_unless(pts > previous, "PTS %" GST_TIME_FORMAT " after %" GST_TIME_FORMAT,
                        GST_TIME_ARGS(pts), GST_TIME_ARGS(previous));
        previous = pts;
        const GstClockTime duration_out = GST_BUFFER_DURATION(out);
        gst_buffer_unref(out);
        return std::make_pair(pts, duration_out);
    };
    {
        pvshm::Writer original(id);
        // Captured before the pipeline's base time.
        fail_unless_equals_uint64(
            write_and_pull(original, -300 * GST_MSECOND, 40 * GST_MSECOND).first, 0);
        write_and_pull(original, -200 * GST_MSECOND, 40 * GST_MSECOND);
        write_and_pull(original, -100 * GST_MSECOND, 40 * GST_MSECOND);
        // Captured after it: its own running time again, latency preserved.
        const auto [pts, duration] = write_and_pull(original, 500 * GST_MSECOND, 40 * GST_MSECOND);
        fail_unless_equals_uint64(pts, 500 * GST_MSECOND);
        fail_unless_equals_uint64(duration, 40 * GST_MSECOND);
    }
    // A new writer of the id (the first one is gone) with equal and older capture times.
    pvshm::Writer restarted(id);
    write_and_pull(restarted, 500 * GST_MSECOND, -1);
    write_and_pull(restarted, 400 * GST_MSECOND, -1);
    // Without a duration of its own or a framerate in its caps: the gap to the previous frame.
    const GstClockTime before = previous;
    const auto [pts, duration] = write_and_pull(restarted, 2 * GST_SECOND, -1);
    fail_unless_equals_uint64(pts, 2 * GST_SECOND);
    fail_unless_equals_uint64(duration, 2 * GST_SECOND - before);
    gst_harness_teardown(h);
}
GST_END_TEST;

// A frame that catches up with its capture time after frames placed before the pipeline
// started comes at least half a frame interval after the previous one. Guards against PTS a
// fraction of a millisecond apart, which mp4mux (1/3000 s ticks at 30 frames/s) wrote as one
// timestamp: a recording started while frames were waiting failed its timestamp check.
GST_START_TEST(test_src_pts_stay_half_a_frame_apart_while_catching_up)
{
    const std::string id = unique_id("ptscatchup");
    SegmentCleanup cleanup(id);
    GstElement* element = nullptr;
    GstHarness* h = src_harness(id, [&](GstElement* src) {
        element = src;
        gst_util_set_object_arg(G_OBJECT(src), "mode", "all");
    });
    gst_harness_use_systemclock(h);
    gst_element_set_state(h->element, GST_STATE_PAUSED);
    gst_harness_play(h);
    const auto base = int64_t(gst_element_get_base_time(element));
    constexpr int64_t kInterval = 33'333'333;
    pvshm::Writer writer(id);
    auto write_and_pull = [&](int64_t capture_running) {
        pvshm::FrameInfo info = pvshm::packed_frame_info(pvshm::PixelFormat::GRAY8, 4, 4);
        info.timestamp_monotonic_ns = base + capture_running;
        info.duration_ns = kInterval;
        std::vector<uint8_t> pixels(info.payload_size, 1);
        fail_unless(writer.write(info, pixels.data()).has_value());
        GstBuffer* out = gst_harness_pull(h);
        fail_unless(out != nullptr);
        const GstClockTime pts = GST_BUFFER_PTS(out);
        gst_buffer_unref(out);
        return pts;
    };
    // Two frames captured before the start: placed at 0 and half an interval.
    fail_unless_equals_uint64(write_and_pull(-2 * kInterval), 0);
    fail_unless_equals_uint64(write_and_pull(-kInterval), kInterval / 2);
    // Captured 0.1 ms after that placement: half an interval after it all the same.
    fail_unless_equals_uint64(write_and_pull(kInterval / 2 + 100'000), 2 * (kInterval / 2));
    // Far enough after it: its own running time, latency preserved.
    fail_unless_equals_uint64(write_and_pull(3 * kInterval), 3 * kInterval);
    gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_src_buffers_carry_the_frame_facts)
{
    const std::string id = unique_id("facts");
    SegmentCleanup cleanup(id);
    pvshm::WriterOptions options;
    options.camera_id = "line-3";
    pvshm::Writer writer(id, options);
    pvshm::FrameInfo info = pvshm::packed_frame_info(pvshm::PixelFormat::GRAY8, 8, 2);
    info.timestamp_realtime_ns = 1'700'000'000'123'456'789;
    info.metadata = {{"part", std::string("A-17")}, {"count", int64_t{-42}}, {"score", 0.75}};
    std::vector<uint8_t> pixels(info.payload_size, 9);
    fail_unless(writer.write(info, pixels.data()).has_value());
    info.metadata.clear();
    fail_unless(writer.write(info, pixels.data()).has_value());

    GstHarness* h = src_harness(
        id, [](GstElement* src) { gst_util_set_object_arg(G_OBJECT(src), "mode", "all"); });
    GstBuffer* out = gst_harness_pull(h);
    // The newest frame first, as on every start.
    fail_unless_equals_uint64(GST_BUFFER_OFFSET(out), 2);
    fail_unless_equals_uint64(GST_BUFFER_OFFSET_END(out), 3);
    gst_buffer_unref(out);
    std::fill(pixels.begin(), pixels.end(), 10);
    info.metadata = {{"part", std::string("A-18")}, {"count", int64_t{7}}, {"score", 0.5}};
    fail_unless(writer.write(info, pixels.data()).has_value());
    out = gst_harness_pull(h);
    fail_unless_equals_uint64(GST_BUFFER_OFFSET(out), 3);
    fail_unless_equals_uint64(GST_BUFFER_OFFSET_END(out), 4);

    GstCaps* unix_time = gst_caps_from_string("timestamp/x-unix");
    const GstReferenceTimestampMeta* realtime =
        gst_buffer_get_reference_timestamp_meta(out, unix_time);
    gst_caps_unref(unix_time);
    fail_unless(realtime != nullptr);
    fail_unless_equals_uint64(realtime->timestamp, 1'700'000'000'123'456'789);

    GstCustomMeta* meta = gst_buffer_get_custom_meta(out, "GstPvShmFrameMeta");
    fail_unless(meta != nullptr);
    const GstStructure* s = gst_custom_meta_get_structure(meta);
    fail_unless_equals_string(gst_structure_get_string(s, "camera-id"), "line-3");
    guint64 sequence = 0;
    fail_unless(gst_structure_get_uint64(s, "sequence", &sequence));
    fail_unless_equals_uint64(sequence, 3);
    fail_unless_equals_string(gst_structure_get_string(s, "part"), "A-18");
    gint64 count = 0;
    fail_unless(gst_structure_get_int64(s, "count", &count));
    fail_unless_equals_int64(count, 7);
    gdouble score = 0;
    fail_unless(gst_structure_get_double(s, "score", &score));
    fail_unless(score == 0.5);
    fail_unless_equals_int(gst_structure_n_fields(s), 5);
    gst_buffer_unref(out);
    gst_harness_teardown(h);
}
GST_END_TEST;

// pvshmsrc ! pvshmsink keeps what pvshmsrc puts on its buffers.
GST_START_TEST(test_src_facts_survive_a_relay_through_the_sink)
{
    const std::string from = unique_id("relayfrom");
    const std::string to = unique_id("relayto");
    SegmentCleanup cleanup_from(from);
    SegmentCleanup cleanup_to(to);
    FactsWriter writer(from, "dock", 1'650'000'000'000'000'001,
                       {{"lot", std::string("L9")}, {"n", int64_t{3}}, {"gain", 1.5}});
    writer.write();

    GstHarness* src = src_harness(from);
    GstBuffer* out = gst_harness_pull(src);
    GstHarness* sink = sink_harness(to, "video/x-raw,format=BGR,width=6,height=4,framerate=30/1");
    fail_unless_equals_int(gst_harness_push(sink, out), GST_FLOW_OK);

    pvshm::Reader reader(to);
    auto view = reader.view_latest();
    fail_unless(bool(view));
    writer.check_carried_by(*view);
    gst_harness_teardown(sink);
    gst_harness_teardown(src);
}
GST_END_TEST;

// Converters keep the facts: their metas carry no tags that tie them to the pixels.
GST_START_TEST(test_src_facts_survive_videoconvert)
{
    const std::string id = unique_id("convertfacts");
    SegmentCleanup cleanup(id);
    FactsWriter writer(id, "left", 1'650'000'000'000'000'002, {{"lot", std::string("L10")}});
    writer.write();

    GstHarness* src = src_harness(id);
    GstBuffer* out = gst_harness_pull(src);
    GstHarness* convert =
        gst_harness_new_parse("videoconvert ! capsfilter caps=video/x-raw,format=I420");
    gst_harness_set_src_caps_str(convert, "video/x-raw,format=BGR,width=6,height=4,framerate=0/1");
    fail_unless_equals_int(gst_harness_push(convert, out), GST_FLOW_OK);
    GstBuffer* converted = gst_harness_pull(convert);
    GstCaps* unix_time = gst_caps_from_string("timestamp/x-unix");
    const GstReferenceTimestampMeta* realtime =
        gst_buffer_get_reference_timestamp_meta(converted, unix_time);
    gst_caps_unref(unix_time);
    fail_unless(realtime != nullptr);
    fail_unless_equals_uint64(realtime->timestamp, 1'650'000'000'000'000'002);
    GstCustomMeta* meta = gst_buffer_get_custom_meta(converted, "GstPvShmFrameMeta");
    fail_unless(meta != nullptr);
    fail_unless_equals_string(gst_structure_get_string(gst_custom_meta_get_structure(meta), "lot"),
                              "L10");
    gst_buffer_unref(converted);
    gst_harness_teardown(convert);
    gst_harness_teardown(src);
}
GST_END_TEST;

GST_START_TEST(test_src_color_space_orders_unordered_frames)
{
    const std::string id = unique_id("colorspace");
    SegmentCleanup cleanup(id);
    cv::Mat array(2, 3, CV_8UC3, cv::Scalar(10, 20, 30));
    pvshm::write_image_array_to_shared_memory(id, array);

    GstElement* probe = gst_element_factory_make("pvshmsrc", nullptr);
    gint color_space = -1;
    g_object_get(probe, "color-space", &color_space, nullptr);
    GEnumClass* spaces = G_ENUM_CLASS(g_type_class_ref(
        g_object_class_find_property(G_OBJECT_GET_CLASS(probe), "color-space")->value_type));
    fail_unless_equals_string(g_enum_get_value(spaces, color_space)->value_nick, "RGB");
    g_type_class_unref(spaces);
    gst_object_unref(probe);

    struct Case
    {
        const char* color_space;
        bool normalize;
        const char* format;
        uint8_t first;
    };
    const Case cases[] = {
        {"RGB", false, "RGB", 10},
        {"BGR", false, "BGR", 10},
        {"RGB", true, "RGB", 10},
        {"BGR", true, "RGB", 30},
    };
    for (const auto& c : cases) {
        GstHarness* h = src_harness(id, [&](GstElement* src) {
            gst_util_set_object_arg(G_OBJECT(src), "color-space", c.color_space);
            g_object_set(src, "normalize", c.normalize, nullptr);
        });
        GstBuffer* out = gst_harness_pull(h);
        GstCaps* caps = gst_pad_get_current_caps(h->sinkpad);
        fail_unless_equals_string(
            gst_structure_get_string(gst_caps_get_structure(caps, 0), "format"), c.format);
        gst_caps_unref(caps);
        fail_unless_equals_int(first_byte(out), c.first);
        gst_buffer_unref(out);
        gst_harness_teardown(h);
    }
}
GST_END_TEST;

GST_START_TEST(test_src_max_age_skips_old_frames)
{
    const std::string id = unique_id("maxage");
    SegmentCleanup cleanup(id);
    pvshm::Writer writer(id);
    pvshm::FrameInfo info = pvshm::packed_frame_info(pvshm::PixelFormat::GRAY8, 4, 4);
    info.timestamp_realtime_ns = realtime_ns() - 10 * GST_SECOND;
    std::vector<uint8_t> pixels(info.payload_size, 1);
    fail_unless(writer.write(info, pixels.data()).has_value());

    GstBus* bus = nullptr;
    GstHarness* h = src_harness(id, [&](GstElement* src) {
        g_object_set(src, "max-age", guint64(GST_SECOND), "timeout", guint64(300 * GST_MSECOND),
                     nullptr);
        bus = watch_bus(src);
    });
    // Only a frame too old: the timeout says so.
    fail_unless(wait_for_eos(h));
    const Posted posted = pop_posted(bus);
    fail_unless_equals_int(posted.timeout_reasons.size(), 1);
    const std::string& reason = posted.timeout_reasons[0];
    fail_unless(reason.find("younger than max-age (1s) within 0.3s") != std::string::npos, "%s",
                reason.c_str());
    fail_unless_equals_uint64(stat_of(h->element, "frames-too-old"), 1);
    teardown_watched(h, bus);

    h = src_harness(id, [](GstElement* src) {
        gst_util_set_object_arg(G_OBJECT(src), "mode", "all");
        g_object_set(src, "max-age", guint64(GST_SECOND), nullptr);
    });
    std::fill(pixels.begin(), pixels.end(), 2);
    info.timestamp_realtime_ns = 0; // now
    fail_unless(writer.write(info, pixels.data()).has_value());
    GstBuffer* out = gst_harness_pull(h);
    fail_unless_equals_int(first_byte(out), 2);
    gst_buffer_unref(out);
    gst_harness_teardown(h);
}
GST_END_TEST;

// One warning naming the id per reason, and a timeout that says why it ended the stream.
GST_START_TEST(test_src_warns_once_about_a_missing_segment)
{
    const std::string id = unique_id("nosegment");
    GstBus* bus = nullptr;
    GstHarness* h = src_harness(id, [&](GstElement* src) {
        g_object_set(src, "timeout", guint64(300 * GST_MSECOND), nullptr);
        bus = watch_bus(src);
    });
    fail_unless(wait_for_eos(h));
    const Posted posted = pop_posted(bus);
    fail_unless_equals_int(posted.warnings.size(), 1);
    fail_unless(posted.warnings[0].find("'" + id + "'") != std::string::npos, "%s",
                posted.warnings[0].c_str());
    fail_unless_equals_int(posted.timeout_reasons.size(), 1);
    fail_unless(posted.timeout_reasons[0] == "no segment '" + id + "' within 0.3s", "%s",
                posted.timeout_reasons[0].c_str());
    teardown_watched(h, bus);
    fail_unless(segment_absent(id));
}
GST_END_TEST;

GST_START_TEST(test_src_warns_once_about_a_dead_writer)
{
    const std::string id = unique_id("deadwriter");
    SegmentCleanup cleanup(id);
    write_gray_frames(id, 2);
    GstBus* bus = nullptr;
    GstHarness* h = src_harness(id, [&](GstElement* src) {
        g_object_set(src, "timeout", guint64(300 * GST_MSECOND), nullptr);
        bus = watch_bus(src);
    });
    // The dead writer's last frame is still delivered.
    GstBuffer* out = gst_harness_pull(h);
    fail_unless_equals_int(first_byte(out), 2);
    gst_buffer_unref(out);
    fail_unless(wait_for_eos(h));
    const Posted posted = pop_posted(bus);
    fail_unless_equals_int(posted.warnings.size(), 1);
    fail_unless(posted.warnings[0].find("writer of '" + id + "' is gone") != std::string::npos,
                "%s", posted.warnings[0].c_str());
    fail_unless_equals_int(posted.timeout_reasons.size(), 1);
    fail_unless(posted.timeout_reasons[0] ==
                    "writer of '" + id + "' is gone, no new frame within 0.3s",
                "%s", posted.timeout_reasons[0].c_str());
    teardown_watched(h, bus);
}
GST_END_TEST;

GST_START_TEST(test_src_timeout_with_a_live_writer_says_no_new_frame)
{
    const std::string id = unique_id("nonewframe");
    SegmentCleanup cleanup(id);
    pvshm::Writer writer(id);
    GstBus* bus = nullptr;
    GstHarness* h = src_harness(id, [&](GstElement* src) {
        g_object_set(src, "timeout", guint64(200 * GST_MSECOND), nullptr);
        bus = watch_bus(src);
    });
    fail_unless(wait_for_eos(h));
    const Posted posted = pop_posted(bus);
    fail_unless_equals_int(posted.warnings.size(), 1);
    fail_unless(posted.warnings[0].find("no new frame of '" + id + "' within 0.2s") !=
                    std::string::npos,
                "%s", posted.warnings[0].c_str());
    fail_unless_equals_int(posted.timeout_reasons.size(), 1);
    teardown_watched(h, bus);
}
GST_END_TEST;

static Suite* pvshmsrc_suite()
{
    Suite* s = suite_create("pvshmsrc");
    TCase* tc = general_test_case(s, 30);
    tcase_add_test(tc, test_src_property_defaults);
    tcase_add_test(tc, test_src_invalid_id_is_an_element_error);
    tcase_add_test(tc, test_src_outputs_sink_frames_unchanged);
    tcase_add_test(tc, test_src_starts_with_newest_frame_of_exited_writer);
    tcase_add_test(tc, test_src_repacks_padded_rows_for_a_downstream_without_video_meta);
    tcase_add_test(tc, test_src_mode_all_counts_overwritten_frames);
    tcase_add_test(tc, test_src_follows_caps_change);
    tcase_add_test(tc, test_src_normalize_matches_library);
    tcase_add_test(tc, test_src_normalize_undecodable_is_black_with_warning);
    tcase_add_test(tc, test_src_timeout_ends_stream);
    tcase_add_test(tc, test_src_waiting_forever_stops_promptly);
    tcase_add_test(tc, test_src_timestamps_are_capture_running_time);
    tcase_add_test(tc, test_src_pts_strictly_increase_before_start_and_across_writer_restart);
    tcase_add_test(tc, test_src_pts_stay_half_a_frame_apart_while_catching_up);
    tcase_add_test(tc, test_src_buffers_carry_the_frame_facts);
    tcase_add_test(tc, test_src_facts_survive_a_relay_through_the_sink);
    tcase_add_test(tc, test_src_facts_survive_videoconvert);
    tcase_add_test(tc, test_src_color_space_orders_unordered_frames);
    tcase_add_test(tc, test_src_max_age_skips_old_frames);
    tcase_add_test(tc, test_src_warns_once_about_a_missing_segment);
    tcase_add_test(tc, test_src_warns_once_about_a_dead_writer);
    tcase_add_test(tc, test_src_timeout_with_a_live_writer_says_no_new_frame);
    return s;
}

GST_CHECK_MAIN(pvshmsrc)
