// SPDX-License-Identifier: LGPL-2.1-or-later
#include "srt_address.hpp"

#include <arpa/inet.h>
#include <cstdlib>
#include <cstring>
#include <glib.h>
#include <netdb.h>
#include <stdexcept>
#include <sys/socket.h>

namespace pvshm::cli {
namespace {

bool starts_with_ignoring_case(const std::string& text, const char* prefix)
{
    return text.size() >= std::strlen(prefix) &&
           g_ascii_strncasecmp(text.c_str(), prefix, std::strlen(prefix)) == 0;
}

} // namespace

SrtAddress parse_srt_address_text(const std::string& text, bool host_required)
{
    const auto refuse = [&](const std::string& why) {
        return std::invalid_argument("'" + text + "' is not an SRT address: " + why +
                                     " (expected srt://" + (host_required ? "HOST" : "[HOST]") +
                                     ":PORT)");
    };
    if (!starts_with_ignoring_case(text, "srt://"))
        throw refuse("it does not start with srt://");
    std::string rest = text.substr(6);
    if (rest.find_first_of("?#") != std::string::npos)
        throw refuse("options after '?' are not taken (the passphrase comes from "
                     "--passphrase-file, the latency from --latency)");
    if (rest.find('@') != std::string::npos)
        throw refuse("SRT has no user names");
    if (!rest.empty() && rest.back() == '/')
        rest.pop_back();
    if (rest.find('/') != std::string::npos)
        throw refuse("SRT addresses have no path");

    std::string host;
    std::string port;
    if (!rest.empty() && rest.front() == '[') {
        const size_t close = rest.find(']');
        if (close == std::string::npos || close + 1 >= rest.size() || rest[close + 1] != ':')
            throw refuse("an IPv6 address in brackets is followed by :PORT");
        host = rest.substr(1, close - 1);
        port = rest.substr(close + 2);
    } else {
        const size_t colon = rest.rfind(':');
        if (colon == std::string::npos)
            throw refuse("no port");
        host = rest.substr(0, colon);
        port = rest.substr(colon + 1);
        if (host.find(':') != std::string::npos)
            throw refuse("an IPv6 address goes in brackets");
    }
    const bool digits = !port.empty() && port.size() <= 5 &&
                        port.find_first_not_of("0123456789") == std::string::npos;
    const long number = digits ? std::strtol(port.c_str(), nullptr, 10) : 0;
    if (number < 1 || number > 65535)
        throw refuse("the port is a number from 1 to 65535");
    if (host.empty() && host_required)
        throw refuse("no host to connect to");

    SrtAddress address;
    address.host = host;
    address.port = int(number);
    address.text = text;
    return address;
}

SrtAddress resolve_srt_address(SrtAddress address)
{
    if (address.host.empty())
        return address;
    const std::string& text = address.text;
    addrinfo hints = {};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    addrinfo* found = nullptr;
    const int status = getaddrinfo(address.host.c_str(), nullptr, &hints, &found);
    if (status != 0)
        throw std::invalid_argument("cannot resolve the host of '" + text +
                                    "': " + gai_strerror(status));
    const addrinfo* chosen = found;
    for (const addrinfo* entry = found; entry; entry = entry->ai_next)
        if (entry->ai_family == AF_INET) {
            chosen = entry;
            break;
        }
    char numeric[INET6_ADDRSTRLEN] = {};
    const void* numeric_address =
        chosen->ai_family == AF_INET
            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(chosen->ai_addr)->sin_addr)
            : static_cast<const void*>(
                  &reinterpret_cast<sockaddr_in6*>(chosen->ai_addr)->sin6_addr);
    inet_ntop(chosen->ai_family, numeric_address, numeric, sizeof numeric);
    freeaddrinfo(found);
    address.host = numeric;
    return address;
}

} // namespace pvshm::cli
