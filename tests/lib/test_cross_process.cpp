// SPDX-License-Identifier: LGPL-2.1-or-later
// Writers and readers in different processes, including ones that crash at the worst moment.
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <random>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

#include <pvshm/pvshm.hpp>

#include "child_process.hpp"
#include "layout.hpp"
#include "segment_test.hpp"
#include "stamp.hpp"
#include "test_ids.hpp"

using namespace std::chrono_literals;
using pvshm::test::ChildProcess;
using pvshm::test::read_stamp;

namespace {

class CrossProcess : public pvshm::test::SegmentTest
{
protected:
    uint64_t read_intact(pvshm::Reader& reader) { return newest_stamp(reader); }
};

// What a third process sees of the slots of `id` (layout.hpp): those a reader holds a lease on
// (a read lock on the slot's byte) and those being written (odd seqlock).
struct SlotStates
{
    std::vector<uint32_t> leased;
    std::vector<uint32_t> being_written;
};

SlotStates slot_states(const std::string& id)
{
    namespace layout = pvshm::layout;
    SlotStates states;
    const int fd = open(pvshm::test::object_path(id).c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st = {};
    if (fd < 0 || fstat(fd, &st) != 0) {
        ADD_FAILURE() << "cannot open the segment of " << id;
        return states;
    }
    void* map = mmap(nullptr, size_t(st.st_size), PROT_READ, MAP_SHARED, fd, 0);
    const auto* base = static_cast<const uint8_t*>(map);
    const auto* header = reinterpret_cast<const layout::SegmentHeader*>(base);
    const auto* descs = reinterpret_cast<const layout::SlotDesc*>(base + layout::kSlotDescOffset);
    for (uint32_t slot = 0; slot < header->slot_count; ++slot) {
        if (layout::load_acquire(descs[slot].seqlock) & 1)
            states.being_written.push_back(slot);
        struct flock query = {};
        query.l_type = F_WRLCK;
        query.l_whence = SEEK_SET;
        query.l_start = layout::slot_lock_byte(slot);
        query.l_len = 1;
        if (fcntl(fd, F_OFD_GETLK, &query) == 0 && query.l_type == F_RDLCK)
            states.leased.push_back(slot);
    }
    munmap(map, size_t(st.st_size));
    close(fd);
    return states;
}

// Looks at the slots of `id` until `wanted` holds of them, for 10 s at most.
template <typename Wanted> SlotStates slot_states_once(const std::string& id, Wanted wanted)
{
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    SlotStates states = slot_states(id);
    while (!wanted(states) && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(1ms);
        states = slot_states(id);
    }
    return states;
}

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

// layout.hpp, "early pins": a reader that waits while the writer fills a slot holds that slot's
// lease, so that taking the frame published there needs no system call after the wake-up; a loan
// given back instead wakes it, and it lets go.
TEST_F(CrossProcess, WaitingReaderPinsTheSlotBeingFilledAndLetsGoOfALoanGivenBack)
{
    pvshm::Writer writer(id); // 4 slots: early pins need three or more
    const auto info = pvshm::packed_frame_info(pvshm::PixelFormat::GRAY8, 64, 64);
    std::vector<uint8_t> bytes(info.payload_size);
    pvshm::test::fill_stamped(bytes.data(), bytes.size(), 1);
    ASSERT_TRUE(writer.write(info, bytes.data()));
    auto loan = writer.loan(info.payload_size);
    ASSERT_TRUE(loan);
    ChildProcess reader("pvshm-test-reader", {id, "read", "2"});
    // The reader takes frame 1 and waits, with the slot of the loan pinned.
    auto states = slot_states_once(id, [](const SlotStates& s) { return !s.leased.empty(); });
    ASSERT_EQ(states.being_written.size(), 1u);
    EXPECT_EQ(states.leased, states.being_written);

    loan.reset(); // given back unpublished
    states = slot_states_once(id, [](const SlotStates& s) { return s.leased.empty(); });
    EXPECT_TRUE(states.leased.empty()) << "the reader still pins slot " << states.leased[0];
    EXPECT_TRUE(states.being_written.empty());

    // Filled and published while the reader pins it: the reader's frame is this one, whole.
    loan = writer.loan(info.payload_size);
    ASSERT_TRUE(loan);
    states = slot_states_once(id, [](const SlotStates& s) { return !s.leased.empty(); });
    EXPECT_EQ(states.leased, states.being_written);
    pvshm::test::fill_stamped(loan->data(), info.payload_size, 2);
    ASSERT_TRUE(writer.publish(*loan, info));
    EXPECT_EQ(reader.wait_for_line("read ", 10s), "read 2 torn 0 last 2");
    EXPECT_EQ(reader.wait_exit(10s), 0);
    EXPECT_TRUE(slot_states(id).leased.empty());
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
    ChildProcess writer("pvshm-test-writer", {id, "64", "48", "50", "--lossless",
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
    options.spin = 1s;
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

    // No frame comes: the spin ends with the wait's timeout, not with the spin's second, and it
    // is a busy loop (the thread runs), where a reader without spin sleeps.
    const auto thread_cpu = [] {
        timespec ts{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
    };
    const auto started = std::chrono::steady_clock::now();
    const auto cpu_before = thread_cpu();
    EXPECT_FALSE(reader.wait(200ms));
    const auto spun = thread_cpu() - cpu_before;
    const auto waited = std::chrono::steady_clock::now() - started;
    EXPECT_GE(waited, 200ms);
    EXPECT_LT(waited, 900ms);
    EXPECT_GE(spun, 20ms);
    pvshm::Reader sleeper(id);
    ASSERT_TRUE(sleeper.view_latest());
    const auto cpu_asleep = thread_cpu();
    EXPECT_FALSE(sleeper.wait(200ms));
    EXPECT_LT(thread_cpu() - cpu_asleep, 20ms);
    writer.close_stdin();
    EXPECT_EQ(writer.wait_exit(10s), 0);
}
