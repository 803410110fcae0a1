// SPDX-License-Identifier: LGPL-2.1-or-later
// The writer and reader classes in one process: publication, leases, drops, growth, waiting.
#include <cerrno>
#include <cstring>
#include <gtest/gtest.h>
#include <set>
#include <stdexcept>
#include <sys/statvfs.h>
#include <system_error>
#include <thread>
#include <vector>

#include <pvshm/pvshm.hpp>

#include "stamp.hpp"
#include "test_ids.hpp"

using namespace std::chrono_literals;
using pvshm::test::fill_stamped;
using pvshm::test::read_stamp;

namespace {

pvshm::WriterOptions slots(uint32_t count)
{
    pvshm::WriterOptions options;
    options.slots = count;
    return options;
}

class WriterReader : public ::testing::Test
{
protected:
    void TearDown() override
    {
        pvshm::dev_clear_shared_memory(id);
        EXPECT_TRUE(pvshm::test::segment_absent(id));
    }

    std::optional<uint64_t> write_stamped(pvshm::Writer& writer, uint32_t w, uint32_t h,
                                          uint64_t stamp)
    {
        auto info = pvshm::packed_frame_info(pvshm::PixelFormat::GRAY8, w, h);
        std::vector<uint8_t> bytes(info.payload_size);
        fill_stamped(bytes.data(), bytes.size(), stamp);
        return writer.write(info, bytes.data());
    }

    const std::string id = pvshm::test::unique_id();
};

} // namespace

TEST_F(WriterReader, FrameDescriptionRoundTrips)
{
    pvshm::WriterOptions options;
    options.slots = 3;
    options.camera_id = "cam-left";
    pvshm::Writer writer(id, options);
    auto info = pvshm::packed_frame_info(pvshm::PixelFormat::NV12, 6, 4);
    info.matrix = pvshm::ColorMatrix::BT709;
    info.range = pvshm::ColorRange::Full;
    info.caps = "video/x-raw, format=(string)NV12, width=(int)6, height=(int)4";
    info.timestamp_monotonic_ns = 42;
    std::vector<uint8_t> bytes(info.payload_size, 9);
    ASSERT_EQ(writer.write(info, bytes.data()), 1u);
    ASSERT_EQ(writer.write(info, bytes.data()), 2u);

    pvshm::Reader reader(id);
    auto view = reader.view_latest();
    ASSERT_TRUE(view);
    const auto& got = view->info();
    EXPECT_EQ(got.sequence, 2u);
    EXPECT_EQ(got.format, pvshm::PixelFormat::NV12);
    EXPECT_EQ(got.width, 6u);
    EXPECT_EQ(got.height, 4u);
    EXPECT_EQ(got.plane_count, 2u);
    EXPECT_EQ(got.strides, info.strides);
    EXPECT_EQ(got.plane_offsets, info.plane_offsets);
    EXPECT_EQ(got.matrix, pvshm::ColorMatrix::BT709);
    EXPECT_EQ(got.range, pvshm::ColorRange::Full);
    EXPECT_EQ(got.camera_id, "cam-left");
    EXPECT_EQ(got.caps, info.caps);
    EXPECT_EQ(got.timestamp_monotonic_ns, 42);
    EXPECT_GT(got.timestamp_realtime_ns, 1'600'000'000'000'000'000);
    EXPECT_EQ(std::vector<uint8_t>(view->data(), view->data() + view->size()), bytes);
    EXPECT_EQ(view->plane(1), view->data() + info.plane_offsets[1]);
}

