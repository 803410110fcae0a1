// SPDX-License-Identifier: LGPL-2.1-or-later
#include "log.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <utility>

namespace pvshm {
namespace {

std::mutex& handler_mutex()
{
    static std::mutex mutex;
    return mutex;
}

LogHandler& current_handler()
{
    static LogHandler handler;
    return handler;
}

thread_local const ThreadLogHandler* thread_handler = nullptr;

LogLevel stderr_threshold()
{
    static const LogLevel threshold = [] {
        const char* env = std::getenv("PVSHM_LOG");
        if (env && std::strcmp(env, "off") == 0)
            return static_cast<LogLevel>(static_cast<int>(LogLevel::Error) + 1);
        if (env && std::strcmp(env, "debug") == 0)
            return LogLevel::Debug;
        return LogLevel::Warning;
    }();
    return threshold;
}

const char* level_name(LogLevel level)
{
    switch (level) {
    case LogLevel::Debug:
        return "debug";
    case LogLevel::Info:
        return "info";
    case LogLevel::Warning:
        return "warning";
    case LogLevel::Error:
        return "error";
    }
    return "?";
}

} // namespace

void set_log_handler(LogHandler handler)
{
    std::lock_guard lock(handler_mutex());
    current_handler() = std::move(handler);
}

ThreadLogHandler::ThreadLogHandler(LogHandler handler)
    : handler_(std::move(handler)), outer_(thread_handler)
{
    thread_handler = this;
}

ThreadLogHandler::~ThreadLogHandler()
{
    thread_handler = outer_;
}

namespace log {

void message(LogLevel level, std::string_view text)
{
    if (thread_handler && thread_handler->handler()) {
        thread_handler->handler()(level, text);
        return;
    }
    std::lock_guard lock(handler_mutex());
    if (current_handler()) {
        current_handler()(level, text);
        return;
    }
    if (level >= stderr_threshold())
        std::fprintf(stderr, "pvshm %s: %.*s\n", level_name(level), static_cast<int>(text.size()),
                     text.data());
}

void warning_once(const std::string& key, std::string_view text)
{
    // Keys may carry numbers read from a hostile segment: remember a bounded number of them.
    constexpr size_t kMaxRemembered = 1024;
    static std::mutex mutex;
    static std::set<std::string> seen;
    bool first = false;
    {
        std::lock_guard lock(mutex);
        if (seen.size() < kMaxRemembered)
            first = seen.insert(key).second;
    }
    message(first ? LogLevel::Warning : LogLevel::Debug, text);
}

} // namespace log
} // namespace pvshm
