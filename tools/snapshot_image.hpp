// SPDX-License-Identifier: LGPL-2.1-or-later
// The newest frame of an id as `pvshm snapshot` saves it, also served by `pvshm web`.
#pragma once

#include <cstdint>

#include <opencv2/core.hpp>

#include <pvshm/normalize.hpp>
#include <pvshm/reader.hpp>

namespace pvshm::cli {

// The newest frame as cv::imwrite/imencode take it: BGR, or with `raw` the 16-bit samples of a
// GRAY16_LE frame as stored; `sequence` is set to the frame's. Throws std::runtime_error when the
// segment holds no frame, and what normalize_to_rgb throws.
cv::Mat snapshot_image(Reader& reader, ColorOrder order, bool raw, uint64_t& sequence);

} // namespace pvshm::cli
