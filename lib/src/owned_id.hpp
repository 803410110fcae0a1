// SPDX-License-Identifier: LGPL-2.1-or-later
// A writer's hold on its id: taking it over from a dead writer or creating its segment, linking
// it under the id's name, replacing it by a larger one, and publishing it again when another
// process removed or truncated it. What the writer does with the segment it holds (lending and
// publishing slots) is writer.cpp's.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <pvshm/writer.hpp>

#include "segment.hpp"

namespace pvshm::detail {

// Not thread-safe: the writer calls it under its own lock.
class OwnedId
{
public:
    OwnedId(std::string id, WriterOptions options);

    const std::string& id() const { return id_; }
    const std::string& path() const { return path_; }

    // The slot count of a segment whose slots are `slot_stride` bytes: the options', or, when
    // they leave it to the library (kAutoSlots), as many as the budget holds (writer.hpp).
    uint32_t slot_count(uint64_t slot_stride) const;

    // Takes the id: creates its segment, or adopts the one a dead writer left (keeping its last
    // frame readable; `newest_sequence` is set to its number, else left alone). Throws as
    // Writer's constructor says.
    std::shared_ptr<Segment> take(uint64_t& newest_sequence);

    // Builds a new object able to hold `size` bytes per slot and renames it over the id. When
    // `current_is_valid`, its counters carry over and it is marked superseded so that its
    // readers reopen the name. Returns the new segment.
    std::shared_ptr<Segment> replace(const std::shared_ptr<Segment>& current, uint64_t size,
                                     bool current_is_valid);

    // A segment that another process truncated, or whose name was removed (`pvshm clear
    // --force`), reaches no reader any more: builds a new one under the id so that the stream
    // goes on. Returns it, or nullptr when `current` stays the writer's segment. The name is
    // looked at (a system call) at most every kNameCheckInterval.
    std::shared_ptr<Segment> keep_published(const std::shared_ptr<Segment>& current);

private:
    std::unique_ptr<Segment> create_temporary(uint64_t slot_stride);
    std::shared_ptr<Segment> create_and_link(uint64_t slot_stride);
    std::shared_ptr<Segment> adopt_or_replace(std::unique_ptr<Segment> existing,
                                              uint64_t& newest_sequence);
    // Takes the id of a dead writer whose lock byte readers hold, by a new object.
    std::shared_ptr<Segment> replace_held(std::unique_ptr<Segment> existing,
                                          uint64_t& newest_sequence);
    void mark_lossless(layout::SegmentHeader& header) const;
    uint64_t initial_stride() const;

    const std::string id_;
    const std::string path_;
    const WriterOptions options_;
    const uint64_t auto_slots_budget_; // bytes, for kAutoSlots
    std::chrono::steady_clock::time_point next_name_check_{};
    bool name_taken_ = false; // another writer holds the id since ours was removed
};

} // namespace pvshm::detail
