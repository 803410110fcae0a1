// SPDX-License-Identifier: LGPL-2.1-or-later
#include "console_output.hpp"

#include <cstdio>
#include <unistd.h>

namespace pvshm::cli {

ConsoleOutput::ConsoleOutput(std::string command)
    : command_(std::move(command)), terminal_(isatty(STDERR_FILENO) != 0)
{
}

void ConsoleOutput::clear_status()
{
    if (status_shown_)
        std::fputs("\r\033[K", stderr);
    status_shown_ = false;
}

void ConsoleOutput::event(const std::string& text)
{
    std::lock_guard lock(lock_);
    clear_status();
    std::fprintf(stderr, "pvshm %s: %s\n", command_.c_str(), text.c_str());
    std::fflush(stderr);
}

void ConsoleOutput::warning(const std::string& text)
{
    event("warning: " + text);
}

void ConsoleOutput::status(const std::string& text)
{
    std::lock_guard lock(lock_);
    if (terminal_) {
        std::fprintf(stderr, "\r\033[Kpvshm %s: %s", command_.c_str(), text.c_str());
        status_shown_ = true;
    } else {
        std::fprintf(stderr, "pvshm %s: %s\n", command_.c_str(), text.c_str());
    }
    std::fflush(stderr);
}

} // namespace pvshm::cli
