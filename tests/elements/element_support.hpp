// SPDX-License-Identifier: LGPL-2.1-or-later
// What the element tests share: ids unique to a test, elements set up in a GstHarness before
// they start, the bus of a harness's element, buffers of known content, frames that carry facts,
// and the suite of a test program.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <unistd.h>
#include <vector>

#include <pvshm/pvshm.hpp>

#include "test_run.hpp"

// gstcheck.h defines a fail() macro that breaks the C++ stream headers included after it.
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>

namespace pvshm::element_test {

// check runs each test in its own forked process, so the pid tells tests apart. Should the test
// end before its cleanup (check's forked test exits at a failed assertion), the id's prefix lets
// the check at the end of the run find and remove the segment.
inline std::string unique_id(const std::string& test)
{
    return pvshm::test::test_id_prefix() + "elements-" + test + "-" + std::to_string(getpid());
}

// The file of the segment `id` (under PVSHM_SHM_DIR, else /dev/shm).
inline std::string segment_path(const std::string& id)
{
    const char* dir = g_getenv("PVSHM_SHM_DIR");
    return std::string(dir && *dir ? dir : "/dev/shm") + "/pvshm." + id;
}

inline bool segment_absent(const std::string& id)
{
    return !g_file_test(segment_path(id).c_str(), G_FILE_TEST_EXISTS);
}

// Clears the id when the test ends, however it ends.
class SegmentCleanup
{
public:
    explicit SegmentCleanup(std::string id) : id_(std::move(id)) {}
    ~SegmentCleanup() { pvshm::dev_clear_shared_memory(id_); }
    SegmentCleanup(const SegmentCleanup&) = delete;
    SegmentCleanup& operator=(const SegmentCleanup&) = delete;

private:
    std::string id_;
};

// A pvshmsink writing `id`, fed by the harness with `caps`. The harness starts sinks as soon as
// it holds them, so the properties are set first. Not synchronised to the harness's test clock.
inline GstHarness* sink_harness(const std::string& id, const char* caps,
                                const std::function<void(GstElement*)>& configure = {})
{
    GstElement* sink = gst_element_factory_make("pvshmsink", nullptr);
    fail_unless(sink != nullptr);
    g_object_set(sink, "shared-mem-id", id.c_str(), "sync", FALSE, nullptr);
    if (configure)
        configure(sink);
    GstHarness* h = gst_harness_new_with_element(sink, "sink", nullptr);
    gst_object_unref(sink);
    gst_harness_set_src_caps_str(h, caps);
    return h;
}

// A playing pvshmsrc reading `id`; `configure` runs before it starts.
inline GstHarness* src_harness(const std::string& id,
                               const std::function<void(GstElement*)>& configure = {})
{
    GstElement* src = gst_element_factory_make("pvshmsrc", nullptr);
    fail_unless(src != nullptr);
    g_object_set(src, "shared-mem-id", id.c_str(), nullptr);
    if (configure)
        configure(src);
    GstHarness* h = gst_harness_new_with_element(src, nullptr, "src");
    gst_object_unref(src);
    gst_harness_play(h);
    return h;
}

// Starts `element` with a bus and returns the error it posted (nullptr if none); it must fail to
// start.
inline GError* start_error(GstElement* element)
{
    GstBus* bus = gst_bus_new();
    gst_element_set_bus(element, bus);
    fail_unless_equals_int(gst_element_set_state(element, GST_STATE_PAUSED),
                           GST_STATE_CHANGE_FAILURE);
    GError* error = nullptr;
    if (GstMessage* message = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR)) {
        gst_message_parse_error(message, &error, nullptr);
        gst_message_unref(message);
    }
    gst_element_set_state(element, GST_STATE_NULL);
    gst_element_set_bus(element, nullptr);
    gst_object_unref(bus);
    return error;
}

// A bus for a harness's element, which the harness itself does not watch: given to the element
// in the harness's `configure`, it holds what the element posts from its start.
inline GstBus* watch_bus(GstElement* element)
{
    GstBus* bus = gst_bus_new();
    gst_element_set_bus(element, bus);
    return bus;
}

// Tears down a harness whose element was given `bus` by watch_bus().
inline void teardown_watched(GstHarness* h, GstBus* bus)
{
    gst_element_set_bus(h->element, nullptr);
    gst_harness_teardown(h);
    gst_object_unref(bus);
}

// The text of the first error on `bus` ("" if none), waiting up to `timeout` for it.
inline std::string error_text(GstBus* bus, GstClockTime timeout = 0)
{
    GstMessage* message = gst_bus_timed_pop_filtered(bus, timeout, GST_MESSAGE_ERROR);
    if (!message)
        return "";
    GError* error = nullptr;
    gst_message_parse_error(message, &error, nullptr);
    std::string text = error->message;
    g_error_free(error);
    gst_message_unref(message);
    return text;
}

