// SPDX-License-Identifier: LGPL-2.1-or-later
// Writers and readers in different processes, including ones that crash at the worst moment.
#include <ctime>
#include <gtest/gtest.h>
#include <random>
#include <signal.h>
#include <sys/resource.h>
#include <thread>

#include <pvshm/pvshm.hpp>

#include "child_process.hpp"
#include "segment_test.hpp"
#include "stamp.hpp"

using namespace std::chrono_literals;
using pvshm::test::ChildProcess;
using pvshm::test::read_stamp;

namespace {

class CrossProcess : public pvshm::test::SegmentTest
{
protected:
    uint64_t read_intact(pvshm::Reader& reader) { return newest_stamp(reader); }
};

} // namespace

TEST_F(CrossProcess, ReaderSeesFramesOfAWriterProcess)
{
    ChildProcess writer("pvshm-test-writer", {id, "640", "480", "10", "--hold"});
    ASSERT_TRUE(writer.wait_for_line("done", 10s));
    pvshm::Reader reader(id);
    EXPECT_EQ(read_intact(reader), 10u);
    EXPECT_TRUE(reader.writer_alive());
    writer.close_stdin();
    EXPECT_EQ(writer.wait_exit(10s), 0);
    EXPECT_FALSE(reader.writer_alive());
    EXPECT_EQ(read_intact(reader), 10u); // the last frame outlives its writer
}

TEST_F(CrossProcess, ReaderStartedBeforeTheWriterGetsItsFirstFrame)
{
    pvshm::Reader reader(id);
    EXPECT_FALSE(reader.view_latest());
    ChildProcess writer("pvshm-test-writer", {id, "32", "32", "1", "--hold"});
    ASSERT_TRUE(reader.wait(10s));
    EXPECT_EQ(read_intact(reader), 1u);
}

TEST_F(CrossProcess, ManyReaderProcessesReadAStreamWithoutTornFrames)
{
    std::vector<std::unique_ptr<ChildProcess>> readers;
    for (int i = 0; i < 3; ++i) {
        readers.push_back(std::make_unique<ChildProcess>(
            "pvshm-test-reader", std::vector<std::string>{id, "read", "50"}));
        ASSERT_TRUE(readers.back()->wait_for_line("ready", 10s));
    }
    ChildProcess writer("pvshm-test-writer", {id, "1280", "720", "0"});
    for (auto& reader : readers) {
        auto line = reader->wait_for_line("read", 60s);
        ASSERT_TRUE(line);
        EXPECT_NE(line->find("read 50 torn 0"), std::string::npos) << *line;
        EXPECT_EQ(reader->wait_exit(10s), 0);
    }
}

TEST_F(CrossProcess, WriterKilledMidFrameLeavesTheLastCompleteFrame)
{
    ChildProcess writer("pvshm-test-writer", {id, "256", "256", "5", "--die-mid-frame"});
    ASSERT_TRUE(writer.wait_for_line("mid-frame", 10s));
    EXPECT_EQ(writer.wait_exit(10s), 128 + SIGKILL);
    pvshm::Reader reader(id);
    EXPECT_FALSE(reader.writer_alive());
    EXPECT_EQ(read_intact(reader), 5u);
    // A new writer takes the id over and continues the sequence.
    pvshm::Writer next(id);
    auto info = pvshm::packed_frame_info(pvshm::PixelFormat::GRAY8, 256, 256);
    std::vector<uint8_t> bytes(info.payload_size);
    pvshm::test::fill_stamped(bytes.data(), bytes.size(), 6);
    EXPECT_EQ(next.write(info, bytes.data()), 6u);
    EXPECT_EQ(read_intact(reader), 6u);
}

TEST_F(CrossProcess, WriterKilledAtRandomMomentsNeverYieldsATornFrame)
{
    std::mt19937 random(1234);
    pvshm::Reader reader(id);
    for (int round = 0; round < 20; ++round) {
        ChildProcess writer("pvshm-test-writer", {id, "640", "480", "0", "--stamp-base",
                                                  std::to_string(round * 1000000 + 1)});
        ASSERT_TRUE(writer.wait_for_line("ready", 10s));
        // Let it write a random number of frames, reading concurrently, then kill it.
        const int frames = 1 + static_cast<int>(random() % 20);
        for (int n = 0; n < frames; ++n) {
            ASSERT_TRUE(reader.wait(10s));
            read_intact(reader);
        }
        writer.kill(SIGKILL);
        EXPECT_EQ(writer.wait_exit(10s), 128 + SIGKILL);
        EXPECT_GT(read_intact(reader), uint64_t(round) * 1000000);
    }
}

