// SPDX-License-Identifier: LGPL-2.1-or-later
// A lossless writer's waits for readers of every frame in another process: ending them
// (cancel_wait, set_flushing) and what must still wait afterwards.
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
