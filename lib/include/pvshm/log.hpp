// SPDX-License-Identifier: LGPL-2.1-or-later
// Where the library's messages go. By default warnings and errors are written to stderr, unless
// the PVSHM_LOG environment variable is "off" (or "debug", to see everything). A program routes
// them elsewhere with set_log_handler(); a component that calls the library on behalf of someone
// (the GStreamer elements) takes its own calls' messages with a ThreadLogHandler, leaving the
// program's handler to every other call.
#pragma once

#include <functional>
#include <string_view>

#include <pvshm/export.hpp>

namespace pvshm {

enum class LogLevel
{
    Debug,
    Info,
    Warning,
    Error,
};

using LogHandler = std::function<void(LogLevel level, std::string_view message)>;

// Replaces the process-wide handler; an empty handler restores the default. Thread-safe.
PVSHM_EXPORT void set_log_handler(LogHandler handler);

// While alive, the messages of the calls this thread makes go to `handler` instead of the
// process-wide one. Scopes nest: the innermost handler of a thread wins, and ending it restores
// the one around it; an empty handler leaves the messages to the process-wide one. Create and
// destroy it on the same thread.
class PVSHM_EXPORT ThreadLogHandler
{
public:
    explicit ThreadLogHandler(LogHandler handler);
    ~ThreadLogHandler();
    ThreadLogHandler(const ThreadLogHandler&) = delete;
    ThreadLogHandler& operator=(const ThreadLogHandler&) = delete;

    const LogHandler& handler() const { return handler_; }

private:
    LogHandler handler_;
    const ThreadLogHandler* outer_;
};

} // namespace pvshm
