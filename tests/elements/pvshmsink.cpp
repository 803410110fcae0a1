// SPDX-License-Identifier: LGPL-2.1-or-later
// pvshmsink: properties and their ranges, errors, every format, in-place (zero-copy) frames,
// caps changes, frames over the size limit, the facts taken from incoming metas, and what
// happens to the segment on stop.
#include <cstring>
#include <string>
#include <sys/mman.h>
#include <thread>
#include <vector>

#include <gst/video/video.h>

#include "element_support.hpp"

using namespace pvshm::element_test;

namespace {

struct FormatCase
{
    const char* caps;
    pvshm::PixelFormat format;
};

// Odd sizes so that GStreamer's row and plane padding must be honoured.
const FormatCase kFormats[] = {
    {"video/x-raw,format=RGB,width=321,height=241,framerate=30/1", pvshm::PixelFormat::RGB},
    {"video/x-raw,format=BGR,width=321,height=241,framerate=30/1", pvshm::PixelFormat::BGR},
    {"video/x-raw,format=RGBA,width=321,height=241,framerate=30/1", pvshm::PixelFormat::RGBA},
    {"video/x-raw,format=BGRA,width=321,height=241,framerate=30/1", pvshm::PixelFormat::BGRA},
    {"video/x-raw,format=RGBx,width=321,height=241,framerate=30/1", pvshm::PixelFormat::RGBx},
    {"video/x-raw,format=BGRx,width=321,height=241,framerate=30/1", pvshm::PixelFormat::BGRx},
    {"video/x-raw,format=GRAY8,width=321,height=241,framerate=30/1", pvshm::PixelFormat::GRAY8},
    {"video/x-raw,format=GRAY16_LE,width=321,height=241,framerate=30/1",
     pvshm::PixelFormat::GRAY16_LE},
    {"video/x-raw,format=NV12,width=321,height=241,framerate=30/1", pvshm::PixelFormat::NV12},
    {"video/x-raw,format=I420,width=321,height=241,framerate=30/1", pvshm::PixelFormat::I420},
    {"video/x-raw,format=YUY2,width=321,height=241,framerate=30/1", pvshm::PixelFormat::YUY2},
    {"video/x-raw,format=UYVY,width=321,height=241,framerate=30/1", pvshm::PixelFormat::UYVY},
    {"video/x-bayer,format=rggb,width=321,height=241,framerate=30/1",
     pvshm::PixelFormat::BayerRGGB},
    {"video/x-bayer,format=bggr,width=321,height=241,framerate=30/1",
     pvshm::PixelFormat::BayerBGGR},
    {"video/x-bayer,format=grbg,width=321,height=241,framerate=30/1",
     pvshm::PixelFormat::BayerGRBG},
    {"video/x-bayer,format=gbrg,width=321,height=241,framerate=30/1",
     pvshm::PixelFormat::BayerGBRG},
    {"image/jpeg,width=321,height=241,framerate=30/1", pvshm::PixelFormat::Jpeg},
    {"image/png,width=321,height=241,framerate=30/1", pvshm::PixelFormat::Png},
};

GstElement* configured_sink(const char* id)
{
    GstElement* sink = gst_element_factory_make("pvshmsink", nullptr);
    if (id)
        g_object_set(sink, "shared-mem-id", id, nullptr);
    return sink;
}

} // namespace

