// SPDX-License-Identifier: LGPL-2.1-or-later
// What several subcommands need to know about a segment and its newest frame.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <pvshm/frame.hpp>
#include <pvshm/reader.hpp>

namespace pvshm::cli {

// The segment's status; throws std::runtime_error naming the id when it has no segment.
SegmentStatus require_segment(Reader& reader);

// Milliseconds since the frame was captured, by CLOCK_REALTIME (the clock both ends share).
double frame_age_ms(const FrameInfo& info);

// "640x480", or "-" for encoded frames whose size is known only once decoded.
std::string frame_size_text(const FrameInfo& info);

// "850 ms", "12.5 s", "3 min", "5 h"
std::string duration_text(double milliseconds);

// `text` with control characters replaced by '?' and bytes that are not UTF-8 by U+FFFD, safe to
// print on a terminal.
std::string displayable(const std::string& text);

} // namespace pvshm::cli
