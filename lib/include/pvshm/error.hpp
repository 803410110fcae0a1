// SPDX-License-Identifier: LGPL-2.1-or-later
// Errors the library reports about what it finds in shared memory.
#pragma once

#include <stdexcept>
#include <string>
#include <sys/types.h>

#include <pvshm/export.hpp>

namespace pvshm {

// The object named by an id is not a segment this build can use: truncated, corrupt, foreign,
// of another layout version, or owned by another user when that was not allowed.
class PVSHM_EXPORT SegmentError : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

// A reader refused the segment at `path()` because it belongs to user `owner()`, not to this one:
// anyone could have planted it under the id. ReaderOptions::allow_other_owner (or the
// environment's PVSHM_ALLOW_OTHER_OWNERS=1) allows it; each front end names its own switch.
class PVSHM_EXPORT OtherOwnerError : public SegmentError
{
public:
    OtherOwnerError(std::string path, uid_t owner);
    const std::string& path() const { return path_; }
    uid_t owner() const { return owner_; }

private:
    std::string path_;
    uid_t owner_;
};

} // namespace pvshm
