// SPDX-License-Identifier: LGPL-2.1-or-later
// srt://[HOST]:PORT as serve and mirror read it, without resolving anything: a table of what is
// taken and what is refused, with the reason the message gives.
#include <gtest/gtest.h>
#include <stdexcept>
#include <string>

#include "srt_address.hpp"

namespace pvshm::cli {
namespace {

struct Taken
{
    const char* text;
    bool host_required;
    const char* host;
    int port;
};

constexpr Taken kTaken[] = {
    {"srt://127.0.0.1:7001", true, "127.0.0.1", 7001},
    {"SRT://camera-host:1", true, "camera-host", 1},
    {"srt://[::1]:65535", true, "::1", 65535},
    {"srt://10.0.0.2:7001/", true, "10.0.0.2", 7001},
    {"srt://:7001", false, "", 7001},
};

TEST(SrtAddress, TakesHostAndPortAsWritten)
{
    for (const Taken& taken : kTaken) {
        const SrtAddress address = parse_srt_address_text(taken.text, taken.host_required);
        EXPECT_EQ(address.host, taken.host) << taken.text;
        EXPECT_EQ(address.port, taken.port) << taken.text;
        EXPECT_EQ(address.text, taken.text);
    }
}

struct Refused
{
    const char* text;
    bool host_required;
    const char* reason;
};

constexpr Refused kRefused[] = {
    {"http://127.0.0.1:7001", true, "it does not start with srt://"},
    {"srt://127.0.0.1", true, "no port"},
    {"srt://127.0.0.1:0", true, "the port is a number from 1 to 65535"},
    {"srt://127.0.0.1:65536", true, "the port is a number from 1 to 65535"},
    {"srt://127.0.0.1:70000", true, "the port is a number from 1 to 65535"},
    {"srt://127.0.0.1:+80", true, "the port is a number from 1 to 65535"},
    {"srt://127.0.0.1:7001?mode=caller", true, "options after '?' are not taken"},
    {"srt://127.0.0.1:7001#x", true, "options after '?' are not taken"},
    {"srt://127.0.0.1:7001/path", true, "SRT addresses have no path"},
    {"srt://user@127.0.0.1:7001", true, "SRT has no user names"},
    {"srt://::1:7001", true, "an IPv6 address goes in brackets"},
    {"srt://[::1]7001", true, "an IPv6 address in brackets is followed by :PORT"},
    {"srt://[::1", true, "an IPv6 address in brackets is followed by :PORT"},
    {"srt://:7001", true, "no host to connect to"},
    {"", true, "it does not start with srt://"},
};

TEST(SrtAddress, RefusesWhatItCannotTakeSayingWhy)
{
    for (const Refused& refused : kRefused) {
        try {
            parse_srt_address_text(refused.text, refused.host_required);
            ADD_FAILURE() << refused.text << " was taken";
        } catch (const std::invalid_argument& error) {
            const std::string message = error.what();
            EXPECT_EQ(
                message.rfind(std::string("'") + refused.text + "' is not an SRT address: ", 0), 0u)
                << message;
            EXPECT_NE(message.find(refused.reason), std::string::npos) << message;
        }
    }
}

} // namespace
} // namespace pvshm::cli
