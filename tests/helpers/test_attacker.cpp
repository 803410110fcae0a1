// SPDX-License-Identifier: LGPL-2.1-or-later
// A hostile local user with read permission on a segment, for the tests that replay attacks on
// writers and readers: run as root, it becomes user nobody (65534) before it opens anything.
//
//   pvshm-test-attacker PATH need-range    read-locks every need-lock byte (layout.hpp) at once
//   pvshm-test-attacker PATH pin-slots     read-locks every slot's lock byte at once
//   pvshm-test-attacker PATH queue-writer  queues a blocking read lock on the writer's lock byte
//                                          (granted when the writer goes)
//   pvshm-test-attacker PATH flood-wake    FUTEX_WAKE on the readers' wake word, without end
//   pvshm-test-attacker PATH flood-ack     FUTEX_WAKE on the lossless writer's ack word
//
// Prints "nobody" once it runs as that user (or "error ..." and exits 3), then "attacking" when
// its locks are held (queue-writer: "queued" once the request is made, "granted" when it is),
// and keeps them until stdin closes or it is killed.
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <linux/futex.h>
#include <string>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <thread>
#include <unistd.h>

#include "layout.hpp"

namespace {

constexpr uid_t kNobody = 65534;

int fail(const std::string& what)
{
    std::printf("error %s: %s\n", what.c_str(), std::strerror(errno));
    return 3;
}

bool read_lock(int fd, int64_t start, int64_t length, int command)
{
    struct flock request
    {
    };
    request.l_type = F_RDLCK;
    request.l_whence = SEEK_SET;
    request.l_start = start;
    request.l_len = length;
    return fcntl(fd, command, &request) == 0;
}

void hold_until_stdin_closes()
{
    char buffer[64];
    while (read(STDIN_FILENO, buffer, sizeof buffer) > 0) {
    }
}

} // namespace

int main(int argc, char** argv)
{
    if (argc != 3) {
        std::fprintf(stderr,
                     "usage: %s PATH need-range|pin-slots|queue-writer|flood-wake|"
                     "flood-ack\n",
                     argv[0]);
        return 2;
    }
    setvbuf(stdout, nullptr, _IOLBF, 0);
    if (geteuid() == 0 && (setgid(kNobody) != 0 || setuid(kNobody) != 0))
        return fail("become user nobody");
    if (geteuid() != kNobody)
        return fail("not user nobody");
    std::printf("nobody\n");
    const std::string mode = argv[2];
    const int fd = open(argv[1], O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0)
        return fail(std::string("open ") + argv[1]);
    using namespace pvshm::layout;
    if (mode == "need-range") {
        if (!read_lock(fd, kNeedLockBase, 0, F_OFD_SETLK))
            return fail("lock the need range");
        std::printf("attacking\n");
        hold_until_stdin_closes();
    } else if (mode == "pin-slots") {
        if (!read_lock(fd, slot_lock_byte(0), kMaxSlots, F_OFD_SETLKW))
            return fail("lock the slots");
        std::printf("attacking\n");
        hold_until_stdin_closes();
    } else if (mode == "queue-writer") {
        std::printf("queued\n");
        if (!read_lock(fd, kWriterLockByte, 1, F_OFD_SETLKW))
            return fail("queue on the writer lock");
        std::printf("granted\n");
        hold_until_stdin_closes();
    } else if (mode == "flood-wake" || mode == "flood-ack") {
        void* map = mmap(nullptr, sizeof(SegmentHeader), PROT_READ, MAP_SHARED, fd, 0);
        if (map == MAP_FAILED)
            return fail("map the header");
        const auto& header = *static_cast<const SegmentHeader*>(map);
        const uint32_t* word = mode == "flood-wake" ? &header.wake_word : &header.ack_word;
        std::thread stop([] {
            hold_until_stdin_closes();
            _exit(0);
        });
        std::printf("attacking\n");
        for (;;)
            syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);
    } else {
        std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
        return 2;
    }
    return 0;
}