GST_START_TEST(test_sink_property_defaults)
{
    GstElement* sink = configured_sink(nullptr);
    fail_unless(sink != nullptr);
    gchar* id = nullptr;
    gchar* camera_id = nullptr;
    guint slots = 0;
    guint perms = 0;
    gboolean persist = FALSE;
    g_object_get(sink, "shared-mem-id", &id, "camera-id", &camera_id, "slots", &slots, "perms",
                 &perms, "persist", &persist, nullptr);
    fail_unless(id == nullptr);
    fail_unless(camera_id == nullptr);
    fail_unless_equals_int(slots, 4);
    fail_unless_equals_int(perms, 0600);
    fail_unless(persist);

    guint bit_depth = 1;
    gboolean lossless = TRUE;
    guint64 lossless_timeout = 1;
    g_object_get(sink, "bit-depth", &bit_depth, "lossless", &lossless, "lossless-timeout",
                 &lossless_timeout, nullptr);
    fail_unless_equals_int(bit_depth, 0);
    fail_if(lossless);
    fail_unless_equals_uint64(lossless_timeout, 0);

    // Out-of-range values reach the element, which refuses them at start: GObject would only
    // warn and keep the previous value. The blurb states the real range.
    for (const char* property : {"slots", "perms", "bit-depth"}) {
        GParamSpec* spec = g_object_class_find_property(G_OBJECT_GET_CLASS(sink), property);
        fail_unless(spec != nullptr, "%s", property);
        fail_unless_equals_int(G_PARAM_SPEC_UINT(spec)->minimum, 0);
        fail_unless_equals_uint64(G_PARAM_SPEC_UINT(spec)->maximum, G_MAXUINT);
    }
    GParamSpec* spec = g_object_class_find_property(G_OBJECT_GET_CLASS(sink), "slots");
    fail_unless(strstr(g_param_spec_get_blurb(spec), "2 to 64") != nullptr);
    spec = g_object_class_find_property(G_OBJECT_GET_CLASS(sink), "perms");
    fail_unless(strstr(g_param_spec_get_blurb(spec), "0 to 0777") != nullptr);
    spec = g_object_class_find_property(G_OBJECT_GET_CLASS(sink), "bit-depth");
    fail_unless(strstr(g_param_spec_get_blurb(spec), "1 to 16") != nullptr);
    // Our stats replace GstBaseSink's, read-only.
    spec = g_object_class_find_property(G_OBJECT_GET_CLASS(sink), "stats");
    fail_unless(spec->owner_type == G_OBJECT_TYPE(sink));
    fail_unless(spec->value_type == GST_TYPE_STRUCTURE);
    fail_if(spec->flags & G_PARAM_WRITABLE);
    for (const char* field : {"frames-written", "bytes-written", "zero-copy-frames",
                              "frames-dropped", "lossless-drops"})
        fail_unless_equals_uint64(stat_of(sink, field), 0);

    const gchar* klass =
        gst_element_factory_get_metadata(gst_element_get_factory(sink), GST_ELEMENT_METADATA_KLASS);
    fail_unless_equals_string(klass, "Sink/Video");
    gst_object_unref(sink);
}
GST_END_TEST;

GST_START_TEST(test_sink_invalid_id_is_an_element_error)
{
    for (const char* bad : {"bad/id", ".hidden", "../../etc/passwd"}) {
        GstElement* sink = configured_sink(bad);
        GError* error = start_error(sink);
        fail_unless(error != nullptr, "no error for %s", bad);
        fail_unless(error->domain == GST_RESOURCE_ERROR);
        fail_unless(strstr(error->message, bad) != nullptr, "%s", error->message);
        g_error_free(error);
        gst_object_unref(sink);
    }
    GstElement* sink = configured_sink(nullptr);
    GError* error = start_error(sink);
    fail_unless(error != nullptr);
    g_error_free(error);
    gst_object_unref(sink);
}
GST_END_TEST;

GST_START_TEST(test_sink_writes_every_format)
{
    int index = 0;
    for (const auto& format : kFormats) {
        const std::string id = unique_id("format" + std::to_string(index++));
        SegmentCleanup cleanup(id);
        GstHarness* h = sink_harness(id, format.caps);
        const gsize size = frame_layout(format.caps).size;
        GstBuffer* buffer = pattern_buffer(size, uint8_t(index));
        fail_unless_equals_int(gst_harness_push(h, gst_buffer_ref(buffer)), GST_FLOW_OK);

        pvshm::Reader reader(id);
        auto view = reader.view_latest();
        fail_unless(bool(view), "%s: no frame", format.caps);
        fail_unless(view->info().format == format.format, "%s", format.caps);
        fail_unless_equals_int(view->info().width, 321);
        fail_unless_equals_int(view->info().height, 241);
        fail_unless(buffer_equals(buffer, view->data(), view->size()), "%s: bytes differ",
                    format.caps);
        GstCaps* written = gst_caps_from_string(view->info().caps.c_str());
        GstCaps* expected = gst_caps_from_string(format.caps);
        fail_unless(written && gst_caps_is_equal(written, expected), "%s: stored %s", format.caps,
                    view->info().caps.c_str());
        gst_caps_unref(written);
        gst_caps_unref(expected);
        fail_unless_equals_uint64(stat_of(h->element, "frames-written"), 1);
        fail_unless_equals_uint64(stat_of(h->element, "bytes-written"), size);
        gst_buffer_unref(buffer);
        gst_harness_teardown(h);
    }
}
GST_END_TEST;

