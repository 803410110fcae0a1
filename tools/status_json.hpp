// SPDX-License-Identifier: LGPL-2.1-or-later
// The JSON of `pvshm list --json` and `pvshm info --json`, also served by `pvshm web`.
#pragma once

#include <string>

#include <pvshm/reader.hpp>

namespace pvshm::cli {

// One segment's object, as `pvshm info ID --json` prints it.
std::string segment_json(const SegmentStatus& status);

// Every entry of the shared-memory directory, as `pvshm list --json` prints it: unusable ones
// with their `error`.
std::string segment_list_json(const ReaderOptions& options);

} // namespace pvshm::cli
