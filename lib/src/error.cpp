// SPDX-License-Identifier: LGPL-2.1-or-later
#include <utility>

#include <pvshm/error.hpp>

namespace pvshm {

OtherOwnerError::OtherOwnerError(std::string path, uid_t owner)
    : SegmentError(path + " belongs to uid " + std::to_string(owner) + ", not to this user"),
      path_(std::move(path)), owner_(owner)
{
}

} // namespace pvshm
