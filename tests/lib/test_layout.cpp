// SPDX-License-Identifier: LGPL-2.1-or-later
// Pins the segment layout: a change here is a change of the layout version.
#include <cstring>
#include <gtest/gtest.h>

#include "layout.hpp"

using namespace pvshm::layout;

TEST(Layout, MagicSpellsTheFormatName)
{
    char bytes[8];
    std::memcpy(bytes, &kMagic, sizeof bytes);
    EXPECT_EQ(std::string(bytes, 8), "PPVSHM01");
    EXPECT_EQ(kVersion, 2u);
}

// Fields the static_asserts in layout.hpp do not already pin.
TEST(Layout, HeaderFieldsStayWhereVersionOnePutThem)
{
    EXPECT_EQ(offsetof(SegmentHeader, magic), 0u);
    EXPECT_EQ(offsetof(SegmentHeader, version), 8u);
    EXPECT_EQ(offsetof(SegmentHeader, slot_count), 20u);
    EXPECT_EQ(offsetof(SegmentHeader, payload_offset), 32u);
    EXPECT_EQ(offsetof(SegmentHeader, slot_stride), 40u);
    EXPECT_EQ(offsetof(SegmentHeader, total_size), 48u);
    EXPECT_EQ(offsetof(SegmentHeader, writer_pid), 56u);
    EXPECT_EQ(offsetof(SegmentHeader, frames_written), 80u);
}

TEST(Layout, SlotDescriptorFieldsStayWhereVersionTwoPutThem)
{
    EXPECT_EQ(offsetof(SlotDesc, seqlock), 0u);
    EXPECT_EQ(offsetof(SlotDesc, sequence), 8u);
    EXPECT_EQ(offsetof(SlotDesc, format), 24u);
    EXPECT_EQ(offsetof(SlotDesc, strides), 32u);
    EXPECT_EQ(offsetof(SlotDesc, plane_offsets), 48u);
    EXPECT_EQ(offsetof(SlotDesc, timestamp_realtime_ns), 88u);
    EXPECT_EQ(offsetof(SlotDesc, timestamp_monotonic_ns), 96u);
    EXPECT_EQ(offsetof(SlotDesc, bit_depth), 31u);
    EXPECT_EQ(offsetof(SlotDesc, metadata_length), 116u);
}

TEST(Layout, PayloadsArePageAligned)
{
    for (uint32_t slots = kMinSlots; slots <= kMaxSlots; ++slots) {
        EXPECT_EQ(payload_offset_for(slots) % kPageSize, 0u);
        EXPECT_GE(payload_offset_for(slots), kSlotDescOffset + slots * sizeof(SlotDesc));
    }
}

TEST(Layout, LatestPacksSequenceAndSlot)
{
    const uint64_t latest = pack_latest(123456789, 63);
    EXPECT_EQ(latest_sequence(latest), 123456789u);
    EXPECT_EQ(latest_slot(latest), 63u);
}