TEST_F(WriterReader, PinnedSlotIsNeverOverwrittenAndFullRingDropsInsteadOfWaiting)
{
    pvshm::Writer writer(id, slots(2));
    ASSERT_TRUE(write_stamped(writer, 64, 64, 100));
    pvshm::Reader reader(id);
    auto pinned = reader.view_latest();
    ASSERT_TRUE(pinned);
    ASSERT_TRUE(write_stamped(writer, 64, 64, 101)); // the other slot
    // One slot is pinned, the other holds the newest frame: the writer drops, it does not wait.
    EXPECT_FALSE(write_stamped(writer, 64, 64, 102));
    EXPECT_EQ(writer.stats().frames_dropped, 1u);
    EXPECT_EQ(read_stamp(pinned->data(), pinned->size()), 100u);

    pinned.reset();
    EXPECT_TRUE(write_stamped(writer, 64, 64, 103));
    auto newest = reader.view_latest();
    ASSERT_TRUE(newest);
    EXPECT_EQ(read_stamp(newest->data(), newest->size()), 103u);
}

TEST_F(WriterReader, UnpublishedLoanLeavesTheNewestFrameReadable)
{
    pvshm::Writer writer(id);
    ASSERT_TRUE(write_stamped(writer, 16, 16, 7));
    {
        auto loan = writer.loan(256);
        ASSERT_TRUE(loan);
        fill_stamped(loan->data(), 256, 8); // abandoned
    }
    pvshm::Reader reader(id);
    auto view = reader.view_latest();
    ASSERT_TRUE(view);
    EXPECT_EQ(read_stamp(view->data(), view->size()), 7u);
}

TEST_F(WriterReader, SecondWriterOfALiveIdIsRefused)
{
    pvshm::Writer first(id);
    try {
        pvshm::Writer second(id);
        FAIL() << "second writer accepted";
    } catch (const std::system_error& error) {
        EXPECT_EQ(error.code().value(), EBUSY);
        EXPECT_NE(std::string(error.what()).find(id), std::string::npos);
    }
}

TEST_F(WriterReader, GrowingFramesReplaceTheSegmentAndOldViewsStayValid)
{
    pvshm::Writer writer(id);
    ASSERT_TRUE(write_stamped(writer, 8, 8, 1));
    pvshm::Reader reader(id);
    auto small = reader.view_latest();
    ASSERT_TRUE(small);
    ASSERT_TRUE(write_stamped(writer, 1920, 1080, 2));
    auto big = reader.view_latest();
    ASSERT_TRUE(big);
    EXPECT_EQ(big->info().width, 1920u);
    EXPECT_EQ(read_stamp(big->data(), big->size()), 2u);
    EXPECT_EQ(read_stamp(small->data(), small->size()), 1u);
}

TEST_F(WriterReader, WaitTimesOutWithoutANewFrame)
{
    pvshm::Writer writer(id);
    ASSERT_TRUE(write_stamped(writer, 8, 8, 1));
    pvshm::Reader reader(id);
    ASSERT_TRUE(reader.view_latest());
    EXPECT_FALSE(reader.wait(30ms));
}

TEST_F(WriterReader, WaitWakesWhenAFrameIsPublished)
{
    pvshm::Reader reader(id);
    std::thread producer([&] {
        pvshm::Writer writer(id);
        write_stamped(writer, 8, 8, 5);
    });
    EXPECT_TRUE(reader.wait(10s));
    producer.join();
    auto view = reader.view_latest();
    ASSERT_TRUE(view);
    EXPECT_EQ(read_stamp(view->data(), view->size()), 5u);
}

TEST_F(WriterReader, ViewNextReturnsFramesInOrderAndCountsOverwrittenOnes)
{
    pvshm::Writer writer(id, slots(4));
    pvshm::Reader reader(id);
    ASSERT_TRUE(write_stamped(writer, 8, 8, 1));
    auto first = reader.view_next();
    ASSERT_TRUE(first);
    EXPECT_EQ(first->info().sequence, 1u);
    first.reset();
    for (uint64_t stamp = 2; stamp <= 3; ++stamp)
        ASSERT_TRUE(write_stamped(writer, 8, 8, stamp));
    EXPECT_EQ(reader.view_next()->info().sequence, 2u);
    EXPECT_EQ(reader.view_next()->info().sequence, 3u);
    EXPECT_FALSE(reader.view_next());
    for (uint64_t stamp = 4; stamp <= 13; ++stamp)
        ASSERT_TRUE(write_stamped(writer, 8, 8, stamp));
    // Of the 4 slots, the writer overwrote the frames the reader still needed last: the two
    // right after the last one it took remain, then the newest two.
    for (uint64_t expected : {4u, 5u}) {
        auto next = reader.view_next();
        ASSERT_TRUE(next);
        EXPECT_EQ(next->info().sequence, expected);
    }
    EXPECT_EQ(reader.frames_skipped(), 0u);
    auto next = reader.view_next();
    ASSERT_TRUE(next);
    EXPECT_EQ(next->info().sequence, 12u);
    EXPECT_EQ(reader.frames_skipped(), 6u);
}

