// SPDX-License-Identifier: LGPL-2.1-or-later
// pvshm: camera frames between processes through shared memory.
//
// The four functions below are the seed API for algorithm code. Under them: pvshm::Writer and
// pvshm::Reader (writer.hpp, reader.hpp), zero-copy FrameView (frame.hpp) and normalize_to_rgb
// (normalize.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include <pvshm/error.hpp>
#include <pvshm/export.hpp>
#include <pvshm/format.hpp>
#include <pvshm/frame.hpp>
#include <pvshm/log.hpp>
#include <pvshm/normalize.hpp>
#include <pvshm/reader.hpp>
#include <pvshm/shared_mem_id.hpp>
#include <pvshm/sync_reader.hpp>
#include <pvshm/writer.hpp>

namespace pvshm {

struct ImageMeta
{
    int width = 0;
    int height = 0;
    std::string color_space = "RGB"; // order of raw 3-channel arrays: "RGB" or "BGR"
    // Not used by reads (kept from the seed API's dict): a frame's capture time and camera id
    // are the writer's, in FrameInfo.
    int64_t timestamp_ms = 0;
    std::string camera_id;
    // Oldest frame accepted, in milliseconds since its capture (0: any age); an older frame gives
    // the zero fallback.
    int64_t max_age_ms = 0;
};

// The newest complete frame of the segment as a CV_8UC3 RGB image (normalized from whatever
// format it holds). Empty when image_meta's width or height is <= 0. Zeros of
// (height, width, 3) when the id has no segment, the segment holds no frame or the frame cannot
// be decoded; the reason is logged once. The frame's own size wins over image_meta's.
// Throws std::invalid_argument for an invalid id.
PVSHM_EXPORT cv::Mat read_image_from_shared_memory(const std::string& shared_mem_id,
                                                   const ImageMeta& image_meta);

// Stores a CV_8UC3 (channel order left to the reader's color_space) or CV_8UC1 array as the
// newest frame, creating or growing the segment. The calling process stays the id's writer
// until it exits or clears the id. Throws std::invalid_argument for another type or an invalid id,
// std::system_error (EBUSY) when another process is the id's live writer.
PVSHM_EXPORT void write_image_array_to_shared_memory(const std::string& shared_mem_id,
                                                     const cv::Mat& image_array);
// As above, with the channel order of a CV_8UC3 array stated ("RGB" or "BGR"; "" leaves it to
// the reader) and user metadata stored with the frame. Throws std::invalid_argument for another
// color_space or metadata larger than kMaxMetadataBytes.
PVSHM_EXPORT void write_image_array_to_shared_memory(const std::string& shared_mem_id,
                                                     const cv::Mat& image_array,
                                                     const std::string& color_space,
                                                     const UserMetadata& metadata = {});

// Stores encoded image bytes (JPEG, PNG, anything cv::imdecode reads) as the newest frame.
PVSHM_EXPORT void dev_write_image_to_shared_memory(const std::string& shared_mem_id,
                                                   const std::vector<uint8_t>& image_bytes,
                                                   const UserMetadata& metadata = {});

// Removes the segment; no error if it does not exist.
PVSHM_EXPORT void dev_clear_shared_memory(const std::string& shared_mem_id);

} // namespace pvshm
