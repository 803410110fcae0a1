// SPDX-License-Identifier: LGPL-2.1-or-later
// pvshm://ID: the URI handlers of pvshmsrc and pvshmsink. The id and the query's properties are
// set together or not at all, and uridecodebin (as playbin and gst-play-1.0 do) reads an id that
// a writer in another process fills.
#include <string>
#include <vector>

#include <gst/app/gstappsink.h>

#include "element_support.hpp"
#include "launch.hpp"

using namespace pvshm::element_test;

namespace {

GstElement* from_uri(GstURIType type, const std::string& uri)
{
    GError* error = nullptr;
    GstElement* element = gst_element_make_from_uri(type, uri.c_str(), nullptr, &error);
    fail_unless(element != nullptr, "%s: %s", uri.c_str(), error ? error->message : "");
    return element;
}

std::string string_property(GstElement* element, const char* name)
{
    g_autofree gchar* value = nullptr;
    g_object_get(element, name, &value, nullptr);
    return value ? value : "";
}

std::string uri_of(GstElement* element)
{
    g_autofree gchar* uri = gst_uri_handler_get_uri(GST_URI_HANDLER(element));
    return uri ? uri : "";
}

} // namespace

GST_START_TEST(test_uri_sets_the_id_and_the_query_properties)
{
    GstElement* src =
        from_uri(GST_URI_SRC, "pvshm://cam0?mode=all&timeout=5000000000&allow-other-owner=true");
    g_autofree gchar* factory = gst_object_get_name(GST_OBJECT(gst_element_get_factory(src)));
    fail_unless_equals_string(factory, "pvshmsrc");
    // The strings are kept in locals: the check macro holds their pointers past the statement.
    const std::string id = string_property(src, "shared-mem-id");
    fail_unless_equals_string(id.c_str(), "cam0");
    gint mode = 0;
    guint64 timeout = 0;
    gboolean allow_other_owner = FALSE;
    g_object_get(src, "mode", &mode, "timeout", &timeout, "allow-other-owner", &allow_other_owner,
                 nullptr);
    fail_unless_equals_int(mode, 1); // all
    fail_unless_equals_uint64(timeout, 5000000000);
    fail_unless(allow_other_owner);
    const std::string uri = uri_of(src);
    fail_unless_equals_string(uri.c_str(), "pvshm://cam0");
    gst_object_unref(src);

    GstElement* sink =
        from_uri(GST_URI_SINK, "pvshm://line-2.a_b?slots=8&lossless=true&camera-id=front%20left");
    g_autofree gchar* sink_factory = gst_object_get_name(GST_OBJECT(gst_element_get_factory(sink)));
    fail_unless_equals_string(sink_factory, "pvshmsink");
    guint slots = 0;
    gboolean lossless = FALSE;
    g_object_get(sink, "slots", &slots, "lossless", &lossless, nullptr);
    fail_unless_equals_int(slots, 8);
    fail_unless(lossless);
    const std::string sink_id = string_property(sink, "shared-mem-id");
    fail_unless_equals_string(sink_id.c_str(), "line-2.a_b");
    const std::string camera_id = string_property(sink, "camera-id");
    fail_unless_equals_string(camera_id.c_str(), "front left");
    gst_object_unref(sink);
}
GST_END_TEST;

