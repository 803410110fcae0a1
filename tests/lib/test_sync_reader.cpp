// SPDX-License-Identifier: LGPL-2.1-or-later
// Synchronised sets across writer processes: the frames of one trigger together, never a mix.
#include <ctime>
#include <gtest/gtest.h>
#include <signal.h>

#include <pvshm/pvshm.hpp>

#include "child_process.hpp"
#include "stamp.hpp"
#include "test_ids.hpp"

using namespace std::chrono_literals;
using pvshm::test::ChildProcess;
using pvshm::test::read_stamp;

namespace {

class SyncReaderTest : public ::testing::Test
{
protected:
    void TearDown() override
    {
        for (const auto& id : ids) {
            pvshm::dev_clear_shared_memory(id);
            EXPECT_TRUE(pvshm::test::segment_absent(id));
        }
    }

    // Three cameras of 50 triggered frames each (lossless, so that only `skip` is missing),
    // started once the reader looked at them.
    std::vector<std::unique_ptr<ChildProcess>> start_cameras(const std::string& skip_on_second)
    {
        std::vector<std::unique_ptr<ChildProcess>> cameras;
        for (size_t i = 0; i < ids.size(); ++i) {
            std::vector<std::string> args{ids[i],       "32",         "24",   "50",
                                          "--metadata", "--lossless", "--go", "--hold"};
            if (i == 1 && !skip_on_second.empty())
                args.insert(args.end(), {"--skip-stamp", skip_on_second});
            cameras.push_back(std::make_unique<ChildProcess>("pvshm-test-writer", args));
            EXPECT_TRUE(cameras.back()->wait_for_line("ready", 10s));
        }
        return cameras;
    }

    const std::vector<std::string> ids{pvshm::test::unique_id("a"), pvshm::test::unique_id("b"),
                                       pvshm::test::unique_id("c")};
};

// One stamp per set, in every id; a set of a stamp one camera missed is never returned.
void expect_sets(pvshm::SyncReader& sync, std::vector<std::unique_ptr<ChildProcess>>& cameras,
                 uint64_t missing)
{
    for (auto& camera : cameras)
        camera->write_line("go");
    uint64_t expected = 1;
    int sets = 0;
    while (auto set = sync.next(10s)) {
        if (expected == missing)
            ++expected;
        ASSERT_EQ(set->size(), 3u);
        for (const auto& view : *set) {
            EXPECT_EQ(read_stamp(view.data(), view.size()), expected);
            EXPECT_EQ(std::get<int64_t>(view.info().metadata.at("stamp")), int64_t(expected));
        }
        ++expected;
        if (++sets == (missing ? 49 : 50))
            break;
    }
    EXPECT_EQ(sets, missing ? 49 : 50);
}

} // namespace

TEST_F(SyncReaderTest, FramesOfOneTriggerComeTogetherAndAMissedTriggerIsSkipped)
{
    auto cameras = start_cameras("7");
    pvshm::SyncOptions options;
    options.key = "stamp";
    pvshm::SyncReader sync(ids, options);
    EXPECT_FALSE(sync.next(0ns)); // looks at every id: a lossless writer now waits for it
    expect_sets(sync, cameras, 7);
    EXPECT_EQ(sync.frames_unmatched(), 2u); // stamp 7 of the first and third camera
}

TEST_F(SyncReaderTest, CaptureTimesWithinTheToleranceMatch)
{
    // Capture times are the writers' publish times; a tolerance of a whole second makes every
    // frame n of the three cameras a set only if frames of other n are further apart, which
    // back-to-back writers do not guarantee: so this checks that sets are whole and in order.
    auto cameras = start_cameras("");
    pvshm::SyncOptions options;
    options.tolerance = 1s;
    pvshm::SyncReader sync(ids, options);
    EXPECT_FALSE(sync.next(0ns));
    for (auto& camera : cameras)
        camera->write_line("go");
    int sets = 0;
    int64_t last = 0;
    while (auto set = sync.next(2s)) {
        ASSERT_EQ(set->size(), 3u);
        int64_t lowest = INT64_MAX;
        int64_t highest = INT64_MIN;
        for (const auto& view : *set) {
            EXPECT_TRUE(read_stamp(view.data(), view.size()));
            lowest = std::min(lowest, view.info().timestamp_realtime_ns);
            highest = std::max(highest, view.info().timestamp_realtime_ns);
        }
        EXPECT_LE(highest - lowest, 1000000000);
        EXPECT_GE(lowest, last);
        last = lowest;
        ++sets;
    }
    EXPECT_GT(sets, 0);
}

