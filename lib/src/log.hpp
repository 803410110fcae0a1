// SPDX-License-Identifier: LGPL-2.1-or-later
// Internal logging entry points; the handler is chosen with pvshm::set_log_handler() and
// pvshm::ThreadLogHandler.
#pragma once

#include <string>
#include <string_view>

#include <pvshm/log.hpp>

namespace pvshm::log {

void message(LogLevel level, std::string_view text);
inline void debug(std::string_view text)
{
    message(LogLevel::Debug, text);
}
inline void warning(std::string_view text)
{
    message(LogLevel::Warning, text);
}

// Logs `text` at warning level the first time `key` is seen in this process (the seed API's
// "logs why once"); later calls with the same key go to debug level.
void warning_once(const std::string& key, std::string_view text);

} // namespace pvshm::log
