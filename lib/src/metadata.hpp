// SPDX-License-Identifier: LGPL-2.1-or-later
// A frame's user metadata as it is stored in its slot descriptor: a JSON object whose values
// are strings, integers or floating-point numbers.
#pragma once

#include <string>
#include <string_view>

#include <pvshm/frame.hpp>

namespace pvshm {

// The stored form of `metadata` ("" when empty). Throws std::invalid_argument for an empty key,
// a string that is not UTF-8, a value that is not finite, or a result longer than
// kMaxMetadataBytes.
std::string serialize_metadata(const UserMetadata& metadata);

// Reads back what serialize_metadata() wrote. Throws SegmentError for anything else: bytes read
// from a segment are hostile.
UserMetadata parse_metadata(std::string_view stored);

} // namespace pvshm