GST_START_TEST(test_sink_copies_padded_rows_into_caps_layout)
{
    const std::string id = unique_id("padded");
    SegmentCleanup cleanup(id);
    GstHarness* h = sink_harness(id, "video/x-raw,format=GRAY8,width=61,height=5,framerate=1/1");
    const gsize padded_stride = 80;
    GstBuffer* buffer = pattern_buffer(padded_stride * 5);
    gsize offset[GST_VIDEO_MAX_PLANES] = {0};
    gint stride[GST_VIDEO_MAX_PLANES] = {gint(padded_stride)};
    gst_buffer_add_video_meta_full(buffer, GST_VIDEO_FRAME_FLAG_NONE, GST_VIDEO_FORMAT_GRAY8, 61, 5,
                                   1, offset, stride);
    fail_unless_equals_int(gst_harness_push(h, gst_buffer_ref(buffer)), GST_FLOW_OK);

    pvshm::Reader reader(id);
    auto view = reader.view_latest();
    fail_unless(bool(view));
    const uint32_t written_stride = view->info().strides[0];
    fail_unless_equals_int(written_stride, GST_ROUND_UP_4(61));
    for (int row = 0; row < 5; ++row)
        fail_unless(gst_buffer_memcmp(buffer, row * padded_stride,
                                      view->data() + row * written_stride, 61) == 0,
                    "row %d", row);
    gst_buffer_unref(buffer);
    gst_harness_teardown(h);
}
GST_END_TEST;

// Upstream's view of the sink's allocation proposal, with the pool configured and active.
static GstBufferPool* proposed_pool(GstHarness* h, const char* caps_string)
{
    GstCaps* caps = gst_caps_from_string(caps_string);
    GstQuery* query = gst_query_new_allocation(caps, TRUE);
    fail_unless(gst_pad_peer_query(h->srcpad, query));
    fail_unless(gst_query_find_allocation_meta(query, GST_VIDEO_META_API_TYPE, nullptr));
    fail_unless(gst_query_get_n_allocation_pools(query) > 0);
    GstBufferPool* pool = nullptr;
    guint size = 0;
    gst_query_parse_nth_allocation_pool(query, 0, &pool, &size, nullptr, nullptr);
    fail_unless(pool != nullptr);
    GstStructure* config = gst_buffer_pool_get_config(pool);
    gst_buffer_pool_config_set_params(config, caps, size, 2, 0);
    gst_buffer_pool_config_add_option(config, GST_BUFFER_POOL_OPTION_VIDEO_META);
    fail_unless(gst_buffer_pool_set_config(pool, config));
    fail_unless(gst_buffer_pool_set_active(pool, TRUE));
    gst_query_unref(query);
    gst_caps_unref(caps);
    return pool;
}

static void fill(GstBuffer* buffer, uint8_t seed)
{
    GstMapInfo map;
    fail_unless(gst_buffer_map(buffer, &map, GST_MAP_WRITE));
    for (gsize i = 0; i < map.size; ++i)
        map.data[i] = uint8_t(seed + i);
    gst_buffer_unmap(buffer, &map);
}

