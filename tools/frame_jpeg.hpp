// SPDX-License-Identifier: LGPL-2.1-or-later
// A frame of any stored format as a JPEG picture for a browser, scaled to a width.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <opencv2/core.hpp>

#include <pvshm/frame.hpp>

#include "frame_codec.hpp"

namespace pvshm::cli {

class FrameJpeg
{
public:
    // `width`: of the pictures made, 0 for each frame's own; frames are never scaled up.
    explicit FrameJpeg(uint32_t width);

    // Appends the JPEG picture of the frame to `out`. A JPEG frame no wider than the width asked
    // is appended as stored, without decoding it. The view is let go (its slot unpinned) before
    // the encoding. Throws DecodeError or std::invalid_argument for a frame that cannot be
    // normalized.
    void encode(FrameView view, std::vector<uint8_t>& out);

private:
    const uint32_t width_;
    stream::JpegEncoder encoder_;
    std::unique_ptr<void, int (*)(void*)> decompressor_;
    cv::Mat rgb_;
    cv::Mat scaled_;
};

} // namespace pvshm::cli
