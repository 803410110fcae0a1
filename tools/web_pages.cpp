// SPDX-License-Identifier: LGPL-2.1-or-later
#include "web_pages.hpp"

#include <fstream>
#include <glib.h>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <unistd.h>

namespace pvshm::cli {
namespace {

std::optional<std::string> read_file(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return std::nullopt;
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// Where the page files are: next to the program when it runs from the build tree, else where
// `meson install` put them.
std::string pages_directory()
{
    gchar* program = g_file_read_link("/proc/self/exe", nullptr);
    if (program) {
        gchar* directory = g_path_get_dirname(program);
        const std::string beside = std::string(directory) + "/web";
        g_free(directory);
        g_free(program);
        if (g_file_test((beside + "/overview.html").c_str(), G_FILE_TEST_IS_REGULAR))
            return beside;
    }
    return PVSHM_WEB_PAGES_DIR;
}

// A script as it can sit inside <script>: without the comment that would make a browser's
// developer tools fetch a source map.
std::string inline_script(std::string script)
{
    const size_t map = script.find("\n//# sourceMappingURL=");
    if (map != std::string::npos)
        script.erase(map + 1, script.find('\n', map + 1) - map);
    return script;
}

// `page` with each {{name}} replaced by parts[name].
std::string compose(std::string page, const std::map<std::string, std::string>& parts)
{
    for (const auto& [name, text] : parts) {
        const std::string token = "{{" + name + "}}";
        for (size_t at = page.find(token); at != std::string::npos;
             at = page.find(token, at + text.size()))
            page.replace(at, token.size(), text);
    }
    return page;
}

} // namespace

WebPages load_web_pages()
{
    const std::string directory = pages_directory();
    std::map<std::string, std::string> parts;
    const auto page_file = [&](const std::string& name) {
        auto text = read_file(directory + "/" + name);
        if (!text)
            throw std::runtime_error("cannot read the page file '" + directory + "/" + name +
                                     "': reinstall pvshm");
        return *text;
    };
    for (const char* name : {"console.css", "common.js", "overview.js", "id.js"})
        parts[name] = page_file(name);
    WebPages pages;
    const auto script = read_file(std::string(PVSHM_DYGRAPH_DIR) + "/dygraph.min.js");
    const auto style = read_file(std::string(PVSHM_DYGRAPH_DIR) + "/dygraph.min.css");
    pages.plots = script && style;
    parts["dygraph.min.js"] = pages.plots ? inline_script(*script) : "";
    parts["dygraph.min.css"] = pages.plots ? *style : "";
    pages.overview = compose(page_file("overview.html"), parts);
    pages.id = compose(page_file("id.html"), parts);
    return pages;
}

} // namespace pvshm::cli
