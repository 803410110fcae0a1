// SPDX-License-Identifier: LGPL-2.1-or-later
// A second process for cross-process tests and benchmarks: a program or a forked function,
// talked to through its stdin and stdout, waited for with timeouts (never with sleeps).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace pvshm::test {

class ChildProcess
{
public:
    enum class Stderr
    {
        Shared,    // this process's standard error
        Discarded, // /dev/null
    };

    // Starts the program `name` (a helper in $PVSHM_TEST_HELPERS, or an absolute path) with
    // `args`.
    ChildProcess(const std::string& name, const std::vector<std::string>& args,
                 Stderr stderr_to = Stderr::Shared);
    // Runs `body` in a forked copy of this process, which exits with what it returns. Standard
    // I/O buffers are flushed first, so that the copy never writes them again.
    explicit ChildProcess(const std::function<int()>& body);
    // Kills the child if it still runs. The child is also killed (SIGKILL) when the thread that
    // started it ends.
    ~ChildProcess();
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
    // Sends `signal` and waits `grace` for the child to end, then kills it (SIGKILL). False when
    // it had to be killed.
    bool stop(int signal, std::chrono::milliseconds grace);
    pid_t pid() const { return pid_; }

private:
    // Forks with the pipes in place; in the child, returns only to exec or run the body.
    void fork_with_pipes(Stderr stderr_to);

    pid_t pid_ = -1;
    int pidfd_ = -1;
    int stdin_fd_ = -1;
    int stdout_fd_ = -1;
    std::string buffer_;
    std::optional<int> status_;
};

} // namespace pvshm::test
