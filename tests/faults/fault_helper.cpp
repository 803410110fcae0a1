// SPDX-License-Identifier: LGPL-2.1-or-later
// Second process for the fault-injection tests, driven through stdin and stdout.
//
//   pvshm-fault-helper race-writer ID   prints "waiting", takes the id as writer when it reads
//                                       "go", then prints "won" (and writes one frame, keeping
//                                       the id until stdin closes) or "busy <errno> <message>"
//   pvshm-fault-helper hold-views ID N  pins N frames with distinct sequence numbers (so N
//                                       slots), prints "pinned N"; on each "check" line reads
//                                       every view again and prints "intact <count> lost
//                                       <count>" (views whose segment was truncated); exits
//                                       when stdin closes
//   pvshm-fault-helper writer-zygote ID WIDTH HEIGHT
//                                       on each "spawn <stamp>" line forks a writer of ID that
//                                       prints "ready <pid>" and writes stamped frames from
//                                       <stamp> on, back to back, until killed; on "reap" waits
//                                       for it and prints "exit <status>" (128 + signal). Forking
//                                       spares each writer the exec and library loading.
//   pvshm-fault-helper read-on-request ID
//                                       on each "latest" line reads the newest frame and prints
//                                       "frame <stamp>", "torn", "none" or "segment-error <why>"
// Other errors print "error <message>" and exit 3.
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <signal.h>
#include <string>
#include <sys/wait.h>
#include <system_error>
#include <unistd.h>
#include <vector>

#include <pvshm/error.hpp>
#include <pvshm/reader.hpp>
#include <pvshm/writer.hpp>

#include "stamp.hpp"

namespace {

std::string read_line()
{
    std::string line;
    char c;
    while (read(STDIN_FILENO, &c, 1) == 1) {
        if (c == '\n')
            return line;
        line += c;
    }
    return line.empty() ? std::string("\x04") : line; // end of input
}

void hold_until_stdin_closes()
{
    while (read_line() != "\x04") {
    }
}

int race_writer(const std::string& id)
{
    std::printf("waiting\n");
    if (read_line() != "go")
        return 3;
    try {
        pvshm::Writer writer(id);
        const auto info = pvshm::packed_frame_info(pvshm::PixelFormat::GRAY8, 16, 16);
        std::vector<uint8_t> bytes(info.payload_size);
        pvshm::test::fill_stamped(bytes.data(), bytes.size(), static_cast<uint64_t>(getpid()));
        writer.write(info, bytes.data());
        std::printf("won\n");
        hold_until_stdin_closes();
    } catch (const std::system_error& error) {
        std::printf("busy %d %s\n", error.code().value(), error.what());
    }
    return 0;
}

int hold_views(const std::string& id, size_t count)
{
    pvshm::Reader reader(id);
    std::vector<pvshm::FrameView> views;
    while (views.size() < count) {
        if (!reader.wait(std::chrono::seconds(30))) {
            std::printf("error no new frame\n");
            return 3;
        }
        if (auto view = reader.view_latest())
            views.push_back(std::move(*view)); // a new sequence: a slot no other view pins
    }
    std::printf("pinned %zu\n", views.size());
    for (std::string line = read_line(); line != "\x04"; line = read_line()) {
        if (line != "check")
            continue;
        size_t intact = 0;
        size_t lost = 0;
        for (const auto& view : views) {
            intact += pvshm::test::read_stamp(view.data(), view.size()).has_value();
            lost += view.lost();
        }
        std::printf("intact %zu lost %zu\n", intact, lost);
    }
    return 0;
}

[[noreturn]] void write_until_killed(const std::string& id, uint32_t width, uint32_t height,
                                     uint64_t stamp)
{
    try {
        pvshm::Writer writer(id);
        std::printf("ready %d\n", static_cast<int>(getpid()));
        const auto info = pvshm::packed_frame_info(pvshm::PixelFormat::GRAY8, width, height);
        for (;; ++stamp) {
            if (auto loan = writer.loan(info.payload_size)) {
                pvshm::test::fill_stamped(loan->data(), info.payload_size, stamp);
                writer.publish(*loan, info);
            }
        }
    } catch (const std::exception& error) {
        std::printf("error %s\n", error.what());
    }
    std::fflush(stdout);
    _exit(3);
}

int writer_zygote(const std::string& id, uint32_t width, uint32_t height)
{
    pid_t child = -1;
    for (std::string line = read_line(); line != "\x04"; line = read_line()) {
        if (line.rfind("spawn ", 0) == 0) {
            const uint64_t stamp = std::strtoull(line.c_str() + 6, nullptr, 10);
            std::fflush(stdout);
            child = fork();
            if (child == 0)
                write_until_killed(id, width, height, stamp);
            if (child < 0)
                throw std::system_error(errno, std::generic_category(), "fork");
        } else if (line == "reap" && child > 0) {
            int status = 0;
            waitpid(child, &status, 0);
            std::printf("exit %d\n",
                        WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
            child = -1;
        }
    }
    if (child > 0) {
        kill(child, SIGKILL);
        waitpid(child, nullptr, 0);
    }
    return 0;
}

int read_on_request(const std::string& id)
{
    pvshm::Reader reader(id);
    for (std::string line = read_line(); line != "\x04"; line = read_line()) {
        if (line != "latest")
            continue;
        try {
            auto view = reader.view_latest();
            if (!view) {
                std::printf("none\n");
                continue;
            }
            const auto stamp = pvshm::test::read_stamp(view->data(), view->size());
            if (stamp)
                std::printf("frame %llu\n", static_cast<unsigned long long>(*stamp));
            else
                std::printf("torn\n");
        } catch (const pvshm::SegmentError& error) {
            std::printf("segment-error %s\n", error.what());
        }
    }
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s race-writer ID | hold-views ID N | read-on-request ID\n",
                     argv[0]);
        return 2;
    }
    setvbuf(stdout, nullptr, _IOLBF, 0);
    const std::string mode = argv[1];
    try {
        if (mode == "race-writer")
            return race_writer(argv[2]);
        if (mode == "writer-zygote" && argc > 4)
            return writer_zygote(argv[2], static_cast<uint32_t>(std::strtoul(argv[3], nullptr, 10)),
                                 static_cast<uint32_t>(std::strtoul(argv[4], nullptr, 10)));
        if (mode == "read-on-request")
            return read_on_request(argv[2]);
        if (mode == "hold-views" && argc > 3)
            return hold_views(argv[2], std::strtoul(argv[3], nullptr, 10));
    } catch (const std::exception& error) {
        std::printf("error %s\n", error.what());
        return 3;
    }
    std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
    return 2;
}