GST_START_TEST(test_sink_pool_buffers_are_written_in_place)
{
    const std::string id = unique_id("zerocopy");
    SegmentCleanup cleanup(id);
    const char* caps = "video/x-raw,format=I420,width=321,height=241,framerate=30/1";
    GstHarness* h = sink_harness(id, caps);
    GstBufferPool* pool = proposed_pool(h, caps);

    GstBuffer* buffer = nullptr;
    fail_unless_equals_int(gst_buffer_pool_acquire_buffer(pool, &buffer, nullptr), GST_FLOW_OK);
    fail_unless(gst_buffer_get_video_meta(buffer) != nullptr);
    fill(buffer, 3);
    GstBuffer* expected = gst_buffer_copy_deep(buffer);
    // Rendered twice: published in place once, then copied (a slot is never published twice).
    fail_unless_equals_int(gst_harness_push(h, gst_buffer_ref(buffer)), GST_FLOW_OK);
    fail_unless_equals_uint64(stat_of(h->element, "zero-copy-frames"), 1);
    fail_unless_equals_int(gst_harness_push(h, buffer), GST_FLOW_OK);
    fail_unless_equals_uint64(stat_of(h->element, "zero-copy-frames"), 1);
    fail_unless_equals_uint64(stat_of(h->element, "frames-written"), 2);

    pvshm::Reader reader(id);
    auto view = reader.view_latest();
    fail_unless(bool(view));
    fail_unless_equals_uint64(view->info().sequence, 2);
    fail_unless(buffer_equals(expected, view->data(), view->size()));
    gst_buffer_unref(expected);

    gst_buffer_pool_set_active(pool, FALSE);
    gst_object_unref(pool);
    gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_sink_pool_never_blocks_when_slots_run_out)
{
    const std::string id = unique_id("poolfull");
    SegmentCleanup cleanup(id);
    const char* caps = "video/x-raw,format=BGR,width=64,height=48,framerate=30/1";
    GstHarness* h =
        sink_harness(id, caps, [](GstElement* sink) { g_object_set(sink, "slots", 2u, nullptr); });
    GstBufferPool* pool = proposed_pool(h, caps);
    // More buffers out at once than the segment has slots: the rest are plain memory.
    std::vector<GstBuffer*> buffers(5);
    for (size_t i = 0; i < buffers.size(); ++i) {
        fail_unless_equals_int(gst_buffer_pool_acquire_buffer(pool, &buffers[i], nullptr),
                               GST_FLOW_OK);
        fill(buffers[i], uint8_t(i));
    }
    GstBuffer* last = gst_buffer_copy_deep(buffers.back());
    for (GstBuffer* buffer : buffers)
        fail_unless_equals_int(gst_harness_push(h, buffer), GST_FLOW_OK);
    fail_unless_equals_uint64(stat_of(h->element, "frames-written"), 5);
    fail_unless_equals_uint64(stat_of(h->element, "frames-dropped"), 0);
    const guint64 in_place = stat_of(h->element, "zero-copy-frames");
    fail_unless(in_place >= 1 && in_place <= 2, "%" G_GUINT64_FORMAT " in place", in_place);

    pvshm::Reader reader(id);
    auto view = reader.view_latest();
    fail_unless(bool(view));
    fail_unless(buffer_equals(last, view->data(), view->size()));
    gst_buffer_unref(last);
    gst_buffer_pool_set_active(pool, FALSE);
    gst_object_unref(pool);
    gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_sink_caps_change_mid_stream)
{
    const std::string id = unique_id("capschange");
    SegmentCleanup cleanup(id);
    GstHarness* h = sink_harness(id, "video/x-raw,format=BGR,width=32,height=24,framerate=30/1");
    fail_unless_equals_int(gst_harness_push(h, pattern_buffer(32 * 24 * 3)), GST_FLOW_OK);
    // Larger than a slot of the first caps: the segment must grow.
    gst_harness_set_src_caps_str(h, "video/x-raw,format=GRAY8,width=640,height=480,framerate=30/1");
    GstBuffer* buffer = pattern_buffer(640 * 480, 9);
    fail_unless_equals_int(gst_harness_push(h, gst_buffer_ref(buffer)), GST_FLOW_OK);

    pvshm::Reader reader(id);
    auto view = reader.view_latest();
    fail_unless(bool(view));
    fail_unless(view->info().format == pvshm::PixelFormat::GRAY8);
    fail_unless_equals_int(view->info().width, 640);
    fail_unless(buffer_equals(buffer, view->data(), view->size()));
    gst_buffer_unref(buffer);
    fail_unless_equals_uint64(stat_of(h->element, "frames-written"), 2);
    gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_sink_persist_false_removes_segment_on_stop)
{
    const std::string id = unique_id("nopersist");
    SegmentCleanup cleanup(id);
    GstHarness* h =
        sink_harness(id, "video/x-raw,format=GRAY8,width=8,height=8,framerate=30/1",
                     [](GstElement* sink) { g_object_set(sink, "persist", FALSE, nullptr); });
    fail_unless_equals_int(gst_harness_push(h, pattern_buffer(64)), GST_FLOW_OK);
    fail_if(segment_absent(id));
    gst_harness_teardown(h);
    fail_unless(segment_absent(id));
}
GST_END_TEST;

