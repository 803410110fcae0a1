// SPDX-License-Identifier: LGPL-2.1-or-later
// Faults injected into real processes: writers and readers killed or stopped at any moment,
// segments unlinked or truncated under readers, writers racing for one id. Each test checks that
// no frame is torn or lost and nothing hangs. Synchronisation is on lines, frames and exit
// codes with timeouts; durations are measured, never slept.
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <random>
#include <signal.h>
#include <thread>
#include <unistd.h>

#include <pvshm/pvshm.hpp>

#include "child_process.hpp"
#include "segment_test.hpp"
#include "stamp.hpp"
#include "test_ids.hpp"

using namespace std::chrono_literals;
using pvshm::test::ChildProcess;
using pvshm::test::object_path;
using pvshm::test::read_stamp;
using Clock = std::chrono::steady_clock;

namespace {

std::string fault_helper()
{
    const char* dir = std::getenv("PVSHM_FAULT_HELPERS");
    if (!dir)
        throw std::runtime_error("PVSHM_FAULT_HELPERS is not set (run the tests with meson test)");
    return std::string(dir) + "/pvshm-fault-helper";
}

class Faults : public pvshm::test::SegmentTest
{
};

// A writer in this process writing stamped frames as fast as it can until stopped.
class FullRateWriter
{
public:
    FullRateWriter(const std::string& id, uint32_t slots)
        : writer_(id, options(slots)), thread_([this] { run(); })
    {
    }
    ~FullRateWriter()
    {
        stop_ = true;
        thread_.join();
    }
    pvshm::WriterStats stats() const { return writer_.stats(); }

private:
    static pvshm::WriterOptions options(uint32_t slots)
    {
        pvshm::WriterOptions options;
        options.slots = slots;
        return options;
    }

    void run()
    {
        const auto info = pvshm::packed_frame_info(pvshm::PixelFormat::GRAY8, 64, 64);
        for (uint64_t stamp = 1; !stop_; ++stamp) {
            if (auto loan = writer_.loan(info.payload_size)) {
                pvshm::test::fill_stamped(loan->data(), info.payload_size, stamp);
                writer_.publish(*loan, info);
            }
        }
    }

