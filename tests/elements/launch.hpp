// SPDX-License-Identifier: LGPL-2.1-or-later
// A program the element tests start as a second process (gst-launch-1.0, gst-inspect-1.0, a
// shell), waited on by its output and its exit, with timeouts.
#pragma once

#include <chrono>
#include <csignal>
#include <glib-unix.h>
#include <optional>
#include <poll.h>
#include <string>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "element_support.hpp"

namespace pvshm::element_test {

// A gst-launch-1.0 (or gst-inspect-1.0) process, found on PATH, with its standard output and
// error (where gst-launch-1.0 prints errors) collected when asked for.
class Launch
{
public:
    explicit Launch(std::vector<std::string> args, bool capture = false)
    {
        std::vector<char*> argv;
        for (auto& arg : args)
            argv.push_back(arg.data());
        argv.push_back(nullptr);
        int pipe_fds[2] = {-1, -1};
        if (capture) {
            fail_unless(g_unix_open_pipe(pipe_fds, FD_CLOEXEC, nullptr));
            out_ = pipe_fds[0];
        }
        const auto flags = GSpawnFlags(G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD |
                                       (capture ? 0 : G_SPAWN_STDOUT_TO_DEV_NULL));
        GError* error = nullptr;
        fail_unless(g_spawn_async_with_pipes_and_fds(
                        nullptr, argv.data(), nullptr, flags, nullptr, nullptr, -1, pipe_fds[1],
                        pipe_fds[1], nullptr, nullptr, 0, &pid_, nullptr, nullptr, nullptr, &error),
                    "cannot start %s: %s", args[0].c_str(), error ? error->message : "");
        if (capture)
            close(pipe_fds[1]);
        pidfd_ = int(syscall(SYS_pidfd_open, pid_, 0));
        fail_unless(pidfd_ >= 0);
    }

    ~Launch()
    {
        if (!status_) {
            ::kill(pid_, SIGKILL);
            wait_exit(std::chrono::seconds(10));
        }
        if (out_ >= 0)
            close(out_);
        close(pidfd_);
        g_spawn_close_pid(pid_);
    }

    Launch(const Launch&) = delete;
    Launch& operator=(const Launch&) = delete;

    // Exit status, minus the signal when killed by one; nullopt when still running after `timeout`.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout)
    {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!status_) {
            if (!poll_once(deadline))
                return std::nullopt;
        }
        return status_;
    }

    // Waits until the output holds `text` (or the process ended without printing it).
    bool wait_for_output(const std::string& text, std::chrono::milliseconds timeout)
    {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (output_.find(text) == std::string::npos) {
            if (status_ || !poll_once(deadline))
                return output_.find(text) != std::string::npos;
        }
        return true;
    }

    void kill(int signal) { ::kill(pid_, signal); }
    const std::string& output() const { return output_; }

private:
    // One wait for output or exit; false on timeout.
    bool poll_once(std::chrono::steady_clock::time_point deadline)
    {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left <= std::chrono::milliseconds(0))
            return false;
        pollfd fds[2] = {{pidfd_, POLLIN, 0}, {out_, POLLIN, 0}};
        if (poll(fds, out_ >= 0 ? 2 : 1, int(left.count())) <= 0)
            return false;
        if (out_ >= 0 && (fds[1].revents & (POLLIN | POLLHUP))) {
            char chunk[4096];
            const ssize_t n = read(out_, chunk, sizeof chunk);
            if (n > 0)
                output_.append(chunk, size_t(n));
            else {
                close(out_);
                out_ = -1;
            }
        }
        // Drain the output before reaping, so that nothing the process printed is lost.
        if ((fds[0].revents & POLLIN) && out_ < 0) {
            int status = 0;
            waitpid(pid_, &status, 0);
            status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
        }
        return true;
    }

    GPid pid_ = 0;
    int pidfd_ = -1;
    int out_ = -1;
    std::string output_;
    std::optional<int> status_;
};

} // namespace pvshm::element_test
