// SPDX-License-Identifier: LGPL-2.1-or-later
// A second process for cross-process tests: started from tests/helpers, talked to through its
// stdin and stdout, waited for with timeouts (never with sleeps).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace pvshm::test {

class ChildProcess
{
public:
    // Starts the helper program `name` (from $PVSHM_TEST_HELPERS, or an absolute path) with
    // `args`; `env` entries
    // ("NAME=value") are added to the environment.
    ChildProcess(const std::string& name, const std::vector<std::string>& args,
                 const std::vector<std::string>& env = {});
    ~ChildProcess(); // kills the child if it still runs
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    // Next line the child printed, without its newline; nullopt on timeout or end of output.
    std::optional<std::string> read_line(std::chrono::milliseconds timeout);
    // Reads lines until one starts with `prefix`; returns it, or nullopt on timeout.
    std::optional<std::string> wait_for_line(const std::string& prefix,
                                             std::chrono::milliseconds timeout);
    void write_line(const std::string& line);
    void close_stdin();

    void kill(int signal);
    // Exit status (or 128 + signal); nullopt when the child did not end in time.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout);
    pid_t pid() const { return pid_; }

private:
    pid_t pid_ = -1;
    int pidfd_ = -1;
    int stdin_fd_ = -1;
    int stdout_fd_ = -1;
    std::string buffer_;
    std::optional<int> status_;
};

// A shared-memory id unique to this test and process, e.g. "t-Suite-Name-1234".
std::string unique_id(const std::string& hint = {});

// Path of the object `id` names (PVSHM_SHM_DIR, else /dev/shm).
std::string object_path(const std::string& id);

// True when no object is left for `id` (the test cleaned up after itself).
bool segment_absent(const std::string& id);

} // namespace pvshm::test
