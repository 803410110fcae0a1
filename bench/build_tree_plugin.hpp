// SPDX-License-Identifier: LGPL-2.1-or-later
// The pvshm plugin of the build tree, for this process and the processes it starts, as under
// `meson devenv`, without installing it.
#pragma once

#include <cstdlib>
#include <string>

inline void use_build_tree_plugin()
{
    const char* current = std::getenv("GST_PLUGIN_PATH");
    std::string path = PVSHM_PLUGIN_DIR;
    if (current && *current)
        path += std::string(":") + current;
    setenv("GST_PLUGIN_PATH", path.c_str(), 1);
}
