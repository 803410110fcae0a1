// SPDX-License-Identifier: LGPL-2.1-or-later
// `pvshm web` in a build without libsoup 3: the command exists and says what is missing.
#include <CLI/CLI.hpp>
#include <stdexcept>

#include "web_command.hpp"

namespace pvshm::cli {

void add_web_command(CLI::App& app, std::function<int()>& run)
{
    auto* web = app.add_subcommand("web", "Serve a web console of every id (not in this build)");
    web->allow_extras();
    web->callback([&run] {
        run = []() -> int {
            throw std::runtime_error("this pvshm was built without libsoup 3: install "
                                     "libsoup-3.0-dev and build it again");
        };
    });
}

} // namespace pvshm::cli
