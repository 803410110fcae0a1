// SPDX-License-Identifier: LGPL-2.1-or-later
// `pvshm rtsp`: ids served as RTSP streams, for any video player.
#pragma once

#include <functional>

namespace CLI {
class App;
}

namespace pvshm::cli {

// Adds the `rtsp` subcommand to `app`; when it is the one parsed, `run` is set to run it.
void add_rtsp_command(CLI::App& app, std::function<int()>& run);

} // namespace pvshm::cli
