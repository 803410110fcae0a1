// SPDX-License-Identifier: LGPL-2.1-or-later
// What the element tests share: ids unique to a test, elements set up in a GstHarness before
// they start, and buffers of known content.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <unistd.h>

#include <pvshm/pvshm.hpp>

// gstcheck.h defines a fail() macro that breaks the C++ stream headers included after it.
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>

namespace pvshm::element_test {

// check runs each test in its own forked process, so the pid tells tests apart.
inline std::string unique_id(const std::string& test)
{
    return "t-elements-" + test + "-" + std::to_string(getpid());
}

inline bool segment_absent(const std::string& id)
{
    const char* dir = g_getenv("PVSHM_SHM_DIR");
    const std::string path = std::string(dir && *dir ? dir : "/dev/shm") + "/pvshm." + id;
    return !g_file_test(path.c_str(), G_FILE_TEST_EXISTS);
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

} // namespace pvshm::element_test
