// SPDX-License-Identifier: LGPL-2.1-or-later
// Errors the library reports about what it finds in shared memory.
#pragma once

#include <stdexcept>

#include <pvshm/export.hpp>

namespace pvshm {

// The object named by an id is not a segment this build can use: truncated, corrupt, foreign,
// of another layout version, or owned by another user when that was not allowed.
class PVSHM_EXPORT SegmentError : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

} // namespace pvshm
