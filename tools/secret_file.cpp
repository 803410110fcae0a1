// SPDX-License-Identifier: LGPL-2.1-or-later
#include "secret_file.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace pvshm::cli {
namespace {

// Closes the descriptor however the read ends.
struct Descriptor
{
    int fd;
    ~Descriptor() { close(fd); }
};

} // namespace

std::string read_secret_line(const std::string& file, const std::string& what)
{
    const auto refuse = [&](const std::string& why) {
        return std::runtime_error("cannot read the " + what + " file '" + file + "': " + why);
    };
    // O_NONBLOCK: opening a FIFO must not wait for a writer; only a regular file is read.
    const Descriptor in{open(file.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)};
    if (in.fd < 0)
        throw refuse(std::strerror(errno));
    struct stat status = {};
    if (fstat(in.fd, &status) != 0)
        throw refuse(std::strerror(errno));
    if (!S_ISREG(status.st_mode))
        throw refuse("not a regular file (a FIFO, a device or a directory is never read)");
    if (status.st_size > off_t(kMaxSecretFileBytes))
        throw refuse("it has " + std::to_string(status.st_size) + " bytes, more than the " +
                     std::to_string(kMaxSecretFileBytes) + " a file holding one secret line may");
    // One byte more than the bound: a file that grew since fstat is refused too.
    char bytes[kMaxSecretFileBytes + 1];
    size_t size = 0;
    while (size < sizeof bytes) {
        const ssize_t got = read(in.fd, bytes + size, sizeof bytes - size);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            throw refuse(std::strerror(errno));
        if (got == 0)
            break;
        size += size_t(got);
    }
    if (size > kMaxSecretFileBytes)
        throw refuse("it grew past " + std::to_string(kMaxSecretFileBytes) + " bytes");
    std::string line(bytes, size);
    line = line.substr(0, line.find('\n'));
    if (!line.empty() && line.back() == '\r')
        line.pop_back();
    return line;
}

std::string read_password(const std::string& file)
{
    std::string password = read_secret_line(file, "password");
    if (password.empty())
        throw std::runtime_error("the password file '" + file +
                                 "' is empty: its first line is the password");
    return password;
}

bool readable_by_others(const std::string& file)
{
    struct stat status = {};
    return stat(file.c_str(), &status) == 0 && (status.st_mode & (S_IRWXG | S_IRWXO)) != 0;
}

} // namespace pvshm::cli