GST_START_TEST(test_sink_persist_keeps_last_frame_after_stop)
{
    const std::string id = unique_id("persist");
    SegmentCleanup cleanup(id);
    GstHarness* h =
        sink_harness(id, "video/x-raw,format=GRAY8,width=8,height=8,framerate=30/1",
                     [](GstElement* sink) { g_object_set(sink, "camera-id", "front", nullptr); });
    GstBuffer* buffer = pattern_buffer(64, 5);
    fail_unless_equals_int(gst_harness_push(h, gst_buffer_ref(buffer)), GST_FLOW_OK);
    gst_harness_teardown(h);

    pvshm::Reader reader(id);
    auto view = reader.view_latest();
    fail_unless(bool(view));
    fail_unless_equals_string(view->info().camera_id.c_str(), "front");
    fail_unless(buffer_equals(buffer, view->data(), view->size()));
    fail_if(reader.writer_alive());
    gst_buffer_unref(buffer);
}
GST_END_TEST;

GST_START_TEST(test_sink_out_of_range_properties_keep_it_from_starting)
{
    const std::string id = unique_id("range");
    struct Case
    {
        const char* property;
        const char* value;
        const char* expected;
    };
    const Case cases[] = {
        {"slots", "1", "Property slots is 1, outside its range 2 to 64"},
        {"slots", "65", "Property slots is 65, outside its range 2 to 64"},
        // Decimal 644 is 01204: not permission bits.
        {"perms", "644", "Property perms is 01204, outside its range 0 to 0777"},
        {"bit-depth", "17", "Property bit-depth is 17, outside its range 0 to 16"},
        {"lossless-timeout", "9223372036854775808",
         "Property lossless-timeout is 9223372036854775808, outside its range 0 to "
         "9223372036854775807"},
    };
    for (const auto& c : cases) {
        GstElement* sink = configured_sink(id.c_str());
        gst_util_set_object_arg(G_OBJECT(sink), c.property, c.value);
        // Kept as given, not replaced by a default.
        GValue value = G_VALUE_INIT;
        g_value_init(&value, G_TYPE_UINT64);
        GValue kept = G_VALUE_INIT;
        g_value_init(
            &kept, g_object_class_find_property(G_OBJECT_GET_CLASS(sink), c.property)->value_type);
        g_object_get_property(G_OBJECT(sink), c.property, &kept);
        fail_unless(g_value_transform(&kept, &value));
        fail_unless_equals_uint64(g_value_get_uint64(&value),
                                  g_ascii_strtoull(c.value, nullptr, 0));
        g_value_unset(&kept);
        g_value_unset(&value);
        GError* error = start_error(sink);
        fail_unless(error != nullptr, "%s=%s started", c.property, c.value);
        fail_unless(strstr(error->message, c.expected) != nullptr, "%s", error->message);
        g_error_free(error);
        gst_object_unref(sink);
        fail_unless(segment_absent(id));
    }
    // What the library refuses is an element error too, in its words.
    GstElement* sink = configured_sink(id.c_str());
    g_object_set(sink, "lossless", TRUE, "slots", 2u, nullptr);
    GError* error = start_error(sink);
    fail_unless(error != nullptr);
    fail_unless(strstr(error->message, "at least 3 slots") != nullptr, "%s", error->message);
    g_error_free(error);
    gst_object_unref(sink);
    fail_unless(segment_absent(id));

    // Octal permission bits and bit depths in range start.
    SegmentCleanup cleanup(id);
    GstHarness* h = sink_harness(id, "video/x-raw,format=GRAY16_LE,width=4,height=2,framerate=1/1",
                                 [](GstElement* sink) {
                                     gst_util_set_object_arg(G_OBJECT(sink), "perms", "0640");
                                     g_object_set(sink, "bit-depth", 12u, "slots", 64u, nullptr);
                                 });
    fail_unless_equals_int(gst_harness_push(h, pattern_buffer(16)), GST_FLOW_OK);
    pvshm::Reader reader(id);
    auto status = reader.status();
    fail_unless(status.has_value());
    fail_unless_equals_int(status->mode, 0640);
    fail_unless_equals_int(status->slots, 64);
    fail_unless(status->latest.has_value());
    fail_unless_equals_int(status->latest->bit_depth, 12);
    gst_harness_teardown(h);
}
GST_END_TEST;

