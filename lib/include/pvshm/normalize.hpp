// SPDX-License-Identifier: LGPL-2.1-or-later
// Turning a frame of any supported format into the RGB image an algorithm expects.
#pragma once

#include <stdexcept>
#include <string>

#include <opencv2/core.hpp>

#include <pvshm/export.hpp>
#include <pvshm/frame.hpp>

namespace pvshm {

// Channel order assumed for PixelFormat::Rgb3Unordered frames (raw 3-channel arrays).
enum class ColorOrder
{
    RGB,
    BGR,
};

// "RGB" or "BGR" (case-insensitive); anything else is std::invalid_argument.
PVSHM_EXPORT ColorOrder color_order_from_name(const std::string& name);

class PVSHM_EXPORT DecodeError : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

// Converts the frame described by `info`, whose info.payload_size bytes start at `payload`, into
// a CV_8UC3 RGB image in one pass: gray expanded, BGR swapped, alpha dropped, 16-bit gray
// shifted to 8 bits, YUV converted with the frame's matrix and range (GStreamer's defaults when
// unspecified: BT.601 up to 576 lines, BT.709 above; limited range), Bayer demosaiced, JPEG and
// PNG decoded. `out` is reallocated only when its size or type differ. Throws DecodeError when
// the bytes cannot be decoded and std::invalid_argument when `info` is inconsistent.
PVSHM_EXPORT void normalize_to_rgb(const FrameInfo& info, const uint8_t* payload, cv::Mat& out,
                                   ColorOrder unordered_order = ColorOrder::RGB);

} // namespace pvshm
