// SPDX-License-Identifier: LGPL-2.1-or-later
#include "child_process.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fcntl.h>
#include <poll.h>
#include <stdexcept>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <system_error>
#include <unistd.h>

namespace pvshm::test {
namespace {

using Clock = std::chrono::steady_clock;

std::string helper_path(const std::string& name)
{
    if (name.front() == '/')
        return name;
    const char* dir = std::getenv("PVSHM_TEST_HELPERS");
    if (!dir)
        throw std::runtime_error("PVSHM_TEST_HELPERS is not set (run the tests with meson test)");
    return std::string(dir) + "/" + name;
}

} // namespace

ChildProcess::ChildProcess(const std::string& name, const std::vector<std::string>& args,
                           Stderr stderr_to)
{
    const std::string path = helper_path(name);
    std::vector<std::string> argv_storage{path};
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& arg : argv_storage)
        argv.push_back(arg.data());
    argv.push_back(nullptr);
    fork_with_pipes(stderr_to);
    if (pid_ == 0) {
        execv(path.c_str(), argv.data());
        _exit(127);
    }
}

ChildProcess::ChildProcess(const std::function<int()>& body)
{
    std::fflush(nullptr);
    fork_with_pipes(Stderr::Shared);
    if (pid_ != 0)
        return;
    int status = 1;
    try {
        status = body();
    } catch (const std::exception& error) {
        std::fprintf(stderr, "child %d: %s\n", static_cast<int>(getpid()), error.what());
    }
    std::fflush(nullptr);
    _exit(status);
}

void ChildProcess::fork_with_pipes(Stderr stderr_to)
{
    int to_child[2];
    int from_child[2];
    if (pipe2(to_child, O_CLOEXEC) != 0 || pipe2(from_child, O_CLOEXEC) != 0)
        throw std::system_error(errno, std::generic_category(), "pipe");
    const pid_t parent = getpid();
    pid_ = fork();
    if (pid_ < 0)
        throw std::system_error(errno, std::generic_category(), "fork");
    if (pid_ == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127); // the parent ended before the signal was asked for
        dup2(to_child[0], STDIN_FILENO);
        dup2(from_child[1], STDOUT_FILENO);
        if (stderr_to == Stderr::Discarded) {
            const int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
            if (null >= 0)
                dup2(null, STDERR_FILENO);
        }
        // A forked body never execs: the pipes' other ends must not stay open in it.
        for (int fd : {to_child[0], to_child[1], from_child[0], from_child[1]})
            if (fd > STDERR_FILENO)
                close(fd);
        return;
    }
    close(to_child[0]);
    close(from_child[1]);
    pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
    if (pidfd_ < 0)
        throw std::system_error(errno, std::generic_category(), "pidfd_open");
    stdin_fd_ = to_child[1];
    stdout_fd_ = from_child[0];
}

ChildProcess::~ChildProcess()
{
    if (!status_) {
        ::kill(pid_, SIGKILL);
        wait_exit(std::chrono::seconds(10));
    }
    if (stdin_fd_ >= 0)
        close(stdin_fd_);
    if (stdout_fd_ >= 0)
        close(stdout_fd_);
    if (pidfd_ >= 0)
        close(pidfd_);
}

std::optional<std::string> ChildProcess::read_line(std::chrono::milliseconds timeout)
{
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        if (auto end = buffer_.find('\n'); end != std::string::npos) {
            std::string line = buffer_.substr(0, end);
            buffer_.erase(0, end + 1);
            return line;
        }
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0 || stdout_fd_ < 0)
            return std::nullopt;
        pollfd readable{stdout_fd_, POLLIN, 0};
        if (poll(&readable, 1, static_cast<int>(left.count())) <= 0)
            continue;
        char chunk[4096];
        const ssize_t n = read(stdout_fd_, chunk, sizeof chunk);
        if (n <= 0)
            return std::nullopt;
        buffer_.append(chunk, static_cast<size_t>(n));
    }
}

std::optional<std::string> ChildProcess::wait_for_line(const std::string& prefix,
                                                       std::chrono::milliseconds timeout)
{
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        auto line = read_line(
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
        if (!line)
            return std::nullopt;
        if (line->rfind(prefix, 0) == 0)
            return line;
    }
    return std::nullopt;
}

void ChildProcess::write_line(const std::string& line)
{
    const std::string data = line + "\n";
    if (write(stdin_fd_, data.data(), data.size()) != static_cast<ssize_t>(data.size()))
        throw std::system_error(errno, std::generic_category(), "write to child");
}

void ChildProcess::close_stdin()
{
    if (stdin_fd_ >= 0)
        close(stdin_fd_);
    stdin_fd_ = -1;
}

void ChildProcess::kill(int signal)
{
    if (!status_)
        ::kill(pid_, signal);
}

std::optional<int> ChildProcess::wait_exit(std::chrono::milliseconds timeout)
{
    if (status_)
        return status_;
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
            status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            close(pidfd_);
            pidfd_ = -1;
            return status_;
        }
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0)
            return std::nullopt;
        // Wakes when the child exits, or prints (drained, so that it never blocks on a full pipe).
        pollfd events[2] = {{pidfd_, POLLIN, 0}, {stdout_fd_, POLLIN, 0}};
        if (poll(events, stdout_fd_ >= 0 ? 2 : 1, static_cast<int>(left.count())) > 0 &&
            (events[1].revents & (POLLIN | POLLHUP))) {
            char chunk[4096];
            const ssize_t n = read(stdout_fd_, chunk, sizeof chunk);
            if (n > 0)
                buffer_.append(chunk, static_cast<size_t>(n));
            else if (n == 0) {
                close(stdout_fd_);
                stdout_fd_ = -1;
            }
        }
    }
}

bool ChildProcess::stop(int signal, std::chrono::milliseconds grace)
{
    kill(signal);
    if (wait_exit(grace))
        return true;
    kill(SIGKILL);
    wait_exit(std::chrono::seconds(10));
    return false;
}

} // namespace pvshm::test
