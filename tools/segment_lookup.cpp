// SPDX-License-Identifier: LGPL-2.1-or-later
#include "segment_lookup.hpp"

#include <cmath>
#include <cstdio>
#include <glib.h>
#include <stdexcept>

#include <pvshm/error.hpp>

#include "commands.hpp"

namespace pvshm::cli {

ReaderOptions reader_options(bool allow_other_owner)
{
    ReaderOptions options;
    options.allow_other_owner = allow_other_owner;
    return options;
}

std::string error_text(const std::exception& error, const std::string& allow_with)
{
    if (dynamic_cast<const OtherOwnerError*>(&error))
        return std::string(error.what()) + "; allow it with " + allow_with +
               " (or PVSHM_ALLOW_OTHER_OWNERS=1)";
    return error.what();
}

SegmentStatus require_segment(Reader& reader)
{
    auto status = reader.status();
    if (!status)
        throw std::runtime_error("no segment with id '" + reader.id() + "' (see `pvshm list`)");
    return *status;
}

double frame_age_ms(const FrameInfo& info)
{
    return static_cast<double>(info.age_ns()) / 1e6;
}

std::string frame_size_text(const FrameInfo& info)
{
    if (info.width == 0 || info.height == 0)
        return "-";
    return std::to_string(info.width) + "x" + std::to_string(info.height);
}

std::string duration_text(double milliseconds)
{
    char text[32];
    const double magnitude = std::fabs(milliseconds);
    if (magnitude < 1000)
        std::snprintf(text, sizeof text, "%.0f ms", milliseconds);
    else if (magnitude < 60e3)
        std::snprintf(text, sizeof text, "%.1f s", milliseconds / 1e3);
    else if (magnitude < 3600e3)
        std::snprintf(text, sizeof text, "%.0f min", milliseconds / 60e3);
    else
        std::snprintf(text, sizeof text, "%.0f h", milliseconds / 3600e3);
    return text;
}

std::string displayable(const std::string& text)
{
    gchar* valid = g_utf8_make_valid(text.data(), static_cast<gssize>(text.size()));
    std::string out;
    for (const gchar* c = valid; *c; c = g_utf8_next_char(c)) {
        // Control characters, C1 included, are terminal escapes.
        if (g_unichar_iscntrl(g_utf8_get_char(c)))
            out += '?';
        else
            out.append(c, static_cast<size_t>(g_utf8_next_char(c) - c));
    }
    g_free(valid);
    return out;
}

} // namespace pvshm::cli
