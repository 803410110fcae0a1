// SPDX-License-Identifier: LGPL-2.1-or-later
// Element tests that need privileges: a segment another user owns (chown), a private tmpfs
// standing for a full /dev/shm (a mount namespace). The program runs the one test named on its
// command line, and exits 77 (skipped, for meson) where that test's privilege is missing.
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include <glib/gstdio.h>

#include "element_support.hpp"
#include "launch.hpp"

using namespace pvshm::element_test;
using namespace std::chrono_literals;

namespace {

// Creates a mount namespace and a tmpfs in it; the text of the failure, "" when it can. (Not a
// Launch: check's assertions work only inside a test.)
std::string cannot_mount_tmpfs()
{
    const gchar* argv[] = {"unshare",
                           "--mount",
                           "/bin/sh",
                           "-c",
                           "dir=$(mktemp -d) || exit 1; mount -t tmpfs -o size=1m pvshm-probe "
                           "\"$dir\"; status=$?; umount \"$dir\" 2>/dev/null; rmdir \"$dir\"; "
                           "exit $status",
                           nullptr};
    g_autofree gchar* output = nullptr;
    g_autofree gchar* errors = nullptr;
    gint status = -1;
    g_autoptr(GError) error = nullptr;
    if (!g_spawn_sync(nullptr, const_cast<gchar**>(argv), nullptr, G_SPAWN_SEARCH_PATH, nullptr,
                      nullptr, &output, &errors, &status, &error))
        return std::string("cannot run unshare: ") + error->message;
    if (g_spawn_check_wait_status(status, nullptr))
        return "";
    return std::string("cannot mount a private tmpfs here: ") + (output ? output : "") +
           (errors ? errors : "");
}

// Gives a file away to another uid; the text of the failure, "" when it can.
std::string cannot_chown()
{
    gchar* path = nullptr;
    const int fd = g_file_open_tmp("pvshm-chown-XXXXXX", &path, nullptr);
    if (fd < 0)
        return "cannot create a temporary file";
    close(fd);
    const bool given = chown(path, 4242, 4242) == 0;
    const std::string reason = given ? "" : std::string("cannot chown: ") + g_strerror(errno);
    g_unlink(path);
    g_free(path);
    return reason;
}

} // namespace

// A first frame that does not fit in shared memory fails the pipeline and leaves no empty segment
// behind for readers to wait on.
GST_START_TEST(test_full_shared_memory_leaves_no_segment)
{
    const std::string id = unique_id("full");
    // A private 1 MiB tmpfs stands for a full /dev/shm.
    const std::string script =
        "dir=$(mktemp -d) && mount -t tmpfs -o size=1m pvshm-test \"$dir\" || exit 1; "
        "PVSHM_SHM_DIR=\"$dir\" gst-launch-1.0 videotestsrc num-buffers=1 ! "
        "video/x-raw,format=BGR,width=1920,height=1080 ! pvshmsink shared-mem-id=" +
        id +
        "; echo \"exit $?\"; echo \"left: [$(ls -A \"$dir\")]\"; umount \"$dir\"; rmdir \"$dir\"";
    Launch writer({"unshare", "--mount", "/bin/sh", "-c", script}, true);
    fail_unless_equals_int(writer.wait_exit(20s).value_or(-1), 0);
    const std::string& output = writer.output();
    fail_unless(output.find("No space left on device") != std::string::npos, "%s", output.c_str());
    fail_unless(output.find("exit 1") != std::string::npos, "%s", output.c_str());
    fail_unless(output.find("left: []") != std::string::npos, "%s", output.c_str());
}
GST_END_TEST;

// A segment of another user is refused, naming the property that allows it, and read with it.
GST_START_TEST(test_src_reads_another_users_segment_only_when_allowed)
{
    const std::string id = unique_id("otherowner");
    SegmentCleanup cleanup(id);
    {
        pvshm::Writer writer(id);
        const pvshm::FrameInfo info = pvshm::packed_frame_info(pvshm::PixelFormat::GRAY8, 4, 4);
        const std::vector<uint8_t> pixels(info.payload_size, 1);
        fail_unless(writer.write(info, pixels.data()).has_value());
    }
    fail_unless_equals_int(chown(segment_path(id).c_str(), 4242, 4242), 0);

    GstBus* bus = nullptr;
    GstHarness* h = src_harness(id, [&](GstElement* src) { bus = watch_bus(src); });
    const std::string text = error_text(bus, 10 * GST_SECOND);
    fail_unless(text.find("allow-other-owner=true") != std::string::npos, "%s", text.c_str());
    teardown_watched(h, bus);

    h = src_harness(id,
                    [](GstElement* src) { g_object_set(src, "allow-other-owner", TRUE, nullptr); });
    GstBuffer* out = gst_harness_pull(h);
    fail_unless(out != nullptr);
    fail_unless_equals_int(gst_buffer_memcmp(out, 0, "\1", 1), 0);
    gst_buffer_unref(out);
    gst_harness_teardown(h);
}
GST_END_TEST;

namespace {

struct PrivilegedTest
{
    const char* name;
    TFun test;
    std::function<std::string()> missing; // why the test cannot run here, "" when it can
};

} // namespace

int main(int argc, char** argv)
{
    gst_check_init(&argc, &argv);
    const std::vector<PrivilegedTest> tests = {
        {"full-shm", test_full_shared_memory_leaves_no_segment, cannot_mount_tmpfs},
        {"other-owner", test_src_reads_another_users_segment_only_when_allowed, cannot_chown},
    };
    for (const auto& entry : tests) {
        if (argc != 2 || entry.name != std::string(argv[1]))
            continue;
        if (const std::string reason = entry.missing(); !reason.empty()) {
            std::printf("SKIP %s: %s\n", entry.name, reason.c_str());
            return 77;
        }
        Suite* suite = suite_create("privileged");
        tcase_add_test(general_test_case(suite, 45), entry.test);
        SRunner* runner = srunner_create(suite);
        srunner_run_all(runner, CK_NORMAL);
        const int failed = srunner_ntests_failed(runner);
        srunner_free(runner);
        return failed == 0 ? 0 : 1;
    }
    std::fprintf(stderr, "usage: %s full-shm|other-owner\n", argv[0]);
    return 2;
}
