// SPDX-License-Identifier: LGPL-2.1-or-later
// One frame as the read and view calls of Reader and SyncReader return it: a normalized copy or
// the stored bytes in place, with its info dict when asked for.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <opencv2/core.hpp>
#include <pybind11/pybind11.h>

#include <pvshm/frame.hpp>
#include <pvshm/normalize.hpp>

namespace pvshm::python {

class TakenFrame
{
public:
    // Without the GIL. With `order`, copies the frame normalized to RGB in that order (read);
    // without, keeps the view (view). With `with_info`, notes the frame's age and whether its
    // writer is alive now. Throws SegmentError naming `id` when the segment was truncated
    // while the copy was made.
    TakenFrame(FrameView view, std::optional<ColorOrder> order, bool with_info,
               const std::string& id);

    const FrameInfo& info() const { return view_.info(); }

    // With the GIL: the (H,W,3) copy or the arrays of array_from_view, or with `with_info`
    // (frame, info) where info is frame_dict plus age_ms and writer_alive. Consumes the frame.
    pybind11::object to_python();

private:
    FrameView view_;
    bool copied_;
    cv::Mat copy_;
    bool with_info_;
    int64_t age_ns_ = 0;
    bool writer_alive_ = false;
};

} // namespace pvshm::python
