// SPDX-License-Identifier: LGPL-2.1-or-later
// Second-process writer for the cross-process tests: writes stamped GRAY8 frames to an id.
//
//   pvshm-test-writer ID WIDTH HEIGHT COUNT [--slots N] [--stamp-base B] [--hold] [--die-mid-frame]
//                     [--metadata] [--lossless [--lossless-timeout-ms N]] [--go]
//                     [--camera-id BYTES] [--caps BYTES] [--format NAME [--row-padding N]]
//                     [--reserve]
//
// --format writes frames of that format (a pvshm format name: NV12, I420, GRAY16_LE, ...) instead,
// every row of every plane padded by --row-padding bytes (default 0) of 0xEE, the bytes of each
// row holding pattern_byte(plane, row, byte) of pattern.hpp rather than a stamp.
// --reserve creates the segment with slots of the frame size (WriterOptions::initial_slot_size)
// rather than growing it at the first frame.
// --go waits for a "go" line on stdin after "ready" before writing (readers attach meanwhile).
// --skip-stamp S leaves out the frame of stamp S (a camera that missed a trigger).
// --metadata tags each frame with user metadata naming its stamp: {"serial": "S-<stamp>",
// "stamp": <stamp>, "gain": <stamp>.5}.
// COUNT 0 writes until killed. Prints "ready <pid>" once it owns the id, "done <last sequence>"
// after COUNT frames; --hold then keeps the id until stdin closes; --die-mid-frame then fills half
// of one more frame and kills itself with SIGKILL. Errors print "error <message>" and exit 3.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <signal.h>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

#include <pvshm/format.hpp>
#include <pvshm/writer.hpp>

#include "pattern.hpp"
#include "stamp.hpp"

int main(int argc, char** argv)
{
    if (argc < 5) {
        std::fprintf(stderr, "usage: %s ID WIDTH HEIGHT COUNT [options]\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, nullptr, _IOLBF, 0);
    const std::string id = argv[1];
    const auto width = static_cast<uint32_t>(std::strtoul(argv[2], nullptr, 10));
    const auto height = static_cast<uint32_t>(std::strtoul(argv[3], nullptr, 10));
    const uint64_t count = std::strtoull(argv[4], nullptr, 10);
    pvshm::WriterOptions options;
    uint64_t stamp = 1;
    bool hold = false;
    bool die_mid_frame = false;
    bool metadata = false;
    bool go = false;
    bool reserve = false;
    uint64_t skip_stamp = 0;
    std::string caps;
    std::string format_name;
    uint32_t row_padding = 0;
    for (int i = 5; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--slots" && i + 1 < argc)
            options.slots = static_cast<uint32_t>(std::strtoul(argv[++i], nullptr, 10));
        else if (arg == "--stamp-base" && i + 1 < argc)
            stamp = std::strtoull(argv[++i], nullptr, 10);
        else if (arg == "--hold")
            hold = true;
        else if (arg == "--die-mid-frame")
            die_mid_frame = true;
        else if (arg == "--metadata")
            metadata = true;
        else if (arg == "--lossless")
            options.lossless = true;
        else if (arg == "--lossless-timeout-ms" && i + 1 < argc)
            options.lossless_timeout =
                std::chrono::milliseconds(std::strtol(argv[++i], nullptr, 10));
        else if (arg == "--go")
            go = true;
        else if (arg == "--reserve")
            reserve = true;
        else if (arg == "--skip-stamp" && i + 1 < argc)
            skip_stamp = std::strtoull(argv[++i], nullptr, 10);
        else if (arg == "--camera-id" && i + 1 < argc)
            options.camera_id = argv[++i]; // any bytes: readers must cope with invalid UTF-8
        else if (arg == "--caps" && i + 1 < argc)
            caps = argv[++i];
        else if (arg == "--format" && i + 1 < argc)
            format_name = argv[++i];
        else if (arg == "--row-padding" && i + 1 < argc)
            row_padding = static_cast<uint32_t>(std::strtoul(argv[++i], nullptr, 10));
    }
    try {
        auto info = pvshm::packed_frame_info(pvshm::PixelFormat::GRAY8, width, height);
        std::vector<uint8_t> patterned;
        if (!format_name.empty()) {
            const auto format = pvshm::format_from_name(format_name);
            if (!format)
                throw std::invalid_argument("unknown format " + format_name);
            info = pvshm::test::padded_frame_info(*format, width, height, row_padding);
            patterned = pvshm::test::patterned_payload(info, row_padding);
        }
        info.caps = caps;
        if (reserve)
            options.initial_slot_size = info.payload_size;
        pvshm::Writer writer(id, options);
        std::printf("ready %d\n", static_cast<int>(getpid()));
        if (go) {
            char line[8] = {};
            if (!std::fgets(line, sizeof line, stdin) || std::strncmp(line, "go", 2) != 0)
                return 0;
        }
        uint64_t last = 0;
        for (uint64_t n = 0; count == 0 || n < count; ++n, ++stamp) {
            if (stamp == skip_stamp)
                continue;
            auto slot = writer.loan(info.payload_size);
            if (!slot)
                continue; // every slot pinned: dropped and counted by the writer
            if (patterned.empty())
                pvshm::test::fill_stamped(slot->data(), info.payload_size, stamp);
            else
                std::memcpy(slot->data(), patterned.data(), patterned.size());
            if (metadata)
                info.metadata = {{"serial", "S-" + std::to_string(stamp)},
                                 {"stamp", static_cast<int64_t>(stamp)},
                                 {"gain", static_cast<double>(stamp) + 0.5}};
            last = writer.publish(*slot, info).value_or(last);
        }
        std::printf("done %llu dropped %llu lossless-drops %llu\n",
                    static_cast<unsigned long long>(last),
                    static_cast<unsigned long long>(writer.stats().frames_dropped),
                    static_cast<unsigned long long>(writer.stats().lossless_drops));
        if (die_mid_frame) {
            auto slot = writer.loan(info.payload_size);
            if (slot) {
                pvshm::test::fill_stamped(slot->data(), info.payload_size / 2, stamp);
                std::printf("mid-frame\n");
            }
            raise(SIGKILL);
        }
        if (hold) {
            char buffer[64];
            while (read(STDIN_FILENO, buffer, sizeof buffer) > 0) {
            }
        }
    } catch (const std::exception& error) {
        std::printf("error %s\n", error.what());
        return 3;
    }
    return 0;
}
