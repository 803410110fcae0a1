// SPDX-License-Identifier: LGPL-2.1-or-later
// The YUV formats of normalize_to_rgb(), converted in horizontal bands on OpenCV's threads.
#pragma once

#include <cstdint>

#include <opencv2/core.hpp>

#include <pvshm/frame.hpp>

namespace pvshm {

// Converts an NV12, I420, YUY2 or UYVY frame into `out` (CV_8UC3, RGB) in `bands` bands of rows
// (fewer when the frame has fewer than 2 * bands rows) on OpenCV's threads. The result does not
// depend on the number of bands.
void yuv_to_rgb(const FrameInfo& info, const uint8_t* payload, cv::Mat& out, int bands);

} // namespace pvshm
