// SPDX-License-Identifier: LGPL-2.1-or-later
#include "gst_elements.hpp"

#include <cstring>
#include <stdexcept>
#include <string>

namespace pvshm::cli {
namespace {

// Where the elements the commands use come from, by the start of their name.
struct Source
{
    const char* prefix;
    const char* package;
};
constexpr Source kSources[] = {
    {"pvshm", "the pvshm plugin: install it, or run under `meson devenv -C build`"},
    {"srt", "gstreamer1.0-plugins-bad, built with libsrt"},
    {"x264", "gstreamer1.0-plugins-ugly"},
    {"openh264", "gstreamer1.0-plugins-bad"},
    {"avenc", "gstreamer1.0-libav"},
    {"jpeg", "gstreamer1.0-plugins-good"},
    {"rtp", "gstreamer1.0-plugins-good"},
    {"video", "gstreamer1.0-plugins-base"},
};

std::runtime_error missing(const char* factory)
{
    const char* package = "libgstreamer1.0-0";
    for (const Source& source : kSources)
        if (std::strncmp(factory, source.prefix, std::strlen(source.prefix)) == 0) {
            package = source.package;
            break;
        }
    return std::runtime_error(std::string("the GStreamer element ") + factory +
                              " is not installed (" + package + ")");
}

} // namespace

void require_element(const char* factory)
{
    g_autoptr(GstElementFactory) found = gst_element_factory_find(factory);
    if (!found)
        throw missing(factory);
}

GstElement* make_element(const char* factory)
{
    GstElement* element = gst_element_factory_make(factory, nullptr);
    if (!element)
        throw missing(factory);
    return element;
}

} // namespace pvshm::cli
