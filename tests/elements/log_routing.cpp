// SPDX-License-Identifier: LGPL-2.1-or-later
// Where the library's messages go in a process that uses both the elements and the library: the
// elements' own calls log into GStreamer's debug log, the application's calls keep the
// application's pvshm log handler.
#include <mutex>
#include <string>
#include <vector>

#include <pvshm/log.hpp>

#include "element_support.hpp"

using namespace pvshm::element_test;

namespace {

struct Collected
{
    std::mutex mutex;
    std::vector<std::string> messages;

    void add(std::string message)
    {
        std::lock_guard lock(mutex);
        messages.push_back(std::move(message));
    }
    bool has(const std::string& needle)
    {
        std::lock_guard lock(mutex);
        for (const auto& message : messages)
            if (message.find(needle) != std::string::npos)
                return true;
        return false;
    }
};

void collect_gst_log(GstDebugCategory* category, GstDebugLevel, const gchar*, const gchar*, gint,
                     GObject*, GstDebugMessage* message, gpointer data)
{
    if (std::string(gst_debug_category_get_name(category)) == "pvshmsink")
        static_cast<Collected*>(data)->add(gst_debug_message_get(message));
}

} // namespace

GST_START_TEST(test_element_calls_log_to_gstreamer_and_application_calls_to_its_handler)
{
    Collected application;
    pvshm::set_log_handler([&application](pvshm::LogLevel, std::string_view message) {
        application.add(std::string(message));
    });
    Collected gstreamer;
    gst_debug_set_threshold_for_name("pvshmsink", GST_LEVEL_DEBUG);
    gst_debug_add_log_function(collect_gst_log, &gstreamer, nullptr);

    // The element's library calls: creating the segment is logged at debug level.
    const std::string id = unique_id("routed");
    SegmentCleanup cleanup(id);
    GstHarness* h = sink_harness(id, "video/x-raw,format=GRAY8,width=16,height=8,framerate=1/1");
    fail_unless_equals_int(gst_harness_push(h, pattern_buffer(16 * 8)), GST_FLOW_OK);
    fail_unless(gstreamer.has("created segment"), "the element's message is not in its category");
    fail_if(application.has("created segment"), "the element's message reached the application");

    // The application's own call, after the plugin is loaded and an element ran.
    const std::string absent = unique_id("absent");
    pvshm::ImageMeta meta;
    meta.width = 4;
    meta.height = 2;
    pvshm::read_image_from_shared_memory(absent, meta);
    fail_unless(application.has("'" + absent + "'"), "the application's handler lost a message");
    fail_if(gstreamer.has("'" + absent + "'"), "the application's message went to the element");

    gst_harness_teardown(h);
    gst_debug_remove_log_function(collect_gst_log);
    pvshm::set_log_handler({});
}
GST_END_TEST;

static Suite* log_routing_suite()
{
    Suite* s = suite_create("log_routing");
    TCase* tc = general_test_case(s, 30);
    tcase_add_test(tc, test_element_calls_log_to_gstreamer_and_application_calls_to_its_handler);
    return s;
}

GST_CHECK_MAIN(log_routing)
