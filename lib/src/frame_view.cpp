// SPDX-License-Identifier: LGPL-2.1-or-later
#include <pvshm/frame.hpp>

// FrameView: the public face of a SlotPin.
#include <stdexcept>

#include "slot_pin.hpp"

namespace pvshm {

FrameView::FrameView(std::shared_ptr<const detail::SlotPin> pin) : pin_(std::move(pin)) {}

const FrameInfo& FrameView::info() const
{
    static const FrameInfo empty;
    return pin_ ? pin_->info() : empty;
}

const uint8_t* FrameView::data() const
{
    return pin_ ? pin_->payload() : nullptr;
}

size_t FrameView::size() const
{
    return pin_ ? pin_->info().payload_size : 0;
}

const uint8_t* FrameView::plane(int index) const
{
    if (!pin_ || index < 0 || index >= static_cast<int>(pin_->info().plane_count))
        throw std::out_of_range("frame has no plane " + std::to_string(index));
    return pin_->payload() + pin_->info().plane_offsets[index];
}

bool FrameView::lost() const
{
    return pin_ && pin_->lost();
}

bool FrameView::writer_alive() const
{
    return pin_ && pin_->writer_alive();
}

} // namespace pvshm
