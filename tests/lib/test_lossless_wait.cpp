// SPDX-License-Identifier: LGPL-2.1-or-later
// A lossless writer's waits for readers of every frame in another process: ending them
// (cancel_wait, set_flushing) and what must still wait afterwards.
#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <future>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <thread>
#include <unistd.h>

#include <pvshm/pvshm.hpp>

#include "child_process.hpp"
#include "layout.hpp"
#include "segment_test.hpp"
#include "stamp.hpp"

using namespace std::chrono_literals;
using pvshm::test::ChildProcess;

namespace {

class LosslessWait : public pvshm::test::SegmentTest
{
protected:
    // A lossless writer of 3 slots whose reader of every frame (another process) registered and
    // waits for "go": frames 1 to 3 are written, frame 4 must wait for it.
    void start(pvshm::Writer& writer)
    {
        ASSERT_TRUE(reader_.wait_for_line("registered", 10s));
        for (uint64_t stamp = 1; stamp <= 3; ++stamp)
            ASSERT_EQ(write(writer, stamp), stamp);
    }

    std::optional<uint64_t> write(pvshm::Writer& writer, uint64_t stamp)
    {
        std::vector<uint8_t> bytes(info_.payload_size);
        pvshm::test::fill_stamped(bytes.data(), bytes.size(), stamp);
        return writer.write(info_, bytes.data());
    }

    // True once the writer sleeps for its readers (the header's writer_waiting, seen through a
    // read-only mapping as a reader sees it), false after 10 s.
    bool writer_waits() const
    {
        const int fd = open(pvshm::test::object_path(id).c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return false;
        void* map =
            mmap(nullptr, sizeof(pvshm::layout::SegmentHeader), PROT_READ, MAP_SHARED, fd, 0);
        close(fd);
        if (map == MAP_FAILED)
            return false;
        const auto& header = *static_cast<const pvshm::layout::SegmentHeader*>(map);
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        bool waiting = false;
        while (!waiting && std::chrono::steady_clock::now() < deadline) {
            waiting = pvshm::layout::load_acquire(header.writer_waiting) != 0;
            std::this_thread::yield();
        }
        munmap(map, sizeof(pvshm::layout::SegmentHeader));
        return waiting;
    }

    static pvshm::WriterOptions lossless()
    {
        pvshm::WriterOptions options;
        options.slots = 3;
        options.lossless = true;
        return options;
    }

    const pvshm::FrameInfo info_ = pvshm::packed_frame_info(pvshm::PixelFormat::GRAY8, 16, 8);
    ChildProcess reader_{"pvshm-test-reader", {id, "read-all", "4", "go"}};
};

} // namespace

// Guards a bug: cancel_wait() with no wait under way (pvshmsink's unlock at every flush) left a
// flag set, and the next frame that had to wait for a lossless reader was dropped at once.
TEST_F(LosslessWait, CancelAndFlushWithNothingWaitingLeaveTheNextWaitWaiting)
{
    pvshm::Writer writer(id, lossless());
    start(writer);
    writer.cancel_wait();
    writer.set_flushing(true);
    writer.set_flushing(false);
    auto fourth = std::async(std::launch::async, [&] { return write(writer, 4); });
    EXPECT_TRUE(writer_waits());
    reader_.write_line("go");
    EXPECT_EQ(fourth.get(), 4u);
    EXPECT_EQ(reader_.wait_for_line("read", 10s), "read 4 torn 0 gaps 0 last 4");
    EXPECT_EQ(writer.stats().frames_dropped, 0u);
}

TEST_F(LosslessWait, CancelEndsAWaitUnderWayAndOnlyThatOne)
{
    pvshm::Writer writer(id, lossless());
    start(writer);
    auto fourth = std::async(std::launch::async, [&] { return write(writer, 4); });
    ASSERT_TRUE(writer_waits());
    writer.cancel_wait();
    EXPECT_EQ(fourth.get(), std::nullopt);
    EXPECT_EQ(writer.stats().frames_dropped, 1u);
    // The next frame waits again, until the reader takes a frame.
    auto fifth = std::async(std::launch::async, [&] { return write(writer, 5); });
    EXPECT_TRUE(writer_waits());
    reader_.write_line("go");
    EXPECT_EQ(fifth.get(), 4u);
}

TEST_F(LosslessWait, FlushingEndsTheWaitAndKeepsLaterOnesFromStartingUntilItEnds)
{
    pvshm::Writer writer(id, lossless());
    start(writer);
    auto fourth = std::async(std::launch::async, [&] { return write(writer, 4); });
    ASSERT_TRUE(writer_waits());
    writer.set_flushing(true);
    EXPECT_EQ(fourth.get(), std::nullopt);
    EXPECT_EQ(write(writer, 5), std::nullopt); // flushing: no wait starts
    EXPECT_EQ(writer.stats().frames_dropped, 2u);
    writer.set_flushing(false);
    auto sixth = std::async(std::launch::async, [&] { return write(writer, 6); });
    EXPECT_TRUE(writer_waits());
    reader_.write_line("go");
    EXPECT_EQ(sixth.get(), 4u);
}

namespace {

class WaitForReaders : public pvshm::test::SegmentTest
{
protected:
    std::optional<uint64_t> write(pvshm::Writer& writer, uint64_t stamp)
    {
        std::vector<uint8_t> bytes(info_.payload_size);
        pvshm::test::fill_stamped(bytes.data(), bytes.size(), stamp);
        return writer.write(info_, bytes.data());
    }

