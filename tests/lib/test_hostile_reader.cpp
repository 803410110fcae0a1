// SPDX-License-Identifier: LGPL-2.1-or-later
// What a local user with read permission on a segment can do to its writer and readers with
// locks and wakes: the attacks replayed by pvshm-test-attacker, a process running as user
// nobody (the tests need root to start it as another user).
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fcntl.h>
#include <future>
#include <gtest/gtest.h>
#include <thread>
#include <unistd.h>

#include <pvshm/pvshm.hpp>

#include "child_process.hpp"
#include "segment_test.hpp"
#include "stamp.hpp"

using namespace std::chrono_literals;
using pvshm::test::ChildProcess;

namespace {

std::chrono::nanoseconds thread_cpu()
{
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

class HostileReader : public pvshm::test::SegmentTest
{
protected:
    void SetUp() override
    {
        if (geteuid() != 0)
            GTEST_SKIP() << "needs root to run the attacker as another user";
    }

    // A writer whose segment others may read (mode 0644), holding frame 1.
    pvshm::Writer shared_writer(pvshm::WriterOptions options = {})
    {
        options.mode = 0644;
        pvshm::Writer writer(id, options);
        write(writer, 1);
        return writer;
    }

    std::optional<uint64_t> write(pvshm::Writer& writer, uint64_t stamp)
    {
        std::vector<uint8_t> bytes(info_.payload_size);
        pvshm::test::fill_stamped(bytes.data(), bytes.size(), stamp);
        return writer.write(info_, bytes.data());
    }

    // Starts the attacker against this test's segment; returns it once its attack is under way.
    std::unique_ptr<ChildProcess> attack(const std::string& mode,
                                         const std::string& under_way = "attacking")
    {
        auto attacker = std::make_unique<ChildProcess>(
            "pvshm-test-attacker", std::vector<std::string>{pvshm::test::object_path(id), mode});
        EXPECT_EQ(attacker->wait_for_line("nobody", 10s), "nobody");
        EXPECT_EQ(attacker->wait_for_line(under_way, 10s), under_way);
        return attacker;
    }

    const pvshm::FrameInfo info_ = pvshm::packed_frame_info(pvshm::PixelFormat::GRAY8, 16, 8);
};

} // namespace

// Guards a bug: one read lock over the whole need-lock range, never moved, looked like a reader
// of every frame that never took one: a lossless writer waited its whole timeout for every
// frame (18,700 -> 20 frames/s with 200 ms), and with no timeout stopped for good.
TEST_F(HostileReader, LockOverTheWholeNeedRangeDoesNotHoldALosslessWriter)
{
    pvshm::WriterOptions options;
    options.slots = 3;
    options.lossless = true; // no lossless_timeout: as long as the reader lives
    auto writer = shared_writer(options);
    auto attacker = attack("need-range");
    auto written = std::async(std::launch::async, [&] {
        for (uint64_t stamp = 2; stamp <= 200; ++stamp)
            if (write(writer, stamp) != stamp)
                return stamp;
        return uint64_t{0};
    });
    if (written.wait_for(30s) != std::future_status::ready) {
        writer.set_flushing(true); // ends the wait, so that the test can end
        FAIL() << "the writer is held by the attacker's lock";
    }
    EXPECT_EQ(written.get(), 0u) << "a frame was not written";
    EXPECT_EQ(writer.stats().lossless_drops, 0u);
}

// Guards a bug: a FUTEX_WAKE flood on the wake word (read access is enough) woke a waiting
// reader again and again: 2% -> 41% of a core per reader.
TEST_F(HostileReader, WakeFloodKeepsAWaitingReaderNearlyIdle)
{
    auto writer = shared_writer();
    pvshm::Reader reader(id);
    ASSERT_TRUE(reader.view_latest());
    auto attacker = attack("flood-wake");
    const auto started = std::chrono::steady_clock::now();
    const auto cpu_before = thread_cpu();
    EXPECT_FALSE(reader.wait(500ms));
    const auto cpu = thread_cpu() - cpu_before;
    EXPECT_GE(std::chrono::steady_clock::now() - started, 500ms);
    EXPECT_LT(cpu, 50ms) << "the reader woke for every wake of the flood: " << cpu.count() / 1e6
                         << " ms";
    // Frames still reach it during the flood.
    auto read = std::async(std::launch::async, [&] { return reader.wait(10s); });
    write(writer, 2);
    EXPECT_TRUE(read.get());
    EXPECT_EQ(reader.view_latest()->info().sequence, 2u);
}

// Guards a bug: a FUTEX_WAKE flood on the ack word made a lossless writer that waits for a
// stalled reader of every frame burn 60% of a core instead of sleeping.
TEST_F(HostileReader, WakeFloodKeepsAWaitingLosslessWriterNearlyIdle)
{
    pvshm::WriterOptions options;
    options.slots = 3;
    options.lossless = true;
    auto writer = shared_writer(options);
    ChildProcess stalled("pvshm-test-reader", {id, "read-all", "10", "stall"});
    ASSERT_TRUE(stalled.wait_for_line("registered", 10s));
    ASSERT_EQ(write(writer, 2), 2u);
    ASSERT_EQ(write(writer, 3), 3u);
    ASSERT_EQ(write(writer, 4), 4u); // the reader took frame 1: frame 5 must wait for it
    auto attacker = attack("flood-ack");
    auto waited = std::async(std::launch::async, [&] {
        const auto cpu_before = thread_cpu();
        const auto sequence = write(writer, 5);
        return std::make_pair(sequence, thread_cpu() - cpu_before);
    });
    EXPECT_EQ(waited.wait_for(500ms), std::future_status::timeout);
    writer.cancel_wait();
    const auto [sequence, cpu] = waited.get();
    EXPECT_EQ(sequence, std::nullopt);
    EXPECT_LT(cpu, 100ms) << "the writer woke for every wake of the flood: " << cpu.count() / 1e6
                          << " ms";
}

// Guards a bug: a blocking read lock queued on the writer's lock byte was granted as the writer
// went, and no writer could take the id again ("already has a live writer") while readers were
// told that its writer was dead.
TEST_F(HostileReader, ReadLockQueuedOnTheWriterLockDoesNotKeepTheNextWriterOut)
{
    pvshm::Reader reader(id);
    std::unique_ptr<ChildProcess> attacker;
    {
        auto first = shared_writer();
        attacker = attack("queue-writer", "queued");
    }
    ASSERT_EQ(attacker->wait_for_line("granted", 10s), "granted");
    EXPECT_FALSE(reader.writer_alive());
    auto next = shared_writer(); // takes the id, continuing its sequence
    EXPECT_TRUE(reader.writer_alive());
    EXPECT_EQ(write(next, 7), 3u);
    ASSERT_TRUE(reader.wait(10s));
    auto view = reader.view_latest();
    ASSERT_TRUE(view);
    EXPECT_EQ(view->info().sequence, 3u);
    EXPECT_EQ(pvshm::test::read_stamp(view->data(), view->size()), 7u);
}

// Guards a bug: the names of a writer's temporary objects were predictable (pvshm~PID~N, created
// with O_EXCL and no retry): another user who planted them made a new writer, or a growing one,
// fail.
TEST_F(HostileReader, PlantedTemporaryNamesDoNotStopAWriterFromStartingOrGrowing)
{
    const char* dir = std::getenv("PVSHM_SHM_DIR");
    const std::string prefix =
        std::string(dir && *dir ? dir : "/dev/shm") + "/pvshm~" + std::to_string(getpid()) + "~";
    std::vector<std::string> planted;
    for (int n = 0; n < 100; ++n) {
        planted.push_back(prefix + std::to_string(n));
        const int fd = open(planted.back().c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644);
        ASSERT_GE(fd, 0);
        ASSERT_EQ(fchown(fd, 65534, 65534), 0);
        close(fd);
    }
    {
        pvshm::Writer writer(id);
        const auto large = pvshm::packed_frame_info(pvshm::PixelFormat::GRAY8, 640, 480);
        std::vector<uint8_t> bytes(large.payload_size, 1);
        EXPECT_TRUE(writer.write(large, bytes.data())); // grows the segment
    }
    for (const auto& path : planted)
        EXPECT_EQ(unlink(path.c_str()), 0) << path << " was not the attacker's any more";
}

// Read permission lets a reader hold every slot (CONTRACT: allowed); the writer then says so,
// with how long, once it lasts.
TEST_F(HostileReader, ReadersHoldingEverySlotAreReportedWithHowLong)
{
    auto writer = shared_writer();
    pvshm::Reader reader(id);
    auto attacker = attack("pin-slots");
    EXPECT_EQ(write(writer, 2), std::nullopt); // every slot held: dropped
    // A camera at 100 frames/s, dropping every frame while the slots stay held.
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (writer.stats().slots_held < 1s && std::chrono::steady_clock::now() < deadline) {
        write(writer, 3);
        std::this_thread::sleep_for(10ms);
    }
    EXPECT_GE(writer.stats().slots_held, 1s);
    const auto status = reader.status();
    ASSERT_TRUE(status);
    EXPECT_GT(status->slots_held_since_ns, 0);
    attacker.reset(); // its locks go with it
    EXPECT_EQ(write(writer, 4), 2u);
    EXPECT_EQ(writer.stats().slots_held, 0ns);
    EXPECT_EQ(reader.status()->slots_held_since_ns, 0);
}