// Guards a busy loop: an id whose window of pending frames was full (more frames waiting in its
// segment) woke every wait at once while another camera wrote nothing.
TEST_F(SyncReaderTest, WaitingForASilentCameraSleeps)
{
    auto cameras = start_cameras("");
    pvshm::SyncOptions options;
    options.key = "stamp";
    pvshm::SyncReader sync(ids, options);
    EXPECT_FALSE(sync.next(0ns));
    cameras[0]->write_line("go");
    cameras[1]->write_line("go"); // the third camera never writes
    const std::clock_t cpu_before = std::clock();
    const auto before = std::chrono::steady_clock::now();
    EXPECT_FALSE(sync.next(1s));
    EXPECT_GE(std::chrono::steady_clock::now() - before, 1s);
    EXPECT_LT(double(std::clock() - cpu_before) / CLOCKS_PER_SEC, 0.1);
}

// Writes one 4x4 GRAY8 frame captured at `realtime_ns` (CLOCK_REALTIME) into `writer`.
void write_captured_at(pvshm::Writer& writer, int64_t realtime_ns)
{
    pvshm::FrameInfo info = pvshm::packed_frame_info(pvshm::PixelFormat::GRAY8, 4, 4);
    info.timestamp_realtime_ns = realtime_ns;
    const std::vector<uint8_t> pixels(info.payload_size, 1);
    ASSERT_TRUE(writer.write(info, pixels.data()));
}

// Guards an overflow: capture times were subtracted as int64_t, so INT64_MIN and INT64_MAX were
// 1 ns apart and matched as one set (and UBSan, scripts/sanitize.sh, stops at the subtraction).
TEST_F(SyncReaderTest, CaptureTimesAtTheEndsOfTheRangeAreNotOneSet)
{
    const std::vector<std::string> pair{ids[0], ids[1]};
    pvshm::Writer first(pair[0]);
    pvshm::Writer second(pair[1]);
    pvshm::SyncReader sync(pair);
    write_captured_at(first, INT64_MIN);
    write_captured_at(second, INT64_MAX);
    EXPECT_FALSE(sync.next(0ns));
    EXPECT_EQ(sync.closest_spread(), std::chrono::nanoseconds::max());
    write_captured_at(first, INT64_MAX - 1);
    const auto set = sync.next(0ns);
    ASSERT_TRUE(set);
    EXPECT_EQ((*set)[0].info().timestamp_realtime_ns, INT64_MAX - 1);
    EXPECT_EQ((*set)[1].info().timestamp_realtime_ns, INT64_MAX);
    EXPECT_EQ(sync.frames_unmatched(), 1u);
}

// Cameras that run free are up to a frame interval apart: no set at a tolerance below that,
// and the reader says how close the frames came.
TEST_F(SyncReaderTest, WithoutASetTheClosestSpreadSaysHowFarApartTheFramesAre)
{
    pvshm::Writer a(ids[0]);
    pvshm::Writer b(ids[1]);
    pvshm::Writer c(ids[2]);
    pvshm::SyncOptions options;
    options.tolerance = 5ms;
    pvshm::SyncReader sync(ids, options);
    EXPECT_FALSE(sync.next(0ns));
    EXPECT_FALSE(sync.closest_spread()); // no frame yet
    constexpr int64_t kStart = 1'700'000'000'000'000'000;
    constexpr int64_t kMs = 1'000'000;
    write_captured_at(a, kStart);
    write_captured_at(b, kStart + 12 * kMs);
    write_captured_at(c, kStart + 25 * kMs);
    EXPECT_FALSE(sync.next(0ns));
    EXPECT_EQ(sync.closest_spread(), 25ms);
    // The frames passed over make room: the next ones come closer, still too far apart.
    write_captured_at(a, kStart + 33 * kMs);
    write_captured_at(b, kStart + 41 * kMs);
    EXPECT_FALSE(sync.next(0ns));
    EXPECT_EQ(sync.closest_spread(), 16ms); // c's 25 ms to b's 41 ms

    // A tolerance of (N-1)/N of a frame interval (22 ms here) matches free-running cameras.
    options.tolerance = 22ms;
    pvshm::SyncReader tolerant(ids, options);
    const auto set = tolerant.next(0ns);
    ASSERT_TRUE(set);
    EXPECT_EQ((*set)[2].info().timestamp_realtime_ns, kStart + 25 * kMs);
    EXPECT_FALSE(tolerant.closest_spread()); // right after a set
}

TEST(SyncReaderOptions, BadListsAreInvalidArguments)
{
    EXPECT_THROW(pvshm::SyncReader({}), std::invalid_argument);
    EXPECT_THROW(pvshm::SyncReader({"a", "a"}), std::invalid_argument);
    EXPECT_THROW(pvshm::SyncReader({"bad/id"}), std::invalid_argument);
}
