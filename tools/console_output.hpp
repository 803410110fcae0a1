// SPDX-License-Identifier: LGPL-2.1-or-later
// What the long-running commands (serve, mirror, rtsp) print on stderr: events and warnings as
// lines, above a status line that a terminal redraws in place.
#pragma once

#include <mutex>
#include <string>

namespace pvshm::cli {

// Lines "pvshm COMMAND: ..." on stderr. Any thread may call it.
class ConsoleOutput
{
public:
    explicit ConsoleOutput(std::string command);
    void event(const std::string& text);
    void warning(const std::string& text);
    // Replaces the status line on a terminal; elsewhere (a log, a pipe) one line each time.
    void status(const std::string& text);

private:
    void clear_status();

    const std::string command_;
    const bool terminal_;
    bool status_shown_ = false;
    std::mutex lock_;
};

} // namespace pvshm::cli
