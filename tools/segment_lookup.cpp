#include "segment_lookup.hpp"

#include <cmath>
#include <cstdio>
#include <ctime>
#include <stdexcept>

#include "commands.hpp"
#include "json.hpp"

namespace pvshm::cli {

ReaderOptions reader_options(bool allow_other_owner)
{
    ReaderOptions options;
    options.allow_other_owner = allow_other_owner;
    options.allow_other_owner_switch = "--allow-other-owner";
    return options;
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
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    const int64_t now_ns = int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
    return static_cast<double>(now_ns - info.timestamp_realtime_ns) / 1e6;
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

std::string printable(const std::string& text)
{
    std::string out;
    for (size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            out += c < 0x20 || c == 0x7f ? '?' : static_cast<char>(c);
            ++i;
            continue;
        }
        const size_t length = utf8_sequence_length(std::string_view(text).substr(i));
        if (length == 0) {
            out += "\xef\xbf\xbd"; // U+FFFD
            ++i;
        } else {
            // C1 controls (U+0080..U+009F) are terminal escapes too.
            const bool control =
                length == 2 && c == 0xc2 && static_cast<unsigned char>(text[i + 1]) < 0xa0;
            out.append(control ? "?" : text.substr(i, length));
            i += length;
        }
    }
    return out;
}

} // namespace pvshm::cli
