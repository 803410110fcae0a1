// SPDX-License-Identifier: LGPL-2.1-or-later
// `pvshm serve` and `pvshm mirror`: an id sent to other hosts over SRT, and received there into
// an id of their own.
#pragma once

#include <functional>

namespace CLI {
class App;
}

namespace pvshm::cli {

// Add the subcommand to `app`; when it is the one parsed, `run` is set to run it.
void add_serve_command(CLI::App& app, std::function<int()>& run);
void add_mirror_command(CLI::App& app, std::function<int()>& run);

} // namespace pvshm::cli
