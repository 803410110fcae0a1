// SPDX-License-Identifier: LGPL-2.1-or-later
// Real gst-launch-1.0 processes on both sides of a segment: startup in either order, a writer
// killed and replaced with new caps under a running reader, clean EOS, readers that never let
// go, a recording into MP4, what gst-launch -v shows, warnings and errors that end the process
// instead of crashing it.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include <glib/gstdio.h>
#include <gst/app/gstappsink.h>

#include "child_process.hpp"
#include "element_support.hpp"
#include "launch.hpp"

using namespace pvshm::element_test;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> producer(const std::string& id, const std::string& caps, int buffers,
                                  const std::vector<std::string>& extra = {})
{
    std::vector<std::string> args{"gst-launch-1.0", "-q", "videotestsrc"};
    if (buffers > 0)
        args.push_back("num-buffers=" + std::to_string(buffers));
    else
        args.push_back("is-live=true");
    for (const auto& item : {std::string("!"), caps, std::string("!"), std::string("pvshmsink"),
                             "shared-mem-id=" + id})
        args.push_back(item);
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

// Waits until the writer of `id` has published frame `sequence`.
bool wait_for_frames(const std::string& id, uint64_t sequence, std::chrono::milliseconds timeout)
{
    pvshm::Reader reader(id);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (auto now = std::chrono::steady_clock::now(); now < deadline;
         now = std::chrono::steady_clock::now()) {
        if (!reader.wait(deadline - now))
            return false;
        if (auto view = reader.view_latest(); view && view->info().sequence >= sequence)
            return true;
    }
    return false;
}

// The first element factory of `names` this installation has.
std::string first_available(const std::vector<std::string>& names)
{
    for (const auto& name : names)
        if (GstElementFactory* factory = gst_element_factory_find(name.c_str())) {
            gst_object_unref(factory);
            return name;
        }
    return "";
}

// A file removed when the test ends, however it ends.
class TemporaryFile
{
public:
    explicit TemporaryFile(const std::string& name) : path_(g_get_tmp_dir() + ("/" + name)) {}
    ~TemporaryFile() { g_unlink(path_.c_str()); }
    TemporaryFile(const TemporaryFile&) = delete;
    TemporaryFile& operator=(const TemporaryFile&) = delete;
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

// Pulls every buffer of `pipeline_text` (ending in "appsink name=out"), checking, when
// `check_pts`, that their PTS increase. Returns how many there were, or -1 on an error.
int count_buffers(const std::string& pipeline_text, bool check_pts)
{
    GError* error = nullptr;
    GstElement* pipeline = gst_parse_launch(pipeline_text.c_str(), &error);
    fail_unless(pipeline != nullptr, "%s", error ? error->message : "");
    GstElement* out = gst_bin_get_by_name(GST_BIN(pipeline), "out");
    g_object_set(out, "sync", FALSE, nullptr);
    fail_unless(gst_element_set_state(pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
    int frames = 0;
    GstClockTime previous = GST_CLOCK_TIME_NONE;
    while (GstSample* sample = gst_app_sink_try_pull_sample(GST_APP_SINK(out), 20 * GST_SECOND)) {
        const GstClockTime pts = GST_BUFFER_PTS(gst_sample_get_buffer(sample));
        if (check_pts) {
            fail_unless(GST_CLOCK_TIME_IS_VALID(pts));
            fail_unless(!GST_CLOCK_TIME_IS_VALID(previous) || pts > previous);
            previous = pts;
        }
        ++frames;
        gst_sample_unref(sample);
    }
    GstBus* bus = gst_element_get_bus(pipeline);
    if (GstMessage* message = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR)) {
        frames = -1;
        gst_message_unref(message);
    }
    gst_object_unref(bus);
    fail_unless(gst_app_sink_is_eos(GST_APP_SINK(out)));
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(out);
    gst_object_unref(pipeline);
    return frames;
}

// The numbers that follow `field` ("offset: ", "pts: ") in gst-launch -v's fakesink lines, as
// nanoseconds for times.
std::vector<guint64> chain_values(const std::string& output, const std::string& field)
{
    std::vector<guint64> values;
    for (size_t at = output.find("chain "); at != std::string::npos;
         at = output.find("chain ", at + 1)) {
        const size_t start = output.find(field, at);
        if (start == std::string::npos)
            break;
        const char* text = output.c_str() + start + field.size();
        guint hours = 0;
        guint minutes = 0;
        guint seconds = 0;
        guint nanoseconds = 0;
        if (std::sscanf(text, "%u:%u:%u.%u", &hours, &minutes, &seconds, &nanoseconds) == 4)
            values.push_back(((guint64(hours) * 60 + minutes) * 60 + seconds) * GST_SECOND +
                             nanoseconds);
        else
            values.push_back(g_ascii_strtoull(text, nullptr, 10));
    }
    return values;
}

} // namespace

// A live producer recorded by a second process: the muxer takes pvshmsrc's timestamps, including
// those of the frames captured before the recording pipeline started, and every frame decodes.
GST_START_TEST(test_recording_to_mp4_keeps_every_frame)
{
    const std::string encoder = first_available({"openh264enc", "x264enc"});
    const std::string decoder = first_available({"openh264dec", "avdec_h264"});
    fail_if(encoder.empty() || decoder.empty(),
            "no H.264 encoder or decoder: scripts/deps.sh installs gstreamer1.0-plugins-bad");
    const std::string id = unique_id("record");
    SegmentCleanup cleanup(id);
    TemporaryFile file(id + ".mp4");
    Launch writer(producer(id, "video/x-raw,format=BGR,width=320,height=240,framerate=30/1", 0));
    // Recording starts once frames flow, so that some were captured before it.
    fail_unless(wait_for_frames(id, 3, 20s));
    Launch recorder({"gst-launch-1.0", "-e", "pvshmsrc", "shared-mem-id=" + id, "mode=all",
                     "num-buffers=100", "!", "videoconvert", "!", encoder, "!", "h264parse", "!",
                     "mp4mux", "!", "filesink", "location=" + file.path()},
                    true);
    const int status = recorder.wait_exit(40s).value_or(-1);
    fail_unless_equals_int(status, 0);
    fail_unless(recorder.output().find("ERROR") == std::string::npos, "%s",
                recorder.output().c_str());
    // The file's timestamps are pvshmsrc's, as the muxer took them; the decoder's own output
    // timestamps are its business.
    const std::string demuxed = "filesrc location=" + file.path() + " ! qtdemux";
    fail_unless_equals_int(count_buffers(demuxed + " ! appsink name=out", true), 100);
    fail_unless_equals_int(
        count_buffers(demuxed + " ! h264parse ! " + decoder + " ! appsink name=out", false), 100);
}
GST_END_TEST;

GST_START_TEST(test_verbose_fakesink_shows_sequence_offsets_and_increasing_pts)
{
    const std::string id = unique_id("verbose");
    SegmentCleanup cleanup(id);
    Launch writer(producer(id, "video/x-raw,format=GRAY8,width=64,height=48,framerate=30/1", 0));
    fail_unless(wait_for_frames(id, 1, 20s));
    Launch reader({"gst-launch-1.0", "-v", "pvshmsrc", "shared-mem-id=" + id, "num-buffers=10", "!",
                   "fakesink", "silent=false"},
                  true);
    fail_unless_equals_int(reader.wait_exit(20s).value_or(-1), 0);
    const auto offsets = chain_values(reader.output(), "offset: ");
    const auto pts = chain_values(reader.output(), "pts: ");
    fail_unless_equals_int(offsets.size(), 10);
    fail_unless_equals_int(pts.size(), 10);
    pvshm::Reader segment(id);
    const auto status = segment.status();
    fail_unless(status.has_value());
    for (size_t i = 0; i < offsets.size(); ++i) {
        fail_unless(offsets[i] >= 1 && offsets[i] <= status->frames_written);
        if (i > 0) {
            fail_unless(offsets[i] > offsets[i - 1],
                        "offset %" G_GUINT64_FORMAT " after %" G_GUINT64_FORMAT, offsets[i],
                        offsets[i - 1]);
            fail_unless(pts[i] > pts[i - 1]);
        }
    }
}
GST_END_TEST;

GST_START_TEST(test_missing_segment_warns_naming_the_id_and_times_out)
{
    const std::string id = unique_id("typo");
    Launch reader({"gst-launch-1.0", "pvshmsrc", "shared-mem-id=" + id, "timeout=2000000000", "!",
                   "fakesink"},
                  true);
    fail_unless_equals_int(reader.wait_exit(20s).value_or(-1), 0);
    const std::string& output = reader.output();
    const size_t warning = output.find("WARNING");
    fail_unless(warning != std::string::npos, "%s", output.c_str());
    fail_unless(output.find("'" + id + "'", warning) != std::string::npos, "%s", output.c_str());
    fail_unless(output.find("EOS") != std::string::npos, "%s", output.c_str());
    fail_unless(segment_absent(id));
}
GST_END_TEST;

GST_START_TEST(test_out_of_range_property_exits_nonzero)
{
    const std::string id = unique_id("perms");
    Launch writer({"gst-launch-1.0", "videotestsrc", "num-buffers=1", "!", "pvshmsink",
                   "shared-mem-id=" + id, "perms=644"},
                  true);
    const int status = writer.wait_exit(20s).value_or(-1);
    fail_unless(status > 0, "status %d", status);
    fail_unless(writer.output().find("Property perms is 01204, outside its range 0 to 0777") !=
                    std::string::npos,
                "%s", writer.output().c_str());
    fail_unless(segment_absent(id));
}
GST_END_TEST;

GST_START_TEST(test_consumer_started_first_then_producer_both_exit_0)
{
    const std::string id = unique_id("order");
    SegmentCleanup cleanup(id);
    Launch consumer({"gst-launch-1.0", "pvshmsrc", "shared-mem-id=" + id, "mode=all",
                     "num-buffers=10", "!", "fakesink"},
                    true);
    // Started is not yet waiting: on a busy machine the writer's 30 frames could all be written
    // before gst-launch had loaded its plugins. The warning says it waits for the id.
    fail_unless(consumer.wait_for_output("WARNING", 20s), "%s", consumer.output().c_str());
    Launch writer(producer(id, "video/x-raw,format=BGR,width=320,height=240,framerate=60/1", 30));
    fail_unless_equals_int(writer.wait_exit(20s).value_or(-1), 0);
    fail_unless_equals_int(consumer.wait_exit(20s).value_or(-1), 0);
}
GST_END_TEST;

GST_START_TEST(test_killed_writer_restarted_with_new_caps_is_followed)
{
    const std::string id = unique_id("restart");
    SegmentCleanup cleanup(id);
    Launch consumer({"gst-launch-1.0", "-v", "pvshmsrc", "shared-mem-id=" + id,
                     "timeout=2000000000", "!", "fakesink"},
                    true);
    {
        Launch killed(
            producer(id, "video/x-raw,format=BGR,width=320,height=240,framerate=30/1", 0));
        fail_unless(consumer.wait_for_output("format=(string)BGR", 20s), "%s",
                    consumer.output().c_str());
        killed.kill(SIGKILL);
        fail_unless_equals_int(killed.wait_exit(10s).value_or(-1), -SIGKILL);
    }
    {
        // The library's writer, which starts at once: a gst-launch-1.0 loading its plugins on a
        // busy machine took longer than the consumer's timeout, which then ended the stream.
        pvshm::Writer restarted(id);
        const auto info = pvshm::packed_frame_info(pvshm::PixelFormat::GRAY8, 160, 120);
        std::vector<uint8_t> pixels(info.payload_size, 7);
        for (int frame = 0; frame < 15; ++frame)
            fail_unless(restarted.write(info, pixels.data()).has_value());
    }
    fail_unless(consumer.wait_for_output("format=(string)GRAY8", 10s), "%s",
                consumer.output().c_str());
    // No frame for `timeout` after the second writer's last one: a clean end of stream.
    fail_unless_equals_int(consumer.wait_exit(20s).value_or(-1), 0);
}
GST_END_TEST;

GST_START_TEST(test_eos_exits_0_and_keeps_last_frame)
{
    const std::string id = unique_id("eos");
    SegmentCleanup cleanup(id);
    Launch writer(producer(id, "video/x-raw,format=BGR,width=64,height=48", 5, {"sync=false"}));
    fail_unless_equals_int(writer.wait_exit(20s).value_or(-1), 0);
    pvshm::Reader reader(id);
    auto status = reader.status();
    fail_unless(status.has_value());
    fail_unless_equals_uint64(status->frames_written, 5);
    fail_if(status->writer_alive);
    fail_unless(status->latest.has_value());
    fail_unless(status->latest->format == pvshm::PixelFormat::BGR);
}
GST_END_TEST;

GST_START_TEST(test_stuck_reader_never_stalls_producer)
{
    const std::string id = unique_id("stuck");
    SegmentCleanup cleanup(id);
    const pvshm::FrameInfo info = pvshm::packed_frame_info(pvshm::PixelFormat::BGR, 320, 240);
    {
        pvshm::WriterOptions options;
        options.slots = 2;
        pvshm::Writer seed(id, options);
        std::vector<uint8_t> pixels(info.payload_size, 42);
        fail_unless(seed.write(info, pixels.data()).has_value());
    }
    // Holds one of the two slots for the whole run.
    pvshm::Reader reader(id);
    auto pinned = reader.view_latest();
    fail_unless(bool(pinned));
    Launch writer(
        producer(id, "video/x-raw,format=BGR,width=320,height=240", 50, {"slots=2", "sync=false"}));
    fail_unless_equals_int(writer.wait_exit(20s).value_or(-1), 0);
    auto status = reader.status();
    fail_unless(status.has_value());
    fail_unless(status->frames_dropped > 0);
    fail_unless_equals_int(pinned->data()[0], 42);
}
GST_END_TEST;

// Read permission lets a process hold every slot (the contract allows it); pvshmsink then says
// so on the bus, once, with how long, and writes again when the holder lets go.
GST_START_TEST(test_readers_holding_every_slot_get_one_bus_warning)
{
    const std::string id = unique_id("held");
    SegmentCleanup cleanup(id);
    // perms 0644: others may read. Without -q, which keeps gst-launch from printing warnings.
    auto args = producer(id, "video/x-raw,format=GRAY8,width=64,height=48,framerate=100/1", 0,
                         {"perms=420"});
    args.erase(std::find(args.begin(), args.end(), "-q"));
    Launch writer(args, true);
    fail_unless(wait_for_frames(id, 1, 20s), "%s", writer.output().c_str());
    // Becomes user nobody, read-locks every slot's lock byte and keeps them until stopped.
    auto attacker = std::make_unique<pvshm::test::ChildProcess>(
        "pvshm-test-attacker", std::vector<std::string>{segment_path(id), "pin-slots"});
    fail_unless(attacker->wait_for_line("attacking", 20s).has_value());
    const std::string warning = "Readers have held every slot of '" + id + "' for ";
    fail_unless(writer.wait_for_output(warning, 20s), "%s", writer.output().c_str());
    pvshm::Reader reader(id);
    const uint64_t dropped = reader.status()->frames_dropped;
    fail_unless(dropped > 0);
    attacker.reset(); // its locks go with it
    fail_unless(wait_for_frames(id, reader.status()->frames_written + 1, 20s));
    writer.kill(SIGINT);
    fail_unless(writer.wait_exit(20s).has_value());
    const std::string& output = writer.output();
    const size_t first = output.find(warning);
    fail_unless(first != std::string::npos && output.find(warning, first + 1) == std::string::npos,
                "%s", output.c_str());
}
GST_END_TEST;

GST_START_TEST(test_invalid_id_exits_nonzero_without_crash)
{
    Launch writer({"gst-launch-1.0", "-q", "videotestsrc", "num-buffers=1", "!", "pvshmsink",
                   "shared-mem-id=bad/id"});
    const int writer_status = writer.wait_exit(20s).value_or(-1);
    fail_unless(writer_status > 0, "status %d", writer_status);
    Launch reader({"gst-launch-1.0", "-q", "pvshmsrc", "shared-mem-id=.hidden", "!", "fakesink"});
    const int reader_status = reader.wait_exit(20s).value_or(-1);
    fail_unless(reader_status > 0, "status %d", reader_status);
}
GST_END_TEST;

GST_START_TEST(test_inspect_describes_properties)
{
    const std::vector<std::pair<std::string, std::vector<std::string>>> elements = {
        {"pvshmsink",
         {"shared-mem-id", "slots", "camera-id", "perms", "persist", "bit-depth", "lossless",
          "lossless-timeout", "stats"}},
        {"pvshmsrc",
         {"shared-mem-id", "normalize", "mode", "timeout", "is-live", "color-space", "max-age",
          "allow-other-owner", "stats"}},
    };
    for (const auto& [element, properties] : elements) {
        Launch inspect({"gst-inspect-1.0", element}, true);
        fail_unless_equals_int(inspect.wait_exit(20s).value_or(-1), 0);
        for (const auto& property : properties)
            fail_unless(inspect.output().find("  " + property + " ") != std::string::npos,
                        "%s: %s missing", element.c_str(), property.c_str());
    }
}
GST_END_TEST;

static Suite* pvshm_pipelines_suite()
{
    Suite* s = suite_create("pvshm_pipelines");
    TCase* tc = general_test_case(s, 45);
    tcase_add_test(tc, test_consumer_started_first_then_producer_both_exit_0);
    tcase_add_test(tc, test_killed_writer_restarted_with_new_caps_is_followed);
    tcase_add_test(tc, test_eos_exits_0_and_keeps_last_frame);
    tcase_add_test(tc, test_stuck_reader_never_stalls_producer);
    // The holder becomes user nobody, which takes root.
    if (geteuid() == 0)
        tcase_add_test(tc, test_readers_holding_every_slot_get_one_bus_warning);
    tcase_add_test(tc, test_invalid_id_exits_nonzero_without_crash);
    tcase_add_test(tc, test_inspect_describes_properties);
    tcase_add_test(tc, test_recording_to_mp4_keeps_every_frame);
    tcase_add_test(tc, test_verbose_fakesink_shows_sequence_offsets_and_increasing_pts);
    tcase_add_test(tc, test_missing_segment_warns_naming_the_id_and_times_out);
    tcase_add_test(tc, test_out_of_range_property_exits_nonzero);
    return s;
}

GST_CHECK_MAIN(pvshm_pipelines)
