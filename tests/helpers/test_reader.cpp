// SPDX-License-Identifier: LGPL-2.1-or-later
// Second-process reader for the cross-process tests.
//
//   pvshm-test-reader ID hold-view     pins the newest frame, prints "pinned <stamp> <sequence>",
//                                      and keeps the view until stdin closes
//   pvshm-test-reader ID read COUNT    reads COUNT new frames, checks each is intact, prints
//                                      "read <frames> torn <torn> last <stamp>"
//   pvshm-test-reader ID read-all COUNT [DELAY_US|stall]
//                                      reads COUNT frames in order (view_next), DELAY_US
//                                      microseconds of work after each; prints "registered"
//                                      after its first look, then "read <frames> torn <torn>
//                                      gaps <frames skipped> last <stamp>"; "stall" stops
//                                      reading after the first look (until killed); "go"
//                                      reads only once a "go" line comes on stdin
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <unistd.h>

#include <pvshm/reader.hpp>

#include "stamp.hpp"

namespace {

int read_all(pvshm::Reader& reader, long count, const std::string& work)
{
    long frames = 0;
    long torn = 0;
    uint64_t last = 0;
    auto take = [&] {
        auto view = reader.view_next();
        if (!view)
            return;
        const auto stamp = pvshm::test::read_stamp(view->data(), view->size());
        torn += !stamp;
        last = stamp.value_or(last);
        ++frames;
    };
    take();
    std::printf("registered\n");
    if (work == "stall") {
        char buffer[64];
        while (read(STDIN_FILENO, buffer, sizeof buffer) > 0) {
        }
        return 0;
    }
    if (work == "go") {
        char line[8] = {};
        if (!std::fgets(line, sizeof line, stdin) || std::strncmp(line, "go", 2) != 0)
            return 0;
    }
    const auto delay = std::chrono::microseconds(std::strtol(work.c_str(), nullptr, 10));
    while (frames < count && reader.wait(std::chrono::seconds(30))) {
        take();
        // The algorithm's work on the frame: what makes this reader slower than the writer.
        const auto until = std::chrono::steady_clock::now() + delay;
        while (std::chrono::steady_clock::now() < until) {
        }
    }
    std::printf("read %ld torn %ld gaps %llu last %llu\n", frames, torn,
                static_cast<unsigned long long>(reader.frames_skipped()),
                static_cast<unsigned long long>(last));
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s ID hold-view|read COUNT\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, nullptr, _IOLBF, 0);
    const std::string mode = argv[2];
    try {
        pvshm::Reader reader(argv[1]);
        std::printf("ready %d\n", static_cast<int>(getpid()));
        if (mode == "hold-view") {
            reader.wait(std::chrono::seconds(30));
            auto view = reader.view_latest();
            if (!view) {
                std::printf("error no frame\n");
                return 3;
            }
            const auto stamp = pvshm::test::read_stamp(view->data(), view->size());
            std::printf("pinned %llu %llu\n", static_cast<unsigned long long>(stamp.value_or(0)),
                        static_cast<unsigned long long>(view->info().sequence));
            char buffer[64];
            while (read(STDIN_FILENO, buffer, sizeof buffer) > 0) {
            }
            return 0;
        }
        const long count = argc > 3 ? std::strtol(argv[3], nullptr, 10) : 1;
        if (mode == "read-all")
            return read_all(reader, count, argc > 4 ? argv[4] : "0");
        long frames = 0;
        long torn = 0;
        uint64_t last = 0;
        while (frames < count && reader.wait(std::chrono::seconds(30))) {
            auto view = reader.view_latest();
            if (!view)
                continue;
            const auto stamp = pvshm::test::read_stamp(view->data(), view->size());
            torn += !stamp;
            last = stamp.value_or(last);
            ++frames;
        }
        std::printf("read %ld torn %ld last %llu\n", frames, torn,
                    static_cast<unsigned long long>(last));
    } catch (const std::exception& error) {
        std::printf("error %s\n", error.what());
        return 3;
    }
    return 0;
}
