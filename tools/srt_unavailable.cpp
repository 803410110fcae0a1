// SPDX-License-Identifier: LGPL-2.1-or-later
// `pvshm serve` and `pvshm mirror` in a build without GStreamer: the commands exist and say what
// is missing.
#include <CLI/CLI.hpp>
#include <stdexcept>

#include "srt_commands.hpp"

namespace pvshm::cli {
namespace {

void add_unavailable(CLI::App& app, const char* name, std::function<int()>& run)
{
    auto* command = app.add_subcommand(name, "Frames to or from other hosts (not in this build)");
    command->allow_extras();
    command->callback([&run] {
        run = []() -> int {
            throw std::runtime_error("this pvshm was built without GStreamer: install "
                                     "libgstreamer1.0-dev and build it again");
        };
    });
}

} // namespace

void add_serve_command(CLI::App& app, std::function<int()>& run)
{
    add_unavailable(app, "serve", run);
}

void add_mirror_command(CLI::App& app, std::function<int()>& run)
{
    add_unavailable(app, "mirror", run);
}

} // namespace pvshm::cli