// The texts of the warnings `bus` holds, in order (taken off it).
inline std::vector<std::string> warnings_on(GstBus* bus)
{
    std::vector<std::string> texts;
    while (GstMessage* message = gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING)) {
        GError* error = nullptr;
        gst_message_parse_warning(message, &error, nullptr);
        texts.push_back(error->message);
        g_error_free(error);
        gst_message_unref(message);
    }
    return texts;
}

// One frame of `caps` as GStreamer lays it out: its size in pixels, and in bytes (encoded
// images: any number of bytes).
struct FrameLayout
{
    int width = 0;
    int height = 0;
    gsize size = 1000;
};

inline FrameLayout frame_layout(const char* caps_string)
{
    GstCaps* caps = gst_caps_from_string(caps_string);
    const GstStructure* s = gst_caps_get_structure(caps, 0);
    FrameLayout layout;
    gst_structure_get_int(s, "width", &layout.width);
    gst_structure_get_int(s, "height", &layout.height);
    GstVideoInfo info;
    if (gst_structure_has_name(s, "video/x-bayer"))
        layout.size = gsize(GST_ROUND_UP_4(layout.width)) * layout.height;
    else if (gst_structure_has_name(s, "video/x-raw") && gst_video_info_from_caps(&info, caps))
        layout.size = GST_VIDEO_INFO_SIZE(&info);
    gst_caps_unref(caps);
    return layout;
}

// `size` bytes counting up from `seed`, so that misplaced rows and planes show.
inline GstBuffer* pattern_buffer(gsize size, uint8_t seed = 0)
{
    GstBuffer* buffer = gst_buffer_new_allocate(nullptr, size, nullptr);
    GstMapInfo map;
    gst_buffer_map(buffer, &map, GST_MAP_WRITE);
    for (gsize i = 0; i < size; ++i)
        map.data[i] = uint8_t(seed + i * 7 + i / 251);
    gst_buffer_unmap(buffer, &map);
    return buffer;
}

inline bool buffer_equals(GstBuffer* buffer, const uint8_t* data, gsize size)
{
    return gst_buffer_get_size(buffer) == size && gst_buffer_memcmp(buffer, 0, data, size) == 0;
}

inline guint64 stat_of(GstElement* element, const char* field)
{
    GstStructure* stats = nullptr;
    g_object_get(element, "stats", &stats, nullptr);
    fail_unless(stats != nullptr);
    guint64 value = G_MAXUINT64;
    fail_unless(gst_structure_get_uint64(stats, field, &value), "no %s in stats", field);
    gst_structure_free(stats);
    return value;
}

// A writer that names its camera and gives its 6x4 BGR frames (every byte 5) a realtime capture
// time and user metadata: the facts that relays and converters must keep.
class FactsWriter
{
public:
    FactsWriter(const std::string& id, std::string camera_id, int64_t realtime_ns,
                pvshm::UserMetadata metadata)
        : camera_id_(std::move(camera_id)), writer_(id, naming(camera_id_)),
          info_(pvshm::packed_frame_info(pvshm::PixelFormat::BGR, 6, 4)),
          pixels_(info_.payload_size, 5)
    {
        info_.timestamp_realtime_ns = realtime_ns;
        info_.metadata = std::move(metadata);
    }

    void write(int frames = 1)
    {
        for (int i = 0; i < frames; ++i)
            fail_unless(writer_.write(info_, pixels_.data()).has_value());
    }

    const std::vector<uint8_t>& pixels() const { return pixels_; }

    // Fails unless the frame `view` shows carries this writer's facts.
    void check_carried_by(const pvshm::FrameView& view) const
    {
        fail_unless_equals_int64(view.info().timestamp_realtime_ns, info_.timestamp_realtime_ns);
        fail_unless_equals_string(view.info().camera_id.c_str(), camera_id_.c_str());
        fail_unless(view.info().metadata == info_.metadata);
    }

private:
    static pvshm::WriterOptions naming(const std::string& camera_id)
    {
        pvshm::WriterOptions options;
        options.camera_id = camera_id;
        return options;
    }

    std::string camera_id_;
    pvshm::Writer writer_;
    pvshm::FrameInfo info_;
    std::vector<uint8_t> pixels_;
};

// The one test case of a test program's `suite`, each of its tests given `timeout_s` seconds.
inline TCase* general_test_case(Suite* suite, int timeout_s)
{
    TCase* test_case = tcase_create("general");
    tcase_set_timeout(test_case, timeout_s);
    suite_add_tcase(suite, test_case);
    return test_case;
}

} // namespace pvshm::element_test
