// SPDX-License-Identifier: LGPL-2.1-or-later
// Encoded frames (JPEG, PNG) to RGB, bounded before any pixel memory is allocated.
#pragma once

#include <cstddef>
#include <cstdint>

#include <opencv2/core.hpp>

namespace pvshm {

// Decodes the `size` bytes at `bytes` into `out` (CV_8UC3, RGB). The image's size comes from
// its decoder's own header parse (libjpeg-turbo, libpng) and must be within the limits of a raw
// frame (kMaxDimension, kMaxPayloadSize) before anything is decoded. Throws DecodeError for
// anything that is not a JPEG or PNG within those limits, or does not decode.
void decode_image(const uint8_t* bytes, size_t size, cv::Mat& out);

} // namespace pvshm
