// SPDX-License-Identifier: LGPL-2.1-or-later
#include "child_process.hpp"

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <stdexcept>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <system_error>
#include <unistd.h>

extern char** environ;

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
                           const std::vector<std::string>& env)
{
    int to_child[2];
    int from_child[2];
    if (pipe2(to_child, O_CLOEXEC) != 0 || pipe2(from_child, O_CLOEXEC) != 0)
        throw std::system_error(errno, std::generic_category(), "pipe");
    const std::string path = helper_path(name);
    std::vector<std::string> argv_storage{path};
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& arg : argv_storage)
        argv.push_back(arg.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_storage;
    for (char** e = environ; *e; ++e)
        env_storage.emplace_back(*e);
    env_storage.insert(env_storage.end(), env.begin(), env.end());
    std::vector<char*> envp;
    for (auto& entry : env_storage)
        envp.push_back(entry.data());
    envp.push_back(nullptr);

    pid_ = fork();
    if (pid_ < 0)
        throw std::system_error(errno, std::generic_category(), "fork");
    if (pid_ == 0) {
        dup2(to_child[0], STDIN_FILENO);
        dup2(from_child[1], STDOUT_FILENO);
        execve(path.c_str(), argv.data(), envp.data());
        _exit(127);
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

std::string unique_id(const std::string& hint)
{
    static std::atomic<int> counter{0};
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string id = "t-";
    id += info ? std::string(info->test_suite_name()) + "-" + info->name() : "test";
    if (!hint.empty())
        id += "-" + hint;
    id += "-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
    for (char& c : id)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '_')
            c = '_';
    return id;
}

std::string object_path(const std::string& id)
{
    const char* dir = std::getenv("PVSHM_SHM_DIR");
    return std::string(dir && *dir ? dir : "/dev/shm") + "/pvshm." + id;
}

bool segment_absent(const std::string& id)
{
    struct stat st
    {
    };
    return lstat(object_path(id).c_str(), &st) != 0;
}

} // namespace pvshm::test
