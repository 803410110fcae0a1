// SPDX-License-Identifier: LGPL-2.1-or-later
// Where library messages go: the process-wide handler, and a thread's own handler while it lives.
#include <gtest/gtest.h>
#include <string>
#include <thread>
#include <vector>

#include "log.hpp"

namespace {

struct Handlers : ::testing::Test
{
    std::vector<std::string> process_wide;

    void SetUp() override
    {
        pvshm::set_log_handler([this](pvshm::LogLevel, std::string_view message) {
            process_wide.emplace_back(message);
        });
    }
    void TearDown() override { pvshm::set_log_handler({}); }
};

pvshm::LogHandler into(std::vector<std::string>& messages)
{
    return
        [&messages](pvshm::LogLevel, std::string_view message) { messages.emplace_back(message); };
}

} // namespace

TEST_F(Handlers, ThreadHandlersNestAndTheOuterComesBack)
{
    std::vector<std::string> outer, inner;
    {
        pvshm::ThreadLogHandler outer_scope(into(outer));
        pvshm::log::warning("one");
        {
            pvshm::ThreadLogHandler inner_scope(into(inner));
            pvshm::log::warning("two");
        }
        pvshm::log::warning("three");
    }
    pvshm::log::warning("four");
    EXPECT_EQ(outer, (std::vector<std::string>{"one", "three"}));
    EXPECT_EQ(inner, (std::vector<std::string>{"two"}));
    EXPECT_EQ(process_wide, (std::vector<std::string>{"four"}));
}

TEST_F(Handlers, OtherThreadsKeepTheProcessWideHandler)
{
    std::vector<std::string> mine;
    pvshm::ThreadLogHandler scope(into(mine));
    std::thread([] { pvshm::log::warning("from another thread"); }).join();
    EXPECT_TRUE(mine.empty());
    EXPECT_EQ(process_wide, (std::vector<std::string>{"from another thread"}));
}

TEST_F(Handlers, AnEmptyThreadHandlerLeavesMessagesToTheProcessWideOne)
{
    pvshm::ThreadLogHandler scope({});
    pvshm::log::debug("debug");
    EXPECT_EQ(process_wide, (std::vector<std::string>{"debug"}));
}