// Pushes `buffer` into a pvshmsink of `caps`, which must return `flow`, post an error containing
// `expected` and leave no segment behind.
static void check_refused(const std::string& id, const char* caps, GstBuffer* buffer,
                          GstFlowReturn flow, const char* expected)
{
    GstBus* bus = nullptr;
    GstHarness* h = sink_harness(id, caps, [&](GstElement* sink) { bus = watch_bus(sink); });
    fail_unless_equals_int(gst_harness_push(h, buffer), flow);
    const std::string text = error_text(bus);
    fail_unless(text.find(expected) != std::string::npos, "%s", text.c_str());
    teardown_watched(h, bus);
    fail_unless(segment_absent(id));
}

GST_START_TEST(test_sink_oversized_caps_name_the_size_and_leave_no_segment)
{
    const std::string id = unique_id("hugecaps");
    SegmentCleanup cleanup(id);
    const struct
    {
        const char* caps;
        const char* expected;
    } cases[] = {
        {"video/x-raw,format=RGBA,width=20000,height=20000,framerate=30/1",
         "20000x20000 RGBA frames take 1600000000 bytes, more than the limit of 1073741824 bytes "
         "per frame"},
        // More than GStreamer itself lays out.
        {"video/x-raw,format=RGBA,width=65535,height=65535,framerate=30/1",
         "65535x65535 RGBA frames take at least 4294836225 bytes, more than the limit of "
         "1073741824 bytes per frame"},
        {"video/x-bayer,format=rggb,width=40000,height=30000,framerate=30/1",
         "40000x30000 rggb frames take 1200000000 bytes, more than the limit"},
    };
    for (const auto& c : cases)
        check_refused(id, c.caps, pattern_buffer(64), GST_FLOW_NOT_NEGOTIATED, c.expected);
}
GST_END_TEST;

GST_START_TEST(test_sink_oversized_image_names_the_size_and_leaves_no_segment)
{
    const std::string id = unique_id("hugeimage");
    SegmentCleanup cleanup(id);
    // Address space only: the sink must refuse it before reading a byte.
    const gsize size = pvshm::kMaxPayloadSize + 1;
    void* pages =
        mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    fail_unless(pages != MAP_FAILED);
    GstBuffer* huge = gst_buffer_new_wrapped_full(GST_MEMORY_FLAG_READONLY, pages, size, 0, size,
                                                  nullptr, nullptr);
    check_refused(id, "image/jpeg,width=64,height=48,framerate=30/1", huge, GST_FLOW_ERROR,
                  "1073741825 bytes, more than the limit of 1073741824");
    munmap(pages, size);
}
GST_END_TEST;

