// SPDX-License-Identifier: LGPL-2.1-or-later
// The soak test's C++ reader (bench/soak.py): pvshm::Reader wait() + view_latest(), checking that
// every frame it gets is intact (tests/helpers/stamp.hpp) while its view pins the slot.
//
//   pvshm-soak-reader ID WIDTH HEIGHT STATS_FILE
//
// STATS_FILE holds "frames torn backwards", rewritten after every frame so that the figures
// survive a SIGKILL. A torn frame (or one of the wrong size) is also reported on stderr at once.
// Runs until killed.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include <pvshm/reader.hpp>

#include "soak_common.hpp"
#include "stamp.hpp"

int main(int argc, char** argv)
{
    if (argc != 5) {
        std::fprintf(stderr, "usage: %s ID WIDTH HEIGHT STATS_FILE\n", argv[0]);
        return 2;
    }
    pvshm::soak::die_with_parent();
    const size_t expected_size =
        std::strtoull(argv[2], nullptr, 10) * std::strtoull(argv[3], nullptr, 10);
    pvshm::soak::StatsFile stats_file(argv[4]);
    if (!stats_file.ok()) {
        std::fprintf(stderr, "soak reader: cannot open %s\n", argv[4]);
        return 2;
    }
    uint64_t counts[3] = {0, 0, 0}; // frames, torn, backwards
    stats_file.write(counts, 3);
    try {
        pvshm::Reader reader(argv[1]);
        uint64_t last_stamp = 0;
        for (;;) {
            if (!reader.wait(std::chrono::seconds(1)))
                continue;
            auto view = reader.view_latest();
            if (!view)
                continue;
            ++counts[0];
            const auto stamp = view->size() == expected_size
                                   ? pvshm::test::read_stamp(view->data(), view->size())
                                   : std::nullopt;
            if (!stamp) {
                ++counts[1];
                std::fprintf(stderr, "soak reader: TORN frame, sequence %llu, %zu bytes\n",
                             static_cast<unsigned long long>(view->info().sequence), view->size());
            } else {
                if (*stamp <= last_stamp)
                    ++counts[2];
                last_stamp = *stamp;
            }
            stats_file.write(counts, 3);
        }
    } catch (const std::exception& error) {
        std::fprintf(stderr, "soak reader: error %s\n", error.what());
        return 3;
    }
}
