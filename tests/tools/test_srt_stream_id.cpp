// SPDX-License-Identifier: LGPL-2.1-or-later
// Which id a receiver's SRT stream id asks pvshm serve for: a table of stream ids and what a
// sender of one id and a sender of two make of them.
#include <gtest/gtest.h>
#include <optional>
#include <string>
#include <vector>

#include "srt_stream_id.hpp"

namespace pvshm::cli {
namespace {

struct Asked
{
    std::string stream_id;
    std::optional<std::string> of_one; // served {"cam0"}
    std::optional<std::string> of_two; // served {"cam0", "cam1"}
};

const std::vector<Asked> kAsked = {
    {srt_stream_id("cam1", true), std::nullopt, "cam1"},
    {srt_stream_id("cam0", true), "cam0", "cam0"},
    {srt_stream_id("mirror-b", false), "cam0", std::nullopt}, // a mirror's own id
    {srt_stream_id("cam1", false), "cam0", "cam1"},
    {"cam1", std::nullopt, "cam1"}, // a plain SRT caller naming an id
    {"", "cam0", std::nullopt},     // a caller naming none
    {"#!::u=someone", std::nullopt, std::nullopt},
    {"#!::r=cam1,any=0", std::nullopt, "cam1"},
};

TEST(SrtStreamId, ChoosesTheIdAReceiverAsksFor)
{
    for (const Asked& asked : kAsked) {
        EXPECT_EQ(requested_id(asked.stream_id, {"cam0"}), asked.of_one) << asked.stream_id;
        EXPECT_EQ(requested_id(asked.stream_id, {"cam0", "cam1"}), asked.of_two) << asked.stream_id;
    }
}

TEST(SrtStreamId, NamesTheIdPrintably)
{
    EXPECT_EQ(named_id(srt_stream_id("cam1", true)), "cam1");
    EXPECT_EQ(named_id("plain"), "plain");
    EXPECT_EQ(named_id("#!::r=a\x1b[2Jb\n,any=1"), "a\\x1b[2Jb\\x0a");
}

} // namespace
} // namespace pvshm::cli
