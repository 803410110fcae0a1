// SPDX-License-Identifier: LGPL-2.1-or-later
// srt://[HOST]:PORT, as serve and mirror take it.
#pragma once

#include <string>

namespace pvshm::cli {

struct SrtAddress
{
    std::string host; // empty: every IPv4 address (serve only)
    int port = 0;
    std::string text; // as the user wrote it, for messages
};

// Reads srt://[HOST]:PORT (HOST: a name, an IPv4 address or an IPv6 one in brackets, returned
// without them), without resolving anything. Throws std::invalid_argument saying what is wrong
// for anything else: another scheme, no port, options after '?', a user name, a path.
SrtAddress parse_srt_address_text(const std::string& text, bool host_required);

// The address with its host name resolved to a numeric address, IPv4 first (SRT's listeners
// bind one family, and a name such as localhost resolving to ::1 first would find no IPv4
// listener). Throws std::invalid_argument when the name does not resolve.
SrtAddress resolve_srt_address(SrtAddress address);

} // namespace pvshm::cli
