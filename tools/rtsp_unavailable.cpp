// SPDX-License-Identifier: LGPL-2.1-or-later
// `pvshm rtsp` in a build without gst-rtsp-server: the command exists and says what is missing.
#include <CLI/CLI.hpp>
#include <stdexcept>

#include "rtsp_command.hpp"

namespace pvshm::cli {

void add_rtsp_command(CLI::App& app, std::function<int()>& run)
{
    auto* rtsp = app.add_subcommand("rtsp", "Serve ids as RTSP streams (not in this build)");
    rtsp->allow_extras();
    rtsp->callback([&run] {
        run = []() -> int {
            throw std::runtime_error("this pvshm was built without gst-rtsp-server: install "
                                     "libgstrtspserver-1.0-dev and build it again");
        };
    });
}

} // namespace pvshm::cli
