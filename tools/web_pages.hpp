// SPDX-License-Identifier: LGPL-2.1-or-later
// The two HTML pages of `pvshm web`, each one self-contained document: its style, its script and
// the charting library (Debian's libjs-dygraphs) are inlined, so that no path beyond CONTRACT
// section 11's serves anything and the browser fetches nothing else.
#pragma once

#include <string>

namespace pvshm::cli {

struct WebPages
{
    std::string overview; // GET /
    std::string id;       // GET /ids/ID (the page reads the id from its own path)
    bool plots = false;   // whether the charting library was found
};

// Reads the page files from the directory next to the program (tools/web in the build tree,
// copied there by meson) or else the installed one, and the charting library from where
// libjs-dygraphs installs it; without it, the id page says that plots need it. Throws
// std::runtime_error naming a page file that cannot be read.
WebPages load_web_pages();

} // namespace pvshm::cli
