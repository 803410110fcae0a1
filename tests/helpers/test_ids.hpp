// SPDX-License-Identifier: LGPL-2.1-or-later
// Shared-memory ids of the GoogleTest tests: unique to a test, and checked gone afterwards.
#pragma once

#include <string>

namespace pvshm::test {

// A shared-memory id unique to this test and process, e.g. "t-<run>-Suite-Name-1234-0" (see
// test_run.hpp).
std::string unique_id(const std::string& hint = {});

// Path of the object `id` names (PVSHM_SHM_DIR, else /dev/shm).
std::string object_path(const std::string& id);

// True when no object is left for `id` (the test cleaned up after itself).
bool segment_absent(const std::string& id);

} // namespace pvshm::test
