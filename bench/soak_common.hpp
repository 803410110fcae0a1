// SPDX-License-Identifier: LGPL-2.1-or-later
// What the soak test's programs (bench/soak.py) share: a stats file rewritten in place, so that its
// figures survive a SIGKILL of the process, and dying with the script that started them.
#pragma once

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <fcntl.h>
#include <signal.h>
#include <string>
#include <sys/prctl.h>
#include <unistd.h>

namespace pvshm::soak {

// One line of space-separated counters, rewritten at offset 0 (fixed width, so a shorter line
// never leaves the tail of a longer one behind).
class StatsFile
{
public:
    explicit StatsFile(const char* path) : fd_(open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) {}
    ~StatsFile()
    {
        if (fd_ >= 0)
            close(fd_);
    }
    StatsFile(const StatsFile&) = delete;
    StatsFile& operator=(const StatsFile&) = delete;

    bool ok() const { return fd_ >= 0; }

    void write(const uint64_t* values, int count)
    {
        char line[512];
        int used = 0;
        for (int i = 0; i < count && used < 400; ++i)
            used += std::snprintf(line + used, sizeof line - used, "%20llu ",
                                  static_cast<unsigned long long>(values[i]));
        line[used - 1] = '\n';
        if (pwrite(fd_, line, static_cast<size_t>(used), 0) < 0)
            std::perror("soak: stats file");
    }

private:
    int fd_;
};

// Dies (SIGTERM) when the script that started this process dies, even by SIGKILL.
inline void die_with_parent()
{
    const pid_t parent = getppid();
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        raise(SIGTERM);
}

} // namespace pvshm::soak
