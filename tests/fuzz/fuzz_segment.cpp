// SPDX-License-Identifier: LGPL-2.1-or-later
// libFuzzer target: the input becomes a shared-memory object under a segment's name, and everything
// that parses what a segment holds reads it: Reader (status, view_latest, view_next, wait),
// normalize_to_rgb on every frame returned (caps, geometry, encoded bytes handed to the decoders),
// read_image_from_shared_memory, and a Writer taking the id over.
//
// Input: one mode byte, then
//   bit 0 clear  the rest is the whole object, byte for byte;
//   bit 0 set    a valid header is built for the fuzzer (so that it gets past the magic and sizes):
//                byte 1 picks the slot count (1..4), byte 2 the slot size (1..4 pages), bytes
//                3..10 are `latest` (little-endian), and the rest is copied over the slot
//                descriptors and payloads from the first descriptor on;
//   bit 1 set    a Writer then takes the id over, writes one frame, and the reading is repeated.
// A reader must answer with a frame, nothing, or SegmentError; never crash, hang or throw
// anything else. Built by scripts/fuzz.sh; replayed on tests/fuzz/corpus by fuzz_replay.
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include <opencv2/core.hpp>

#include <pvshm/pvshm.hpp>

#include "layout.hpp"

namespace {

constexpr uint8_t kModeStructured = 1 << 0;
constexpr uint8_t kModeWriterTakesOver = 1 << 1;
constexpr uint32_t kMaxFuzzSlots = 4;
constexpr uint64_t kMaxFuzzSlotPages = 4;

// A private directory for the objects (PVSHM_SHM_DIR), removed at exit.
std::string& fuzz_dir()
{
    static std::string dir;
    return dir;
}

const std::string kId = "fuzz-segment";

void remove_fuzz_dir()
{
    const std::string& dir = fuzz_dir();
    if (dir.empty())
        return;
    if (DIR* d = opendir(dir.c_str())) {
        while (const dirent* entry = readdir(d))
            if (std::strcmp(entry->d_name, ".") != 0 && std::strcmp(entry->d_name, "..") != 0)
                unlink((dir + "/" + entry->d_name).c_str());
        closedir(d);
    }
    rmdir(dir.c_str());
}

std::string object_path()
{
    return fuzz_dir() + "/pvshm." + kId;
}

// Builds the object the input describes.
std::vector<uint8_t> object_from(const uint8_t* data, size_t size)
{
    const uint8_t mode = data[0];
    if (!(mode & kModeStructured))
        return std::vector<uint8_t>(data + 1, data + size);

    using namespace pvshm::layout;
    auto byte = [&](size_t i) -> uint8_t { return i < size ? data[i] : 0; };
    const uint32_t slots = 1 + byte(1) % kMaxFuzzSlots;
    const uint64_t stride = kPageSize * (1 + byte(2) % kMaxFuzzSlotPages);
    SegmentHeader header{};
    header.magic = kMagic;
    header.version = kVersion;
    header.header_size = sizeof(SegmentHeader);
    header.slot_desc_size = sizeof(SlotDesc);
    header.slot_count = slots;
    header.slot_desc_offset = kSlotDescOffset;
    header.payload_offset = payload_offset_for(slots);
    header.slot_stride = stride;
    header.total_size = header.payload_offset + slots * stride;
    for (size_t i = 0; i < sizeof header.latest; ++i)
        header.latest |= uint64_t{byte(3 + i)} << (8 * i);

    std::vector<uint8_t> object(header.total_size, 0);
    std::memcpy(object.data(), &header, sizeof header);
    constexpr size_t kBodyStart = 11;
    if (size > kBodyStart)
        std::memcpy(object.data() + kSlotDescOffset, data + kBodyStart,
                    std::min<size_t>(size - kBodyStart, object.size() - kSlotDescOffset));
    return object;
}

// A fresh object (new inode) under the name, so that no reader cached by the seed API keeps a
// mapping of the previous input.
void plant(const std::vector<uint8_t>& object)
{
    const std::string path = object_path();
    unlink(path.c_str());
    const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        std::perror("fuzz_segment: create object");
        std::abort();
    }
    size_t done = 0;
    while (done < object.size()) {
        const ssize_t n = write(fd, object.data() + done, object.size() - done);
        if (n <= 0) {
            std::perror("fuzz_segment: write object");
            std::abort();
        }
        done += static_cast<size_t>(n);
    }
    close(fd);
}

// Everything a consumer of a frame reads.
void consume(const pvshm::FrameView& view)
{
    const pvshm::FrameInfo& info = view.info();
    // The whole payload must lie in the mapping.
    volatile uint8_t sum = 0;
    for (size_t i = 0; i < view.size(); i += 1024)
        sum = sum + view.data()[i];
    if (view.size() > 0)
        sum = sum + view.data()[view.size() - 1];
    for (uint32_t i = 0; i < info.plane_count; ++i)
        sum = sum + *view.plane(static_cast<int>(i));
    (void)pvshm::format_name(info.format);
    for (const auto order : {pvshm::ColorOrder::RGB, pvshm::ColorOrder::BGR}) {
        cv::Mat image;
        try {
            pvshm::normalize_to_rgb(info, view.data(), image, order);
        } catch (const pvshm::DecodeError&) {
            // Undecodable encoded bytes: the documented outcome.
        }
        if (!image.empty() && (image.type() != CV_8UC3 || image.cols <= 0 || image.rows <= 0))
            std::abort();
    }
}

void read_everything()
{
    pvshm::Reader reader(kId);
    try {
        (void)reader.status();
    } catch (const pvshm::SegmentError&) {
    }
    try {
        if (auto view = reader.view_latest())
            consume(*view);
    } catch (const pvshm::SegmentError&) {
    }
    for (int i = 0; i < 4; ++i) {
        try {
            auto view = reader.view_next();
            if (!view)
                break;
            consume(*view);
        } catch (const pvshm::SegmentError&) {
            break;
        }
    }
    try {
        (void)reader.wait(std::chrono::nanoseconds(0));
        (void)reader.writer_alive();
    } catch (const pvshm::SegmentError&) {
    }
    // The seed API never throws for what a segment holds: it answers zeros.
    pvshm::ImageMeta meta;
    meta.width = 8;
    meta.height = 6;
    const cv::Mat image = pvshm::read_image_from_shared_memory(kId, meta);
    if (image.type() != CV_8UC3 || image.empty())
        std::abort();
}

void take_over_and_write()
{
    pvshm::WriterOptions options;
    options.slots = 2;
    pvshm::Writer writer(kId, options);
    const auto info = pvshm::packed_frame_info(pvshm::PixelFormat::GRAY8, 16, 4);
    std::vector<uint8_t> pixels(info.payload_size, 0x5a);
    (void)writer.write(info, pixels.data());
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***)
{
    std::string dir_template = "/dev/shm/pvshm-fuzz-XXXXXX";
    if (!mkdtemp(dir_template.data())) {
        std::perror("fuzz_segment: mkdtemp under /dev/shm");
        std::abort();
    }
    fuzz_dir() = dir_template;
    // Before any library call: the library reads both once.
    setenv("PVSHM_SHM_DIR", fuzz_dir().c_str(), 1);
    setenv("PVSHM_LOG", "off", 1);
    std::atexit(remove_fuzz_dir);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    if (size == 0)
        return 0;
    plant(object_from(data, size));
    read_everything();
    if (data[0] & kModeWriterTakesOver) {
        take_over_and_write();
        read_everything();
    }
    pvshm::dev_clear_shared_memory(kId);
    return 0;
}
