// SPDX-License-Identifier: LGPL-2.1-or-later
// A reader's lease on one slot: while it lives, the writer will not reuse the slot.
#pragma once

#include <memory>

#include <pvshm/frame.hpp>

#include "segment.hpp"

namespace pvshm::detail {

class SlotPin
{
public:
    // Takes over a pin already taken with segment->pin(slot).
    SlotPin(std::shared_ptr<Segment> segment, uint32_t slot, FrameInfo info)
        : segment_(std::move(segment)), slot_(slot), info_(std::move(info)),
          payload_(segment_->payload(slot))
    {
    }
    ~SlotPin() { segment_->unpin(slot_); }
    SlotPin(const SlotPin&) = delete;
    SlotPin& operator=(const SlotPin&) = delete;

    const FrameInfo& info() const { return info_; }
    const uint8_t* payload() const { return payload_; }
    bool lost() const { return segment_->lost(); }
    bool writer_alive() const { return !segment_->lost() && segment_->writer_alive(); }

private:
    std::shared_ptr<Segment> segment_;
    uint32_t slot_;
    FrameInfo info_;
    const uint8_t* payload_;
};

} // namespace pvshm::detail
