// SPDX-License-Identifier: LGPL-2.1-or-later
// Shared-memory ids and where their objects live.
#pragma once

#include <string>

#include <pvshm/shared_mem_id.hpp>

namespace pvshm {

// The directory holding the objects: /dev/shm, or $PVSHM_SHM_DIR when set.
const std::string& shm_dir();

// Path of the object that `id` names: <shm_dir>/pvshm.<id>.
std::string segment_path(const std::string& id);

// Object names in shm_dir: segments start with kSegmentPrefix, a writer's half-built
// replacement with kTemporaryPrefix (which no id can produce).
inline constexpr const char* kSegmentPrefix = "pvshm.";
inline constexpr const char* kTemporaryPrefix = "pvshm~";

} // namespace pvshm
