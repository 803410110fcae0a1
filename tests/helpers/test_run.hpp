// SPDX-License-Identifier: LGPL-2.1-or-later
// The start of every id a test makes: "t-<PVSHM_TEST_RUN>-", the token meson gives this test run
// (tests/meson.build), so that the check at the end of the run (tests/shm_leftovers.py) finds
// what the run left behind and nothing of other runs; "t-" outside meson test.
#pragma once

#include <cstdlib>
#include <string>

namespace pvshm::test {

inline std::string test_id_prefix()
{
    const char* run = std::getenv("PVSHM_TEST_RUN");
    return run && *run ? "t-" + std::string(run) + "-" : "t-";
}

} // namespace pvshm::test
