// SPDX-License-Identifier: LGPL-2.1-or-later
// What to say of a word given where a subcommand belongs: the closest subcommand, if one is close.
#pragma once

#include <string>
#include <vector>

namespace pvshm::cli {

// "unknown command 'lst'; did you mean 'list'?", or, when no command is within two edits,
// "unknown command 'x'; the commands are: list, info, ...".
std::string unknown_command_message(const std::string& word,
                                    const std::vector<std::string>& commands);

} // namespace pvshm::cli