    static pvshm::WriterOptions replay()
    {
        pvshm::WriterOptions options;
        options.lossless = true;
        options.wait_for_readers = 1;
        return options;
    }

    // Writes frames stamped first..last from another thread; returns how many were written.
    std::future<uint64_t> write_all(pvshm::Writer& writer, uint64_t first, uint64_t last)
    {
        return std::async(std::launch::async, [this, &writer, first, last] {
            uint64_t written = 0;
            for (uint64_t stamp = first; stamp <= last; ++stamp)
                written += write(writer, stamp).has_value();
            return written;
        });
    }

    const pvshm::FrameInfo info_ = pvshm::packed_frame_info(pvshm::PixelFormat::GRAY8, 64, 48);
};

} // namespace

// A recording replayed to a reader of every frame that starts after the writer: every frame, in
// order, from the first.
TEST_F(WaitForReaders, ReaderAttachingAfterTheWriterStartedGetsEveryFrame)
{
    pvshm::Writer writer(id, replay());
    auto written = write_all(writer, 1, 300);
    ChildProcess reader("pvshm-test-reader", {id, "read-all", "300", "0"});
    EXPECT_EQ(reader.wait_for_line("read ", 60s), "read 300 torn 0 gaps 0 last 300");
    EXPECT_EQ(written.get(), 300u);
}

// Guards a bug: a persisted id's last frame, from a writer's previous run, was handed to a reader
// of every frame of the next run as if it were new.
TEST_F(WaitForReaders, PreviousRunsLastFrameIsNotNewToAReaderOfTheNextRun)
{
    {
        pvshm::Writer previous(id);
        ASSERT_EQ(write(previous, 1000), 1u);
    }
    pvshm::Writer writer(id, replay());
    auto written = write_all(writer, 1, 50);
    ChildProcess reader("pvshm-test-reader", {id, "read-all", "50", "0"});
    EXPECT_EQ(reader.wait_for_line("read ", 60s), "read 50 torn 0 gaps 0 last 50");
    EXPECT_EQ(written.get(), 50u);
}

TEST_F(WaitForReaders, TimeoutFailsTheFirstFrameNamingHowManyCame)
{
    auto options = replay();
    options.wait_for_readers = 2;
    options.wait_for_readers_timeout = 100ms;
    pvshm::Writer writer(id, options);
    ChildProcess reader("pvshm-test-reader", {id, "read-all", "1", "stall"});
    ASSERT_TRUE(reader.wait_for_line("registered", 10s));
    try {
        write(writer, 1);
        FAIL() << "no error";
    } catch (const std::system_error& error) {
        EXPECT_EQ(error.code().value(), ETIMEDOUT);
        EXPECT_NE(std::string(error.what()).find("1 of 2 readers of every frame"),
                  std::string::npos)
            << error.what();
    }
}

TEST_F(WaitForReaders, CancelEndsTheWaitAndDropsTheFrame)
{
    pvshm::Writer writer(id, replay());
    auto first = std::async(std::launch::async, [&] { return write(writer, 1); });
    // The wait is under way once the first write has not returned; cancel until it returns.
    while (first.wait_for(10ms) != std::future_status::ready)
        writer.cancel_wait();
    EXPECT_EQ(first.get(), std::nullopt);
    EXPECT_EQ(writer.stats().frames_dropped, 1u);
}
