// Real gst-launch-1.0 processes on both sides of a segment: startup in either order, a writer
// killed and replaced with new caps under a running reader, clean EOS, readers that never let
// go, and errors that end the process instead of crashing it.
#include <chrono>
#include <csignal>
#include <optional>
#include <poll.h>
#include <string>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <vector>

#include "element_support.hpp"

using namespace pvshm::element_test;
using namespace std::chrono_literals;

namespace {

// A gst-launch-1.0 (or gst-inspect-1.0) process, found on PATH, with its standard output
// collected when asked for.
class Launch
{
public:
    explicit Launch(std::vector<std::string> args, bool capture = false)
    {
        std::vector<char*> argv;
        for (auto& arg : args)
            argv.push_back(arg.data());
        argv.push_back(nullptr);
        const auto flags = GSpawnFlags(G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD |
                                       (capture ? 0 : G_SPAWN_STDOUT_TO_DEV_NULL));
        GError* error = nullptr;
        fail_unless(g_spawn_async_with_pipes(nullptr, argv.data(), nullptr, flags, nullptr, nullptr,
                                             &pid_, nullptr, capture ? &out_ : nullptr, nullptr,
                                             &error),
                    "cannot start %s: %s", args[0].c_str(), error ? error->message : "");
        pidfd_ = int(syscall(SYS_pidfd_open, pid_, 0));
        fail_unless(pidfd_ >= 0);
    }

    ~Launch()
    {
        if (!status_) {
            ::kill(pid_, SIGKILL);
            wait_exit(10s);
        }
        if (out_ >= 0)
            close(out_);
        close(pidfd_);
        g_spawn_close_pid(pid_);
    }

    Launch(const Launch&) = delete;
    Launch& operator=(const Launch&) = delete;

    // Exit status, minus the signal when killed by one; nullopt when still running after `timeout`.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout)
    {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!status_) {
            if (!poll_once(deadline))
                return std::nullopt;
        }
        return status_;
    }

    // Waits until the output holds `text` (or the process ended without printing it).
    bool wait_for_output(const std::string& text, std::chrono::milliseconds timeout)
    {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (output_.find(text) == std::string::npos) {
            if (status_ || !poll_once(deadline))
                return output_.find(text) != std::string::npos;
        }
        return true;
    }

    void kill(int signal) { ::kill(pid_, signal); }
    const std::string& output() const { return output_; }

private:
    // One wait for output or exit; false on timeout.
    bool poll_once(std::chrono::steady_clock::time_point deadline)
    {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left <= 0ms)
            return false;
        pollfd fds[2] = {{pidfd_, POLLIN, 0}, {out_, POLLIN, 0}};
        if (poll(fds, out_ >= 0 ? 2 : 1, int(left.count())) <= 0)
            return false;
        if (out_ >= 0 && (fds[1].revents & (POLLIN | POLLHUP))) {
            char chunk[4096];
            const ssize_t n = read(out_, chunk, sizeof chunk);
            if (n > 0)
                output_.append(chunk, size_t(n));
            else {
                close(out_);
                out_ = -1;
            }
        }
        // Drain the output before reaping, so that nothing the process printed is lost.
        if ((fds[0].revents & POLLIN) && out_ < 0) {
            int status = 0;
            waitpid(pid_, &status, 0);
            status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
        }
        return true;
    }

    GPid pid_ = 0;
    int pidfd_ = -1;
    int out_ = -1;
    std::string output_;
    std::optional<int> status_;
};

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

} // namespace

GST_START_TEST(test_consumer_started_first_then_producer_both_exit_0)
{
    const std::string id = unique_id("order");
    SegmentCleanup cleanup(id);
    Launch consumer({"gst-launch-1.0", "-q", "pvshmsrc", "shared-mem-id=" + id, "mode=all",
                     "num-buffers=10", "!", "fakesink"});
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
    Launch restarted(
        producer(id, "video/x-raw,format=GRAY8,width=160,height=120,framerate=30/1", 15));
    fail_unless_equals_int(restarted.wait_exit(20s).value_or(-1), 0);
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
        {"pvshmsink", {"shared-mem-id", "slots", "camera-id", "perms", "persist", "stats"}},
        {"pvshmsrc", {"shared-mem-id", "normalize", "mode", "timeout", "is-live", "stats"}},
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
    TCase* tc = tcase_create("general");
    tcase_set_timeout(tc, 45);
    suite_add_tcase(s, tc);
    tcase_add_test(tc, test_consumer_started_first_then_producer_both_exit_0);
    tcase_add_test(tc, test_killed_writer_restarted_with_new_caps_is_followed);
    tcase_add_test(tc, test_eos_exits_0_and_keeps_last_frame);
    tcase_add_test(tc, test_stuck_reader_never_stalls_producer);
    tcase_add_test(tc, test_invalid_id_exits_nonzero_without_crash);
    tcase_add_test(tc, test_inspect_describes_properties);
    return s;
}

GST_CHECK_MAIN(pvshm_pipelines)
