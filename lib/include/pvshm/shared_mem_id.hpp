// SPDX-License-Identifier: LGPL-2.1-or-later
// What a shared_mem_id may be.
#pragma once

#include <string>

#include <pvshm/export.hpp>

namespace pvshm {

// The rule, in words, for help texts and property descriptions.
inline constexpr const char* kIdRule =
    "1 to 200 characters of [A-Za-z0-9._-], not starting with '.'";

// Throws std::invalid_argument naming the id and the rule unless `id` follows it.
PVSHM_EXPORT void validate_id(const std::string& id);

} // namespace pvshm
