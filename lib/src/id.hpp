// Shared-memory ids and where their objects live.
#pragma once

#include <string>

namespace pvshm {

// Throws std::invalid_argument naming the id and the rule unless `id` is 1 to 200 characters of
// [A-Za-z0-9._-] not starting with '.'.
void validate_id(const std::string& id);

// The directory holding the objects: /dev/shm, or $PVSHM_SHM_DIR when set.
const std::string& shm_dir();

// Path of the object that `id` names: <shm_dir>/pvshm.<id>.
std::string segment_path(const std::string& id);

// Object names in shm_dir: segments start with kSegmentPrefix, a writer's half-built
// replacement with kTemporaryPrefix (which no id can produce).
inline constexpr const char* kSegmentPrefix = "pvshm.";
inline constexpr const char* kTemporaryPrefix = "pvshm~";

} // namespace pvshm