TEST_F(CrossProcess, SecondWriterProcessIsRefusedWhileTheFirstLives)
{
    ChildProcess first("pvshm-test-writer", {id, "16", "16", "1", "--hold"});
    ASSERT_TRUE(first.wait_for_line("done", 10s));
    ChildProcess second("pvshm-test-writer", {id, "16", "16", "1"});
    auto line = second.wait_for_line("error", 10s);
    ASSERT_TRUE(line);
    EXPECT_NE(line->find("live writer"), std::string::npos) << *line;
    EXPECT_EQ(second.wait_exit(10s), 3);
    EXPECT_THROW(pvshm::Writer{id}, std::system_error);
    first.kill(SIGKILL);
    first.wait_exit(10s);
    EXPECT_NO_THROW(pvshm::Writer{id}); // the id is free again once its writer is dead
}

TEST_F(CrossProcess, ReaderKilledWhileHoldingAViewDoesNotStopTheWriter)
{
    pvshm::WriterOptions options;
    options.slots = 2;
    pvshm::Writer writer(id, options);
    auto info = pvshm::packed_frame_info(pvshm::PixelFormat::GRAY8, 64, 64);
    std::vector<uint8_t> bytes(info.payload_size);
    pvshm::test::fill_stamped(bytes.data(), bytes.size(), 1);
    ASSERT_TRUE(writer.write(info, bytes.data()));
    ChildProcess reader("pvshm-test-reader", {id, "hold-view"});
    ASSERT_TRUE(reader.wait_for_line("pinned 1", 10s));
    // With one slot pinned and the other holding the newest frame, frames are dropped...
    ASSERT_TRUE(writer.write(info, bytes.data()));
    EXPECT_FALSE(writer.write(info, bytes.data()));
    // ...until the kernel drops the dead reader's lease.
    reader.kill(SIGKILL);
    EXPECT_EQ(reader.wait_exit(10s), 128 + SIGKILL);
    for (int i = 0; i < 10; ++i)
        EXPECT_TRUE(writer.write(info, bytes.data()));
}

TEST_F(CrossProcess, SizeChangeBetweenFramesIsFollowedAcrossProcesses)
{
    pvshm::Reader reader(id);
    {
        ChildProcess writer("pvshm-test-writer", {id, "64", "48", "3"});
        EXPECT_EQ(writer.wait_exit(10s), 0);
    }
    auto small = reader.view_latest();
    ASSERT_TRUE(small);
    EXPECT_EQ(small->info().width, 64u);
    ChildProcess writer("pvshm-test-writer", {id, "1920", "1080", "2", "--stamp-base", "100"});
    EXPECT_EQ(writer.wait_exit(10s), 0);
    ASSERT_TRUE(reader.wait(10s));
    auto big = reader.view_latest();
    ASSERT_TRUE(big);
    EXPECT_EQ(big->info().width, 1920u);
    EXPECT_EQ(read_stamp(big->data(), big->size()), 101u);
    EXPECT_EQ(read_stamp(small->data(), small->size()), 3u);
}

TEST_F(CrossProcess, SeedReadSeesAFrameWrittenByAnotherProcess)
{
    ChildProcess writer("pvshm-test-writer", {id, "40", "30", "1"});
    EXPECT_EQ(writer.wait_exit(10s), 0);
    pvshm::ImageMeta meta;
    meta.width = 40;
    meta.height = 30;
    const cv::Mat image = pvshm::read_image_from_shared_memory(id, meta);
    ASSERT_EQ(image.type(), CV_8UC3);
    ASSERT_EQ(image.size(), cv::Size(40, 30));
    const uint8_t expected = pvshm::test::stamp_byte(1);
    EXPECT_EQ(image.at<cv::Vec3b>(29, 39), cv::Vec3b(expected, expected, expected));
}

TEST_F(CrossProcess, FullSharedMemoryFailsAtCreationNamingTheSizeNeeded)
{
    // A private 1 MiB tmpfs stands for a full /dev/shm (Docker's is 64 MiB).
    const std::string script =
        "dir=$(mktemp -d) && mount -t tmpfs -o size=1m pvshm-test \"$dir\" || exit 77; "
        "PVSHM_SHM_DIR=\"$dir\" \"$PVSHM_TEST_HELPERS/pvshm-test-writer\" full 1920 1080 1";
    ChildProcess writer("/usr/bin/unshare", {"--mount", "/bin/sh", "-c", script});
    auto line = writer.wait_for_line("error", 20s);
    const auto status = writer.wait_exit(20s);
    if (status == 77 || (status == 1 && !line))
        GTEST_SKIP() << "cannot mount a private tmpfs here";
    ASSERT_TRUE(line);
    EXPECT_NE(line->find("reserve"), std::string::npos) << *line;
    EXPECT_NE(line->find("MiB"), std::string::npos) << *line;
    EXPECT_EQ(status, 3);
}

