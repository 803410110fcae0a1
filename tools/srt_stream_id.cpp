// SPDX-License-Identifier: LGPL-2.1-or-later
#include "srt_stream_id.hpp"

#include <algorithm>
#include <cstdio>
#include <string_view>

namespace pvshm::cli {
namespace {

// SRT's access-control stream ids begin so; their keys are comma-separated key=value pairs.
constexpr std::string_view kAccessControl = "#!::";

struct Request
{
    std::string id;
    bool any = false; // the only id of a sender of one will do
};

Request parse(const std::string& stream_id)
{
    if (stream_id.rfind(kAccessControl, 0) != 0)
        return {stream_id, stream_id.empty()};
    Request request;
    std::string_view rest = std::string_view(stream_id).substr(kAccessControl.size());
    while (!rest.empty()) {
        const size_t comma = rest.find(',');
        const std::string_view pair = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        const size_t equals = pair.find('=');
        if (equals == std::string_view::npos)
            continue;
        const std::string_view key = pair.substr(0, equals);
        const std::string_view value = pair.substr(equals + 1);
        if (key == "r")
            request.id = value;
        else if (key == "any")
            request.any = value == "1";
    }
    return request;
}

} // namespace

std::string srt_stream_id(const std::string& remote, bool named)
{
    return std::string(kAccessControl) + "r=" + remote + (named ? "" : ",any=1");
}

std::optional<std::string> requested_id(const std::string& stream_id,
                                        const std::vector<std::string>& served)
{
    const Request request = parse(stream_id);
    if (std::find(served.begin(), served.end(), request.id) != served.end())
        return request.id;
    if (request.any && served.size() == 1)
        return served.front();
    return std::nullopt;
}

std::string named_id(const std::string& stream_id)
{
    // A stream id comes from the network: no control character reaches a terminal.
    std::string printable;
    for (const char c : parse(stream_id).id) {
        if (c >= 0x20 && c <= 0x7e) {
            printable += c;
        } else {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\x%02x",
                          unsigned(static_cast<unsigned char>(c)));
            printable += escaped;
        }
    }
    return printable;
}

} // namespace pvshm::cli