TEST_F(WriterReader, WriterAlternatesBetweenTwoSlotsWhileReadersKeepUp)
{
    pvshm::Writer writer(id, slots(8));
    pvshm::Reader reader(id);
    std::set<const uint8_t*> written;
    for (uint64_t stamp = 1; stamp <= 20; ++stamp) {
        ASSERT_TRUE(write_stamped(writer, 8, 8, stamp));
        auto view = reader.view_latest();
        ASSERT_TRUE(view);
        written.insert(view->data());
    }
    // The slot written last is the likeliest in cache: two slots serve the whole stream.
    EXPECT_EQ(written.size(), 2u);
}

TEST_F(WriterReader, SegmentOutlivesItsWriterAndSaysTheWriterIsGone)
{
    {
        pvshm::Writer writer(id);
        ASSERT_TRUE(write_stamped(writer, 8, 8, 9));
        pvshm::Reader reader(id);
        EXPECT_TRUE(reader.writer_alive());
    }
    pvshm::Reader reader(id);
    EXPECT_FALSE(reader.writer_alive());
    auto view = reader.view_latest();
    ASSERT_TRUE(view);
    EXPECT_EQ(read_stamp(view->data(), view->size()), 9u);
}

TEST_F(WriterReader, RemoveDeletesTheNameButNotWhatReadersHold)
{
    pvshm::Writer writer(id);
    ASSERT_TRUE(write_stamped(writer, 8, 8, 3));
    pvshm::Reader reader(id);
    auto view = reader.view_latest();
    writer.remove();
    EXPECT_TRUE(pvshm::test::segment_absent(id));
    EXPECT_FALSE(writer.still_published());
    EXPECT_EQ(read_stamp(view->data(), view->size()), 3u);
    EXPECT_FALSE(reader.view_latest());
}

TEST_F(WriterReader, ReaderFollowsASegmentCreatedAgainUnderTheSameId)
{
    pvshm::Reader reader(id);
    {
        pvshm::Writer writer(id);
        for (uint64_t stamp = 1; stamp <= 5; ++stamp)
            ASSERT_TRUE(write_stamped(writer, 8, 8, stamp));
    }
    ASSERT_EQ(reader.view_latest()->info().sequence, 5u);
    pvshm::dev_clear_shared_memory(id);
    pvshm::Writer writer(id);
    ASSERT_TRUE(write_stamped(writer, 8, 8, 77));
    EXPECT_TRUE(reader.wait(5s));
    auto view = reader.view_latest();
    ASSERT_TRUE(view);
    EXPECT_EQ(read_stamp(view->data(), view->size()), 77u);
}

TEST_F(WriterReader, SegmentIsCreatedWithMode0600ByDefault)
{
    pvshm::Writer writer(id);
    ASSERT_TRUE(write_stamped(writer, 8, 8, 1));
    pvshm::Reader reader(id);
    auto status = reader.status();
    ASSERT_TRUE(status);
    EXPECT_EQ(status->mode, 0600u);
    EXPECT_EQ(status->frames_written, 1u);
    EXPECT_TRUE(status->writer_alive);
}

