// SPDX-License-Identifier: LGPL-2.1-or-later
// Frame facts between the library and Python: a frame's description as a dict, and user
// metadata dicts (str keys to str, int or float values) both ways.
#pragma once

#include <string>
#include <string_view>

#include <pybind11/pybind11.h>

#include <pvshm/frame.hpp>

namespace pvshm::python {

// Text read from a segment is whatever bytes its writer put there: invalid UTF-8 becomes U+FFFD
// rather than a UnicodeDecodeError in the middle of a read loop.
pybind11::str text_from_segment(const std::string& text);

// Reader.metadata: width, height, format, sequence, timestamp_realtime_ns,
// timestamp_monotonic_ns (also as timestamp_ns and monotonic_ns), timestamp_ms, camera_id, caps,
// payload_size, bit_depth and metadata (the user metadata dict).
pybind11::dict frame_dict(const FrameInfo& info);

// The user metadata of a frame as a new dict.
pybind11::dict metadata_dict(const UserMetadata& metadata);

// `object` (None or a dict) as user metadata. Raises TypeError for anything but a dict, a key
// that is not a str, or a value that is not a str, int or float (bool included: it would come
// back as an int); ValueError for an int beyond 64 bits. `caller` starts the message. The
// library itself refuses empty keys, non-finite floats and more than kMaxMetadataBytes.
UserMetadata metadata_from(pybind11::handle object, std::string_view caller);

} // namespace pvshm::python
