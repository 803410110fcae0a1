// SPDX-License-Identifier: LGPL-2.1-or-later
// `pvshm web`: every id in a browser, with live pictures, plots and Prometheus metrics.
#pragma once

#include <functional>

namespace CLI {
class App;
}

namespace pvshm::cli {

// Adds the `web` subcommand to `app`; when it is the one parsed, `run` is set to run it.
void add_web_command(CLI::App& app, std::function<int()>& run);

} // namespace pvshm::cli