// User metadata travels with its frame: every frame read in order carries the tags its writer
// gave that very frame (a part's serial number from the trigger, say).
TEST_F(CrossProcess, UserMetadataBelongsToItsFrame)
{
    ChildProcess writer("pvshm-test-writer", {id, "64", "48", "0", "--metadata"});
    ASSERT_TRUE(writer.wait_for_line("ready", 10s));
    pvshm::Reader reader(id);
    int checked = 0;
    while (checked < 200 && reader.wait(10s)) {
        auto view = reader.view_next();
        if (!view)
            continue;
        const auto stamp = read_stamp(view->data(), view->size());
        ASSERT_TRUE(stamp);
        const auto& metadata = view->info().metadata;
        ASSERT_EQ(metadata.size(), 3u);
        EXPECT_EQ(std::get<std::string>(metadata.at("serial")), "S-" + std::to_string(*stamp));
        EXPECT_EQ(std::get<int64_t>(metadata.at("stamp")), static_cast<int64_t>(*stamp));
        EXPECT_EQ(std::get<double>(metadata.at("gain")), static_cast<double>(*stamp) + 0.5);
        ++checked;
    }
    EXPECT_EQ(checked, 200);
    writer.kill(SIGKILL);
    writer.wait_exit(10s);
}

// A frame's age and its writer's liveness, and ImageMeta::max_age_ms: a dead writer's old
// frame is served only to readers that accept its age.
TEST_F(CrossProcess, StaleFramesAreVisibleAndRefusedByMaxAge)
{
    ChildProcess writer("pvshm-test-writer", {id, "8", "8", "1", "--hold"});
    ASSERT_TRUE(writer.wait_for_line("done", 10s));
    pvshm::Reader reader(id);
    auto view = reader.view_latest();
    ASSERT_TRUE(view);
    EXPECT_TRUE(view->writer_alive());
    EXPECT_GE(view->info().age_ns(), 0);
    writer.close_stdin();
    ASSERT_EQ(writer.wait_exit(10s), 0);
    EXPECT_FALSE(view->writer_alive());

    // Older than 1 ms by now (the writer's exit took longer): zeros; without a limit: the frame.
    while (view->info().age_ns() <= 1000000) {
        reader.wait(1ms);
    }
    pvshm::ImageMeta meta;
    meta.width = 8;
    meta.height = 8;
    meta.max_age_ms = 1;
    EXPECT_EQ(cv::countNonZero(pvshm::read_image_from_shared_memory(id, meta).reshape(1)), 0);
    meta.max_age_ms = 0;
    EXPECT_GT(cv::countNonZero(pvshm::read_image_from_shared_memory(id, meta).reshape(1)), 0);
}

// Lossless replay: a slow reader of every frame gets all of them, in order, while a reader that
// registered and then died does not hold the writer.
TEST_F(CrossProcess, LosslessWriterKeepsEveryFrameForReadersOfEveryFrame)
{
    ChildProcess writer("pvshm-test-writer",
                        {id, "64", "48", "300", "--lossless", "--go", "--hold"});
    ASSERT_TRUE(writer.wait_for_line("ready", 10s));
    ChildProcess slow("pvshm-test-reader", {id, "read-all", "300", "2000"});
    ASSERT_TRUE(slow.wait_for_line("registered", 10s));
    ChildProcess stalled("pvshm-test-reader", {id, "read-all", "300", "stall"});
    ASSERT_TRUE(stalled.wait_for_line("registered", 10s));
    writer.write_line("go");
    stalled.kill(SIGKILL);
    EXPECT_EQ(slow.wait_for_line("read", 60s), "read 300 torn 0 gaps 0 last 300");
    EXPECT_EQ(writer.wait_for_line("done", 60s), "done 300 dropped 0 lossless-drops 0");
    writer.close_stdin();
    EXPECT_EQ(writer.wait_exit(10s), 0);
}

