// SPDX-License-Identifier: LGPL-2.1-or-later
// Where the library's messages go. By default warnings and errors are written to stderr, unless
// the PVSHM_LOG environment variable is "off" (or "debug", to see everything); a program or a
// GStreamer element routes them elsewhere with set_log_handler().
#pragma once

#include <functional>
#include <string_view>

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
void set_log_handler(LogHandler handler);

} // namespace pvshm