    pvshm::Writer writer_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

// Waits, without sleeping a fixed time, until `done` holds or `timeout` passes.
template <typename Predicate> bool eventually(Predicate done, std::chrono::milliseconds timeout)
{
    const auto deadline = Clock::now() + timeout;
    while (!done()) {
        if (Clock::now() > deadline)
            return false;
        std::this_thread::yield();
    }
    return true;
}

} // namespace

TEST_F(Faults, WriterKilledAtRandomPointsOfAFrameWriteNeverLeavesATornOrLostFrame)
{
    constexpr int kRounds = 200;
    std::mt19937 random(20240601);
    // Writers forked by one helper: a round costs a fork, not an exec and library loading.
    ChildProcess zygote(fault_helper(), {"writer-zygote", id, "320", "240"});
    pvshm::Reader reader(id);
    const auto started = Clock::now();
    for (int round = 0; round < kRounds; ++round) {
        const uint64_t base = uint64_t(round + 1) * 1000000;
        zygote.write_line("spawn " + std::to_string(base));
        auto ready = zygote.wait_for_line("ready ", 10s);
        ASSERT_TRUE(ready) << "round " << round;
        const pid_t writer = static_cast<pid_t>(std::stol(ready->substr(6)));
        // The writer writes back to back: after k frames the kill lands anywhere in a frame.
        const int frames = 1 + static_cast<int>(random() % 8);
        for (int n = 0; n < frames; ++n) {
            ASSERT_TRUE(reader.wait(10s)) << "round " << round;
            // A reader lapped by a writer at full rate may find nothing it can pin (bounded
            // retries); whatever it does pin must be intact.
            if (auto view = reader.view_latest()) {
                EXPECT_TRUE(read_stamp(view->data(), view->size())) << "torn, round " << round;
            }
        }
        ASSERT_EQ(kill(writer, SIGKILL), 0);
        zygote.write_line("reap");
        ASSERT_EQ(zygote.wait_for_line("exit ", 10s), "exit " + std::to_string(128 + SIGKILL));

        // The newest frame it published is there, intact: nothing lost, nothing torn.
        auto view = reader.view_latest();
        ASSERT_TRUE(view) << "round " << round;
        const auto stamp = read_stamp(view->data(), view->size());
        ASSERT_TRUE(stamp) << "torn frame in round " << round;
        EXPECT_GE(*stamp, base) << "round " << round;
        const auto status = reader.status();
        ASSERT_TRUE(status);
        EXPECT_FALSE(status->writer_alive);
        // frames_written is counted just after publication: a kill in between leaves it one
        // short, never the frame unpublished.
        EXPECT_GE(view->info().sequence, status->frames_written) << "round " << round;
        EXPECT_LE(view->info().sequence, status->frames_written + 1) << "round " << round;
    }
    EXPECT_LT(Clock::now() - started, 30s);
    zygote.close_stdin();
    EXPECT_EQ(zygote.wait_exit(10s), 0);
}

TEST_F(Faults, ReaderKilledWhileHoldingViewsGivesItsSlotsBackToAFullRateWriter)
{
    FullRateWriter writer(id, 4);
    // Three pinned slots and the newest frame's: the writer has nowhere to write.
    ChildProcess reader(fault_helper(), {"hold-views", id, "3"});
    ASSERT_TRUE(reader.wait_for_line("pinned 3", 10s));
    const uint64_t dropped_while_pinned = writer.stats().frames_dropped;
    ASSERT_TRUE(
        eventually([&] { return writer.stats().frames_dropped > dropped_while_pinned; }, 10s));

    reader.kill(SIGKILL);
    ASSERT_EQ(reader.wait_exit(10s), 128 + SIGKILL);
    // The kernel dropped the dead reader's leases: once the writer writes again, no more drops.
    const uint64_t written_at_kill = writer.stats().frames_written;
    ASSERT_TRUE(
        eventually([&] { return writer.stats().frames_written > written_at_kill + 10; }, 10s));
    const uint64_t dropped_after_kill = writer.stats().frames_dropped;
    const uint64_t written_after_kill = writer.stats().frames_written;
    ASSERT_TRUE(
        eventually([&] { return writer.stats().frames_written > written_after_kill + 1000; }, 10s));
    EXPECT_EQ(writer.stats().frames_dropped, dropped_after_kill);
}

TEST_F(Faults, StoppedWriterIsWaitedForWithoutHangingAndResumes)
{
    ChildProcess writer("pvshm-test-writer", {id, "320", "240", "0"});
    ASSERT_TRUE(writer.wait_for_line("ready", 10s));
    pvshm::Reader reader(id);
    ASSERT_TRUE(reader.wait(10s));
    newest_stamp(reader);

    writer.kill(SIGSTOP);
    // At most the frame in flight when it stopped arrives; then the reader waits, and times out.
    while (reader.wait(0ns))
        newest_stamp(reader);
    const auto stopped_at = Clock::now();
    EXPECT_FALSE(reader.wait(300ms));
    EXPECT_GE(Clock::now() - stopped_at, 300ms);
    EXPECT_TRUE(reader.writer_alive()); // stopped, not dead: the id stays taken
    const uint64_t sequence_when_stopped = reader.view_latest()->info().sequence;

    writer.kill(SIGCONT);
    ASSERT_TRUE(reader.wait(10s));
    newest_stamp(reader);
    EXPECT_GT(reader.last_sequence(), sequence_when_stopped);
}

TEST_F(Faults, StoppedReaderNeverStallsTheWriterAndResumesIntact)
{
    FullRateWriter writer(id, 4);
    ChildProcess reader("pvshm-test-reader", {id, "read", "300"});
    ASSERT_TRUE(reader.wait_for_line("ready", 10s));
    const uint64_t before = writer.stats().frames_written;
    ASSERT_TRUE(eventually([&] { return writer.stats().frames_written > before + 100; }, 10s));

    reader.kill(SIGSTOP); // possibly while it holds a view
    const auto stopped_at = Clock::now();
    const uint64_t written_at_stop = writer.stats().frames_written;
    ASSERT_TRUE(eventually([&] { return Clock::now() - stopped_at >= 300ms; }, 10s));
    // A stopped reader pins at most one slot: the writer kept writing all along.
    EXPECT_GT(writer.stats().frames_written, written_at_stop + 100);
    reader.kill(SIGCONT);

    auto line = reader.wait_for_line("read", 30s);
    ASSERT_TRUE(line);
    EXPECT_NE(line->find("read 300 torn 0"), std::string::npos) << *line;
    EXPECT_EQ(reader.wait_exit(10s), 0);
}

TEST_F(Faults, SegmentUnlinkedUnderAReaderKeepsItsFramesThenANewSegmentIsFollowed)
{
    ChildProcess first("pvshm-test-writer", {id, "64", "64", "5", "--hold"});
    ASSERT_TRUE(first.wait_for_line("done", 10s));
    pvshm::Reader reader(id);
    auto old_view = reader.view_latest();
    ASSERT_TRUE(old_view);

    ASSERT_EQ(unlink(object_path(id).c_str()), 0);
    first.close_stdin();
    ASSERT_EQ(first.wait_exit(10s), 0);
    EXPECT_FALSE(reader.view_latest()); // no object under the name any more
    EXPECT_EQ(read_stamp(old_view->data(), old_view->size()), 5u);

    ChildProcess second("pvshm-test-writer",
                        {id, "32", "16", "3", "--stamp-base", "1000", "--hold"});
    ASSERT_TRUE(reader.wait(10s));
    ASSERT_TRUE(second.wait_for_line("done", 10s));
    auto view = reader.view_latest();
    ASSERT_TRUE(view);
    EXPECT_EQ(read_stamp(view->data(), view->size()), 1002u);
    EXPECT_EQ(view->info().sequence, 3u); // a new segment counts from 1
    EXPECT_EQ(view->info().width, 32u);
    EXPECT_EQ(read_stamp(old_view->data(), old_view->size()), 5u);
}

TEST_F(Faults, TwoWritersStartedAtOnceExactlyOneWinsAndTheOtherIsBusy)
{
    for (int round = 0; round < 40; ++round) {
        ChildProcess a(fault_helper(), {"race-writer", id});
        ChildProcess b(fault_helper(), {"race-writer", id});
        ASSERT_TRUE(a.wait_for_line("waiting", 10s));
        ASSERT_TRUE(b.wait_for_line("waiting", 10s));
        a.write_line("go");
        b.write_line("go");
        auto line_a = a.read_line(10s);
        auto line_b = b.read_line(10s);
        ASSERT_TRUE(line_a && line_b) << "round " << round;
        const bool a_won = *line_a == "won";
        const bool b_won = *line_b == "won";
        ASSERT_NE(a_won, b_won) << "round " << round << ": " << *line_a << " / " << *line_b;
        const std::string& loser = a_won ? *line_b : *line_a;
        EXPECT_EQ(loser.rfind("busy " + std::to_string(EBUSY) + " ", 0), 0u)
            << "round " << round << ": " << loser;
        EXPECT_NE(loser.find("live writer"), std::string::npos) << loser;

        pvshm::Reader reader(id);
        EXPECT_NE(newest_stamp(reader), 0u);
        a.close_stdin();
        b.close_stdin();
        EXPECT_EQ(a.wait_exit(10s), 0);
        EXPECT_EQ(b.wait_exit(10s), 0);
        pvshm::dev_clear_shared_memory(id);
    }
}

TEST_F(Faults, ReaderThreadsBesideAFullRateWriterThreadNeverSeeATornFrame)
{
    // The same protocol between threads of one process (what ThreadSanitizer can follow).
    FullRateWriter writer(id, 3);
    auto read_frames = [this](bool in_order) {
        pvshm::Reader reader(id);
        int frames = 0;
        int torn = 0;
        while (frames < 300 && reader.wait(10s)) {
            auto view = in_order ? reader.view_next() : reader.view_latest();
            if (!view)
                continue;
            torn += !read_stamp(view->data(), view->size());
            ++frames;
        }
        return std::make_pair(frames, torn);
    };
    std::pair<int, int> newest;
    std::pair<int, int> in_order;
    std::thread newest_reader([&] { newest = read_frames(false); });
    std::thread in_order_reader([&] { in_order = read_frames(true); });
    newest_reader.join();
    in_order_reader.join();
    EXPECT_EQ(newest, std::make_pair(300, 0));
    EXPECT_EQ(in_order, std::make_pair(300, 0));
}

// A mapping of an object that another process truncated raises SIGBUS past the new end. The
// library's FaultGuard maps zeros over the lost range instead; the read that met it is a
// SegmentError, views of it say lost(), and the reader follows when a proper segment returns.
// Readers run in children so that a regression cannot crash the test program.
TEST_F(Faults, SegmentTruncatedBetweenReadsIsASegmentErrorNotACrash)
{
    ChildProcess writer("pvshm-test-writer", {id, "64", "64", "5", "--hold"});
    ASSERT_TRUE(writer.wait_for_line("done", 10s));
    ChildProcess reader(fault_helper(), {"read-on-request", id});
    reader.write_line("latest");
    ASSERT_EQ(reader.read_line(10s), "frame 5");

    const int fd = open(object_path(id).c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(ftruncate(fd, 0), 0);
    close(fd);
    reader.write_line("latest");
    auto line = reader.read_line(10s);
    ASSERT_TRUE(line) << "reader died with status " << reader.wait_exit(10s).value_or(-1);
    EXPECT_EQ(line->rfind("segment-error", 0), 0u) << *line;

    // A proper segment under the name again: the same reader follows it.
    writer.close_stdin();
    ASSERT_EQ(writer.wait_exit(10s), 0);
    pvshm::dev_clear_shared_memory(id);
    ChildProcess next_writer("pvshm-test-writer", {id, "64", "64", "3", "--hold"});
    ASSERT_TRUE(next_writer.wait_for_line("done", 10s));
    reader.write_line("latest");
    EXPECT_EQ(reader.read_line(10s), "frame 3");
    reader.close_stdin();
    EXPECT_EQ(reader.wait_exit(10s), 0);
}

TEST_F(Faults, ViewHeldWhileTheSegmentIsTruncatedReadsZerosAndSaysLost)
{
    ChildProcess writer("pvshm-test-writer", {id, "64", "64", "2", "--hold"});
    ASSERT_TRUE(writer.wait_for_line("done", 10s));
    ChildProcess reader(fault_helper(), {"hold-views", id, "1"});
    ASSERT_TRUE(reader.wait_for_line("pinned 1", 10s));
    const int fd = open(object_path(id).c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(ftruncate(fd, 4096), 0);
    close(fd);
    reader.write_line("check");
    EXPECT_TRUE(reader.wait_for_line("intact 0 lost 1", 10s));
    reader.close_stdin();
    EXPECT_EQ(reader.wait_exit(10s), 0);
}

// The writer side: truncated under a writer that goes on writing, the segment is built again
// and readers get its new frames.
TEST_F(Faults, WriterWhoseSegmentIsTruncatedSurvivesAndCreatesItAgain)
{
    ChildProcess writer("pvshm-test-writer", {id, "64", "64", "0"});
    ASSERT_TRUE(writer.wait_for_line("ready", 10s));
    pvshm::Reader reader(id);
    ASSERT_TRUE(reader.wait(10s));
    const int fd = open(object_path(id).c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(ftruncate(fd, 0), 0);
    close(fd);
    // Frames again, whole, from a segment of full size.
    const auto deadline = Clock::now() + 10s;
    bool fresh = false;
    while (!fresh && Clock::now() < deadline) {
        try {
            if (!reader.wait(1s))
                continue;
            auto view = reader.view_latest();
            fresh = view && read_stamp(view->data(), view->size()) && !view->lost();
        } catch (const pvshm::SegmentError&) {
            // The truncated object, until the writer replaced it.
        }
    }
    EXPECT_TRUE(fresh);
    writer.kill(SIGTERM);
    EXPECT_EQ(writer.wait_exit(10s), 128 + SIGTERM) << "the writer died before (135: SIGBUS)";
}

// `pvshm clear --force` on a live id: the writer notices and publishes under the id again.
TEST_F(Faults, WriterWhoseSegmentIsRemovedCreatesItAgain)
{
    ChildProcess writer("pvshm-test-writer", {id, "64", "64", "0"});
    ASSERT_TRUE(writer.wait_for_line("ready", 10s));
    ASSERT_EQ(unlink(object_path(id).c_str()), 0);
    pvshm::Reader reader(id);
    ASSERT_TRUE(reader.wait(10s)) << "the id stayed without a segment";
    auto view = reader.view_latest();
    ASSERT_TRUE(view);
    EXPECT_TRUE(read_stamp(view->data(), view->size()));
    writer.kill(SIGTERM);
    EXPECT_EQ(writer.wait_exit(10s), 128 + SIGTERM);
}