// A reader of every frame that stops reading holds a lossless writer only for its timeout.
TEST_F(CrossProcess, LosslessTimeoutDropsAStalledReaderAndCountsIt)
{
    // 4 slots: the 50 frames cannot all wait in the segment for the reader.
    ChildProcess writer("pvshm-test-writer", {id, "64", "48", "50", "--slots", "4", "--lossless",
                                              "--lossless-timeout-ms", "100", "--go", "--hold"});
    ASSERT_TRUE(writer.wait_for_line("ready", 10s));
    ChildProcess stalled("pvshm-test-reader", {id, "read-all", "50", "stall"});
    ASSERT_TRUE(stalled.wait_for_line("registered", 10s));
    writer.write_line("go");
    const auto done = writer.wait_for_line("done", 30s);
    ASSERT_TRUE(done);
    EXPECT_EQ(done->rfind("done 50 dropped 0 lossless-drops ", 0), 0u) << *done;
    EXPECT_NE(*done, "done 50 dropped 0 lossless-drops 0");
    writer.close_stdin();
    EXPECT_EQ(writer.wait_exit(10s), 0);
}

// Guards a bug: a lossless writer that grew its segment (its first frame larger than a page)
// overwrote frames that readers of every frame, whose need locks were on the old segment, had
// not taken.
TEST_F(CrossProcess, LosslessWriterKeepsEveryFrameWhenItGrowsItsSegment)
{
    ChildProcess writer("pvshm-test-writer",
                        {id, "640", "480", "100", "--lossless", "--go", "--hold"});
    ASSERT_TRUE(writer.wait_for_line("ready", 10s));
    ChildProcess slow("pvshm-test-reader", {id, "read-all", "100", "2000"});
    ASSERT_TRUE(slow.wait_for_line("registered", 10s));
    writer.write_line("go");
    EXPECT_EQ(slow.wait_for_line("read", 60s), "read 100 torn 0 gaps 0 last 100");
    EXPECT_EQ(writer.wait_for_line("done", 60s), "done 100 dropped 0 lossless-drops 0");
    writer.close_stdin();
    EXPECT_EQ(writer.wait_exit(10s), 0);
}

// Low-latency mode: a reader that spins before it sleeps takes every frame of a lossless writer
// process, in order and intact, and its waits still end at their timeout when no frame comes.
TEST_F(CrossProcess, SpinningReaderTakesEveryFrameAndKeepsItsTimeout)
{
    ChildProcess writer("pvshm-test-writer",
                        {id, "64", "48", "300", "--lossless", "--go", "--hold"});
    ASSERT_TRUE(writer.wait_for_line("ready", 10s));
    pvshm::ReaderOptions options;
    options.spin = 10s;
    pvshm::Reader reader(id, options);
    EXPECT_FALSE(reader.view_next()); // registers as a reader of every frame
    writer.write_line("go");
    uint64_t last = 0;
    int torn = 0;
    while (last < 300 && reader.wait(10s)) {
        while (auto view = reader.view_next()) {
            const auto stamp = pvshm::test::read_stamp(view->data(), view->size());
            torn += !stamp;
            EXPECT_EQ(view->info().sequence, last + 1);
            last = view->info().sequence;
        }
    }
    EXPECT_EQ(last, 300u);
    EXPECT_EQ(torn, 0);
    EXPECT_EQ(reader.frames_skipped(), 0u);
    EXPECT_EQ(writer.wait_for_line("done", 10s), "done 300 dropped 0 lossless-drops 0");

    // No frame comes: the spin ends with the wait's timeout, not with the spin's 10 s, and it is a
    // busy loop where a reader without spin sleeps. Told by the thread's voluntary context
    // switches (it gave up the CPU), which a loaded machine does not change: its CPU time did (a
    // spinning thread given 4 ms of a 200 ms wait beside a CPU-bound process on each core).
    const auto voluntary_switches = [] {
        rusage usage{};
        getrusage(RUSAGE_THREAD, &usage);
        return usage.ru_nvcsw;
    };
    const auto started = std::chrono::steady_clock::now();
    const auto switches_before = voluntary_switches();
    EXPECT_FALSE(reader.wait(200ms));
    const auto spin_switches = voluntary_switches() - switches_before;
    const auto waited = std::chrono::steady_clock::now() - started;
    EXPECT_GE(waited, 200ms);
    EXPECT_LT(waited, 5s);
    EXPECT_EQ(spin_switches, 0);
    pvshm::Reader sleeper(id);
    ASSERT_TRUE(sleeper.view_latest());
    const auto asleep_before = voluntary_switches();
    EXPECT_FALSE(sleeper.wait(200ms));
    EXPECT_GE(voluntary_switches() - asleep_before, 1);
    writer.close_stdin();
    EXPECT_EQ(writer.wait_exit(10s), 0);
}