TEST_F(WriterReader, PublishedLoanStaysMappedAfterTheSegmentGrows)
{
    pvshm::Writer writer(id);
    auto info = pvshm::packed_frame_info(pvshm::PixelFormat::GRAY8, 8, 8);
    auto loan = writer.loan(info.payload_size);
    ASSERT_TRUE(loan);
    fill_stamped(loan->data(), info.payload_size, 11);
    ASSERT_EQ(writer.publish(*loan, info), 1u);
    EXPECT_THROW(writer.publish(*loan, info), std::invalid_argument); // published once only
    ASSERT_TRUE(write_stamped(writer, 1920, 1080, 12));               // replaces the segment
    EXPECT_EQ(read_stamp(loan->data(), info.payload_size), 11u);
}

TEST_F(WriterReader, SpeculativeLoanDropsNoFrame)
{
    pvshm::Writer writer(id, slots(2));
    ASSERT_TRUE(write_stamped(writer, 8, 8, 1));
    pvshm::Reader reader(id);
    auto pinned = reader.view_latest();
    ASSERT_TRUE(write_stamped(writer, 8, 8, 2));
    EXPECT_FALSE(writer.try_loan(64));
    EXPECT_EQ(writer.stats().frames_dropped, 0u);
    EXPECT_FALSE(writer.loan(64));
    EXPECT_EQ(writer.stats().frames_dropped, 1u);
}

TEST_F(WriterReader, LargeFramesAndFillsAtAnyOffsetArriveIntact)
{
    pvshm::Writer writer(id);
    pvshm::Reader reader(id);
    // 4K BGR and an odd size: both go past the cache, with an unaligned head and tail.
    for (uint32_t width : {3840u, 3001u}) {
        auto info = pvshm::packed_frame_info(pvshm::PixelFormat::BGR, width, 2160);
        std::vector<uint8_t> bytes(info.payload_size);
        for (size_t i = 0; i < bytes.size(); ++i)
            bytes[i] = uint8_t(i * 7 + width);
        ASSERT_TRUE(writer.write(info, bytes.data()));
        auto view = reader.view_latest();
        ASSERT_TRUE(view);
        ASSERT_EQ(view->size(), bytes.size());
        EXPECT_EQ(std::memcmp(view->data(), bytes.data(), bytes.size()), 0) << width;

        auto loan = writer.loan(info.payload_size);
        ASSERT_TRUE(loan);
        loan->fill(0, bytes.data(), 3);
        loan->fill(3, bytes.data() + 3, bytes.size() - 3);
        EXPECT_EQ(std::memcmp(loan->data(), bytes.data(), bytes.size()), 0) << width;
        EXPECT_THROW(loan->fill(loan->capacity() - 1, bytes.data(), 2), std::out_of_range);
        EXPECT_THROW(loan->fill(loan->capacity() + 1, bytes.data(), 0), std::out_of_range);
    }
}

// A relay (keep_sequence) that receives the source's frames 10, 11, 15 lost 12..14 on the way:
// they count as drops of its id, where readers look; a source that restarts from 1 is no loss.
TEST_F(WriterReader, RelayCountsGapsInItsSourcesNumbersAsDrops)
{
    pvshm::WriterOptions options;
    options.keep_sequence = true;
    pvshm::Writer writer(id, options);
    auto info = pvshm::packed_frame_info(pvshm::PixelFormat::GRAY8, 4, 4);
    const std::vector<uint8_t> bytes(info.payload_size);
    for (uint64_t sequence : {10, 11, 15, 1, 2}) {
        info.sequence = sequence;
        ASSERT_TRUE(writer.write(info, bytes.data()));
    }
    EXPECT_EQ(writer.stats().frames_dropped, 3u);
    pvshm::Reader reader(id);
    const auto status = reader.status();
    ASSERT_TRUE(status);
    EXPECT_EQ(status->frames_dropped, 3u);
    EXPECT_EQ(status->latest->sequence, 17u);
}

