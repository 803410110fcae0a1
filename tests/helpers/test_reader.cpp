// Second-process reader for the cross-process tests.
//
//   pvshm-test-reader ID hold-view     pins the newest frame, prints "pinned <stamp> <sequence>",
//                                      and keeps the view until stdin closes
//   pvshm-test-reader ID read COUNT    reads COUNT new frames, checks each is intact, prints
//                                      "read <frames> torn <torn> last <stamp>"
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <unistd.h>

#include <pvshm/reader.hpp>

#include "stamp.hpp"

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