GST_START_TEST(test_sink_takes_unix_time_and_frame_meta)
{
    const std::string id = unique_id("takemeta");
    SegmentCleanup cleanup(id);
    GstBus* bus = nullptr;
    GstHarness* h = sink_harness(id, "video/x-raw,format=GRAY8,width=4,height=4,framerate=30/1",
                                 [&](GstElement* sink) { bus = watch_bus(sink); });
    GstBuffer* buffer = pattern_buffer(16);
    GstCaps* unix_time = gst_caps_from_string("timestamp/x-unix");
    gst_buffer_add_reference_timestamp_meta(buffer, unix_time, 1'600'000'000'987'654'321,
                                            GST_CLOCK_TIME_NONE);
    gst_caps_unref(unix_time);
    GstCustomMeta* meta = gst_buffer_add_custom_meta(buffer, "GstPvShmFrameMeta");
    fail_unless(meta != nullptr, "GstPvShmFrameMeta is registered with the plugin");
    gst_structure_set(gst_custom_meta_get_structure(meta), "camera-id", G_TYPE_STRING, "upstream",
                      "sequence", G_TYPE_UINT64, guint64(99), "part", G_TYPE_STRING, "B-2", "count",
                      G_TYPE_INT, 5, "big", G_TYPE_UINT64, guint64(1) << 40, "ratio", G_TYPE_DOUBLE,
                      0.25, "gain", G_TYPE_FLOAT, 2.5f, "flag", G_TYPE_BOOLEAN, TRUE, nullptr);
    fail_unless_equals_int(gst_harness_push(h, buffer), GST_FLOW_OK);

    pvshm::Reader reader(id);
    auto view = reader.view_latest();
    fail_unless(bool(view));
    const pvshm::FrameInfo& info = view->info();
    fail_unless_equals_int64(info.timestamp_realtime_ns, 1'600'000'000'987'654'321);
    fail_unless_equals_string(info.camera_id.c_str(), "upstream");
    const pvshm::UserMetadata expected = {{"part", std::string("B-2")},
                                          {"count", int64_t{5}},
                                          {"big", int64_t{1} << 40},
                                          {"ratio", 0.25},
                                          {"gain", 2.5}};
    fail_unless(info.metadata == expected);
    // The boolean is left out, and said so once.
    GstMessage* warning = gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING);
    fail_unless(warning != nullptr);
    GError* error = nullptr;
    gst_message_parse_warning(warning, &error, nullptr);
    fail_unless(strstr(error->message, "flag") != nullptr, "%s", error->message);
    g_error_free(error);
    gst_message_unref(warning);
    teardown_watched(h, bus);

    // The camera-id property wins over the meta's.
    h = sink_harness(id, "video/x-raw,format=GRAY8,width=4,height=4,framerate=30/1",
                     [](GstElement* sink) { g_object_set(sink, "camera-id", "mine", nullptr); });
    buffer = pattern_buffer(16);
    meta = gst_buffer_add_custom_meta(buffer, "GstPvShmFrameMeta");
    gst_structure_set(gst_custom_meta_get_structure(meta), "camera-id", G_TYPE_STRING, "upstream",
                      nullptr);
    fail_unless_equals_int(gst_harness_push(h, buffer), GST_FLOW_OK);
    view = reader.view_latest();
    fail_unless(bool(view));
    fail_unless_equals_string(view->info().camera_id.c_str(), "mine");
    fail_unless(view->info().metadata.empty());
    gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_sink_metadata_the_writer_refuses_is_left_out_with_a_warning)
{
    const std::string id = unique_id("hugemeta");
    SegmentCleanup cleanup(id);
    GstBus* bus = nullptr;
    GstHarness* h = sink_harness(id, "video/x-raw,format=GRAY8,width=4,height=4,framerate=30/1",
                                 [&](GstElement* sink) { bus = watch_bus(sink); });
    GstBuffer* buffer = pattern_buffer(16, 3);
    GstCustomMeta* meta = gst_buffer_add_custom_meta(buffer, "GstPvShmFrameMeta");
    const std::string long_text(pvshm::kMaxMetadataBytes, 'x');
    gst_structure_set(gst_custom_meta_get_structure(meta), "note", G_TYPE_STRING, long_text.c_str(),
                      nullptr);
    fail_unless_equals_int(gst_harness_push(h, buffer), GST_FLOW_OK);
    pvshm::Reader reader(id);
    auto view = reader.view_latest();
    fail_unless(bool(view));
    fail_unless(view->info().metadata.empty());
    fail_unless_equals_int(view->data()[0], 3);
    GstMessage* warning = gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING);
    fail_unless(warning != nullptr);
    gst_message_unref(warning);
    teardown_watched(h, bus);
}
GST_END_TEST;

// A reader of every frame sees each one, in order, when the sink waits for it.
GST_START_TEST(test_sink_lossless_waits_for_every_frame_reader)
{
    const std::string id = unique_id("lossless");
    SegmentCleanup cleanup(id);
    GstHarness* h = sink_harness(
        id, "video/x-raw,format=GRAY8,width=4,height=4,framerate=30/1",
        [](GstElement* sink) { g_object_set(sink, "lossless", TRUE, "slots", 3u, nullptr); });
    // Three slots, the fewest lossless replay takes: the newest, the one the reader pins while
    // it looks at a frame, and one to write.
    pvshm::Reader reader(id);
    // Registered before the first frame: it is owed every frame from the first.
    fail_if(reader.view_next().has_value());
    constexpr int kFrames = 12;
    std::thread pusher([h] {
        for (int i = 1; i <= kFrames; ++i)
            gst_harness_push(h, pattern_buffer(16, uint8_t(i)));
    });
    for (uint64_t expected = 1; expected <= kFrames; ++expected) {
        fail_unless(reader.wait(std::chrono::seconds(10)),
                    "no frame %" G_GUINT64_FORMAT " (written %" G_GUINT64_FORMAT
                    ", dropped %" G_GUINT64_FORMAT ")",
                    expected, stat_of(h->element, "frames-written"),
                    stat_of(h->element, "frames-dropped"));
        auto view = reader.view_next();
        fail_unless(view.has_value());
        fail_unless_equals_uint64(view->info().sequence, expected);
        fail_unless_equals_int(view->data()[0], uint8_t(expected));
    }
    pusher.join();
    fail_unless_equals_uint64(reader.frames_skipped(), 0);
    fail_unless_equals_uint64(stat_of(h->element, "frames-written"), kFrames);
    fail_unless_equals_uint64(stat_of(h->element, "frames-dropped"), 0);
    gst_harness_teardown(h);
}
GST_END_TEST;