// A relay says when its source stops sending: readers then see no live writer, though the relay
// holds the id, and a live one again when it says so; its origin shows in the status; a writer
// that takes the id over starts with neither.
TEST_F(WriterReader, RelayMarksItsSourceDeadAndAliveForItsReaders)
{
    {
        pvshm::Writer writer(id);
        ASSERT_TRUE(write_stamped(writer, 4, 4, 1));
        writer.set_source("srt://camera-host:7001");
        pvshm::Reader reader(id);
        EXPECT_TRUE(reader.writer_alive());
        writer.set_source_alive(false);
        EXPECT_FALSE(reader.writer_alive());
        EXPECT_FALSE(reader.view_latest()->writer_alive());
        auto status = reader.status();
        ASSERT_TRUE(status);
        EXPECT_FALSE(status->writer_alive);
        EXPECT_EQ(status->source, "srt://camera-host:7001");
        // The marks follow the id into a grown segment.
        ASSERT_TRUE(write_stamped(writer, 400, 400, 2));
        EXPECT_FALSE(pvshm::Reader(id).writer_alive());
        writer.set_source_alive(true);
        EXPECT_TRUE(reader.writer_alive());
        writer.set_source_alive(false);
    }
    pvshm::Writer next(id);
    pvshm::Reader reader(id);
    EXPECT_TRUE(reader.writer_alive());
    EXPECT_EQ(reader.status()->source, "");
}

// Left to the library, the slot count comes from the slot size: as many as kAutoSlotsBudget
// holds (a 16th of the filesystem where that is less), 4 to 64, chosen again when a frame grows
// the segment; a count given is kept whatever the frame size.
TEST_F(WriterReader, DefaultSlotsComeFromTheFrameSize)
{
    EXPECT_EQ(pvshm::WriterOptions{}.slots, pvshm::kAutoSlots);
    pvshm::Writer writer(id);
    pvshm::Reader reader(id);
    ASSERT_TRUE(write_stamped(writer, 32, 16, 1));
    EXPECT_EQ(reader.status()->slots, pvshm::kMaxWriterSlots);
    // 1920x1080 BGR's bytes: ten slots of 6,221,824 bytes (the frame rounded up to pages).
    ASSERT_TRUE(write_stamped(writer, 1920 * 3, 1080, 2));
    struct statvfs filesystem = {};
    const std::string object = pvshm::test::object_path(id);
    ASSERT_EQ(statvfs(object.substr(0, object.rfind('/')).c_str(), &filesystem), 0);
    if (uint64_t{filesystem.f_blocks} * filesystem.f_frsize >= 16 * pvshm::kAutoSlotsBudget)
        EXPECT_EQ(reader.status()->slots, 10u);
    else
        EXPECT_GE(reader.status()->slots, pvshm::kMinAutoSlots);

    pvshm::dev_clear_shared_memory(id);
    pvshm::Writer given(id, slots(4));
    ASSERT_TRUE(write_stamped(given, 32, 16, 1));
    EXPECT_EQ(reader.status()->slots, 4u);
    EXPECT_THROW(pvshm::Writer(id + "-1", slots(1)), std::invalid_argument);
    EXPECT_THROW(pvshm::Writer(id + "-1", slots(65)), std::invalid_argument);
}

// The first frame grows the segment made when the writer took the id. A reader of every frame
// waiting from before it held its need lock in the old segment until it followed, and the writer
// did not look there: it reused two slots of the new one over and over, and a reader that took
// long to map a large new segment (under load) lost the first frames, whatever the slot count.
TEST_F(WriterReader, AReaderOfEveryFrameFollowingTheFirstGrowthLosesNoFrame)
{
    pvshm::Writer writer(id, slots(8));
    pvshm::Reader reader(id);
    EXPECT_FALSE(reader.view_next()); // attached, before the first frame
    for (uint64_t stamp = 1; stamp <= 6; ++stamp)
        ASSERT_TRUE(write_stamped(writer, 640, 480, stamp));
    for (uint64_t expected = 1; expected <= 6; ++expected) {
        auto next = reader.view_next();
        ASSERT_TRUE(next) << expected;
        EXPECT_EQ(next->info().sequence, expected);
        EXPECT_EQ(read_stamp(next->data(), next->size()), expected);
    }
    EXPECT_EQ(reader.frames_skipped(), 0u);
}
