// SPDX-License-Identifier: LGPL-2.1-or-later
#include "taken_frame.hpp"

#include <utility>

#include <pvshm/error.hpp>

#include "arrays.hpp"
#include "facts.hpp"

namespace py = pybind11;

namespace pvshm::python {

TakenFrame::TakenFrame(FrameView view, std::optional<ColorOrder> order, bool with_info,
                       const std::string& id)
    : view_(std::move(view)), copied_(order.has_value()), with_info_(with_info)
{
    if (order) {
        normalize_to_rgb(view_.info(), view_.data(), copy_, *order);
        if (view_.lost())
            throw SegmentError("'" + id + "': the segment was truncated while its frame was read");
    }
    // Facts of this very frame, from its own view: never a second look at the segment.
    if (with_info) {
        age_ns_ = view_.info().age_ns();
        writer_alive_ = view_.writer_alive();
    }
}

py::object TakenFrame::to_python()
{
    py::object info = py::none();
    if (with_info_) {
        py::dict facts = frame_dict(view_.info());
        facts["age_ms"] = static_cast<double>(age_ns_) / 1e6;
        facts["writer_alive"] = writer_alive_;
        info = std::move(facts);
    }
    py::object frame;
    if (copied_) {
        view_ = FrameView(); // copied out: the slot is free for the writer again
        frame = array_from_image(std::move(copy_));
    } else {
        frame = array_from_view(std::move(view_));
    }
    if (!with_info_)
        return frame;
    return py::make_tuple(std::move(frame), std::move(info));
}

} // namespace pvshm::python