// Each URI is refused with a message saying why, and leaves the element as it was: a
// half-applied URI would read another id, or the right one in the wrong mode.
GST_START_TEST(test_uri_refuses_what_it_cannot_apply_and_sets_nothing)
{
    const std::vector<std::pair<std::string, std::string>> refused = {
        {"pvshm:cam0", "not a pvshm://ID URI"},
        {"pvshm://", "id"},
        {"pvshm://.hidden", "id"},
        {"pvshm://cam0/frames", "id"},
        {"pvshm://cam0?nope=1", "'nope' is not a property"},
        {"pvshm://cam0?mode=sometimes", "'sometimes' is not a value of mode"},
        {"pvshm://cam0?timeout=soon", "'soon' is not a value of timeout"},
        {"pvshm://cam0?timeout", "has no value"},
        {"pvshm://cam0?stats=1", "'stats' is not a property"},
        {"pvshm://cam0?name=x", "'name' is not a property"},
        {"pvshm://cam0?shared-mem-id=cam1", "the id is the URI's host"},
        {"pvshm://cam0?mode=all&timeout=soon", "'soon' is not a value of timeout"},
        {"pvshm://cam0?max-age=%zz", "percent-encoded"},
    };
    for (const auto& [uri, why] : refused) {
        GstElement* src = gst_element_factory_make("pvshmsrc", nullptr);
        g_object_set(src, "shared-mem-id", "before", nullptr);
        GError* error = nullptr;
        fail_if(gst_uri_handler_set_uri(GST_URI_HANDLER(src), uri.c_str(), &error), "%s",
                uri.c_str());
        fail_unless(error != nullptr);
        fail_unless(g_error_matches(error, GST_URI_ERROR, GST_URI_ERROR_BAD_URI), "%s: %s",
                    uri.c_str(), error->message);
        fail_unless(std::string(error->message).find(why) != std::string::npos, "%s: %s",
                    uri.c_str(), error->message);
        g_error_free(error);
        gint mode = -1;
        g_object_get(src, "mode", &mode, nullptr);
        fail_unless_equals_int(mode, 0); // latest, as before
        const std::string id = string_property(src, "shared-mem-id");
        fail_unless_equals_string(id.c_str(), "before");
        gst_object_unref(src);
    }
}
GST_END_TEST;

// What gst-play-1.0 pvshm://ID and playbin do: uridecodebin makes pvshmsrc from the URI and
// exposes its frames.
GST_START_TEST(test_uridecodebin_reads_a_writer_in_another_process)
{
    const std::string id = unique_id("uridecodebin");
    SegmentCleanup cleanup(id);
    Launch writer({"gst-launch-1.0", "-q", "videotestsrc", "is-live=true", "!",
                   "video/x-raw,format=RGB,width=64,height=48,framerate=30/1", "!", "pvshmsink",
                   "shared-mem-id=" + id});
    const std::string text = "uridecodebin uri=pvshm://" + id +
                             "?mode=all ! videoconvert ! video/x-raw,format=GRAY8 ! appsink "
                             "name=out sync=false";
    GError* error = nullptr;
    GstElement* pipeline = gst_parse_launch(text.c_str(), &error);
    fail_unless(pipeline != nullptr, "%s", error ? error->message : "");
    GstElement* out = gst_bin_get_by_name(GST_BIN(pipeline), "out");
    fail_unless(gst_element_set_state(pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
    for (int frame = 0; frame < 5; ++frame) {
        GstSample* sample = gst_app_sink_try_pull_sample(GST_APP_SINK(out), 20 * GST_SECOND);
        fail_unless(sample != nullptr, "no frame %d through uridecodebin", frame);
        GstVideoInfo info;
        fail_unless(gst_video_info_from_caps(&info, gst_sample_get_caps(sample)));
        fail_unless_equals_int(GST_VIDEO_INFO_WIDTH(&info), 64);
        fail_unless_equals_int(GST_VIDEO_INFO_HEIGHT(&info), 48);
        gst_sample_unref(sample);
    }
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(out);
    gst_object_unref(pipeline);
}
GST_END_TEST;

static Suite* pvshm_uri_suite()
{
    Suite* s = suite_create("pvshm_uri");
    TCase* tc = general_test_case(s, 60);
    tcase_add_test(tc, test_uri_sets_the_id_and_the_query_properties);
    tcase_add_test(tc, test_uri_refuses_what_it_cannot_apply_and_sets_nothing);
    tcase_add_test(tc, test_uridecodebin_reads_a_writer_in_another_process);
    return s;
}

GST_CHECK_MAIN(pvshm_uri)
