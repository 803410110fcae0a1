// SPDX-License-Identifier: LGPL-2.1-or-later
// The slot descriptor (layout::SlotDesc) both ways: what the writer stores of a frame's
// FrameInfo, and the FrameInfo a reader takes back, checked field by field (a segment is
// hostile). Side by side so that the two directions cannot drift apart.
#pragma once

#include <cstdint>
#include <string>

#include <pvshm/frame.hpp>

#include "layout.hpp"

namespace pvshm::detail {

// Throws std::invalid_argument when `info` cannot be stored in a descriptor for a frame of a
// slot lent with `capacity` bytes.
void check_storable(const FrameInfo& info, uint64_t capacity);

// Stores `info` (checked by check_storable()) as frame `sequence`. `camera_id` and `bit_depth`
// are stored as given (the writer resolves its defaults); `metadata` is the stored form of
// info.metadata (serialize_metadata()). A timestamp of 0 is taken now.
void write_slot_desc(layout::SlotDesc& desc, const FrameInfo& info, const std::string& camera_id,
                     uint32_t bit_depth, const std::string& metadata, uint64_t sequence);

// The frame `desc` describes in a slot of `slot_stride` bytes. Throws SegmentError naming `path`
// and `slot` when a field is out of range; a valid descriptor (every frame read) builds no text.
FrameInfo read_slot_desc(const layout::SlotDesc& desc, uint64_t slot_stride,
                         const std::string& path, uint32_t slot);

} // namespace pvshm::detail