// A reader that stops reading holds a lossless sink up until lossless-timeout, and never keeps
// the pipeline from stopping.
GST_START_TEST(test_sink_lossless_gives_up_on_timeout_and_on_stop)
{
    for (const guint64 timeout : {guint64(50 * GST_MSECOND), guint64(0)}) {
        const std::string id = unique_id("losslessstuck" + std::to_string(timeout));
        SegmentCleanup cleanup(id);
        GstHarness* h = sink_harness(id, "video/x-raw,format=GRAY8,width=4,height=4,framerate=30/1",
                                     [&](GstElement* sink) {
                                         g_object_set(sink, "lossless", TRUE, "slots", 3u,
                                                      "lossless-timeout", timeout, nullptr);
                                     });
        pvshm::Reader stuck(id);
        fail_if(stuck.view_next().has_value());
        // Frame 4 needs the slot of frame 1 or 2, which the stuck reader is owed.
        std::thread pusher([h] {
            for (int i = 1; i <= 4; ++i)
                if (gst_harness_push(h, pattern_buffer(16, uint8_t(i))) != GST_FLOW_OK)
                    break;
        });
        if (timeout != 0) {
            pusher.join();
            fail_unless_equals_uint64(stat_of(h->element, "frames-written"), 4);
            fail_unless_equals_uint64(stat_of(h->element, "lossless-drops"), 1);
        } else {
            pvshm::Reader newest(id);
            while (!newest.view_latest() || newest.last_sequence() < 3)
                fail_unless(newest.wait(std::chrono::seconds(10)));
            // Stopping unlocks the render waiting for frame 4's slot.
            gst_element_set_state(h->element, GST_STATE_NULL);
            pusher.join();
            fail_unless_equals_uint64(stat_of(h->element, "frames-written"), 3);
        }
        gst_harness_teardown(h);
    }
}
GST_END_TEST;

static Suite* pvshmsink_suite()
{
    Suite* s = suite_create("pvshmsink");
    TCase* tc = general_test_case(s, 30);
    tcase_add_test(tc, test_sink_property_defaults);
    tcase_add_test(tc, test_sink_invalid_id_is_an_element_error);
    tcase_add_test(tc, test_sink_writes_every_format);
    tcase_add_test(tc, test_sink_copies_padded_rows_into_caps_layout);
    tcase_add_test(tc, test_sink_pool_buffers_are_written_in_place);
    tcase_add_test(tc, test_sink_pool_never_blocks_when_slots_run_out);
    tcase_add_test(tc, test_sink_caps_change_mid_stream);
    tcase_add_test(tc, test_sink_persist_false_removes_segment_on_stop);
    tcase_add_test(tc, test_sink_persist_keeps_last_frame_after_stop);
    tcase_add_test(tc, test_sink_out_of_range_properties_keep_it_from_starting);
    tcase_add_test(tc, test_sink_oversized_caps_name_the_size_and_leave_no_segment);
    tcase_add_test(tc, test_sink_oversized_image_names_the_size_and_leaves_no_segment);
    tcase_add_test(tc, test_sink_takes_unix_time_and_frame_meta);
    tcase_add_test(tc, test_sink_metadata_the_writer_refuses_is_left_out_with_a_warning);
    tcase_add_test(tc, test_sink_lossless_waits_for_every_frame_reader);
    tcase_add_test(tc, test_sink_lossless_gives_up_on_timeout_and_on_stop);
    return s;
}

GST_CHECK_MAIN(pvshmsink)
