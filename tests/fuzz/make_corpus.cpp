// SPDX-License-Identifier: LGPL-2.1-or-later
// Writes the seed corpus of fuzz_segment into the directory given: real segments written by the
// library for each kind of frame (raw and structured inputs, see fuzz_segment.cpp), with a
// Writer takeover variant, and truncated ones.
//
//   make_corpus OUT_DIR
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <unistd.h>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <pvshm/pvshm.hpp>

#include "layout.hpp"

namespace {

std::string g_out;
std::string g_shm;

std::vector<uint8_t> read_object(const std::string& id)
{
    std::ifstream file(g_shm + "/pvshm." + id, std::ios::binary);
    return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

void save(const std::string& name, uint8_t mode, const uint8_t* body, size_t size,
          const std::vector<uint8_t>& prefix = {})
{
    std::ofstream file(g_out + "/" + name, std::ios::binary);
    file.put(static_cast<char>(mode));
    file.write(reinterpret_cast<const char*>(prefix.data()),
               static_cast<std::streamsize>(prefix.size()));
    file.write(reinterpret_cast<const char*>(body), static_cast<std::streamsize>(size));
}

// One segment in every input shape fuzz_segment knows.
void save_all(const std::string& name, const std::vector<uint8_t>& object)
{
    using namespace pvshm::layout;
    save(name + "-raw", 0, object.data(), object.size());

    SegmentHeader header;
    std::memcpy(&header, object.data(), sizeof header);
    // Trailing zeros are what fuzz_segment fills in anyway.
    size_t end = object.size();
    while (end > kSlotDescOffset && object[end - 1] == 0)
        --end;
    std::vector<uint8_t> prefix{static_cast<uint8_t>(header.slot_count - 1),
                                static_cast<uint8_t>(header.slot_stride / kPageSize - 1)};
    for (size_t i = 0; i < sizeof header.latest; ++i)
        prefix.push_back(static_cast<uint8_t>(header.latest >> (8 * i)));
    save(name + "-structured", 1, object.data() + kSlotDescOffset, end - kSlotDescOffset, prefix);
    save(name + "-structured-takeover", 3, object.data() + kSlotDescOffset, end - kSlotDescOffset,
         prefix);
}

// A segment of two 1-page slots holding `frames` copies of the frame (so that `latest` points at
// either slot).
std::vector<uint8_t> segment_with(const std::string& id, pvshm::FrameInfo info,
                                  const std::vector<uint8_t>& payload, int frames = 1)
{
    pvshm::WriterOptions options;
    options.slots = 2;
    options.camera_id = "cam-0";
    {
        pvshm::Writer writer(id, options);
        for (int i = 0; i < frames; ++i)
            if (!writer.write(info, payload.data()))
                std::abort();
    }
    auto object = read_object(id);
    pvshm::dev_clear_shared_memory(id);
    return object;
}

std::vector<uint8_t> pattern(size_t size)
{
    std::vector<uint8_t> bytes(size);
    for (size_t i = 0; i < size; ++i)
        bytes[i] = static_cast<uint8_t>(i * 37 + 11);
    return bytes;
}

void save_packed(const std::string& name, pvshm::PixelFormat format, uint32_t width,
                 uint32_t height, const std::string& caps = {}, int frames = 1)
{
    auto info = pvshm::packed_frame_info(format, width, height);
    info.caps = caps;
    save_all(name, segment_with(name, info, pattern(info.payload_size), frames));
}

void save_encoded(const std::string& name, pvshm::PixelFormat format,
                  const std::vector<uint8_t>& bytes)
{
    pvshm::FrameInfo info;
    info.format = format;
    info.plane_count = 1;
    info.payload_size = bytes.size();
    save_all(name, segment_with(name, info, bytes));
}

std::vector<uint8_t> encoded(const std::string& extension)
{
    cv::Mat image(3, 5, CV_8UC3);
    cv::randu(image, 0, 255);
    std::vector<uint8_t> bytes;
    cv::imencode(extension, image, bytes);
    return bytes;
}

// A small JPEG declaring 33000x32000, with junk bytes before its frame header (which a scan
// that gives up at junk, unlike the decoder, misses).
std::vector<uint8_t> jpeg_bomb()
{
    auto jpeg = encoded(".jpg");
    const size_t after_app0 = 4 + (size_t{jpeg[4]} << 8 | jpeg[5]);
    jpeg.insert(jpeg.begin() + static_cast<std::ptrdiff_t>(after_app0), {0x12, 0x34, 0x56});
    for (size_t i = after_app0 + 3; i + 9 <= jpeg.size(); ++i) {
        if (jpeg[i] == 0xff && jpeg[i + 1] == 0xc0) {
            const uint8_t size[] = {0x7d, 0x00, 0x80, 0xe8};
            std::copy_n(size, 4, jpeg.begin() + static_cast<std::ptrdiff_t>(i) + 5);
            break;
        }
    }
    return jpeg;
}

} // namespace

int main(int argc, char** argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
        return 2;
    }
    g_out = argv[1];
    std::string dir = "/dev/shm/pvshm-corpus-XXXXXX";
    if (!mkdtemp(dir.data())) {
        std::perror("mkdtemp");
        return 1;
    }
    g_shm = dir;
    setenv("PVSHM_SHM_DIR", g_shm.c_str(), 1);

    using pvshm::PixelFormat;
    save_packed("rgb", PixelFormat::RGB, 4, 4,
                "video/x-raw, format=(string)RGB, width=(int)4, height=(int)4");
    save_packed("bgrx-second-slot", PixelFormat::BGRx, 3, 2, {}, 2);
    save_packed("gray16", PixelFormat::GRAY16_LE, 4, 2);
    save_packed("nv12", PixelFormat::NV12, 6, 4,
                "video/x-raw, format=(string)NV12, colorimetry=(string)bt709");
    save_packed("i420-odd", PixelFormat::I420, 5, 3);
    save_packed("yuy2", PixelFormat::YUY2, 4, 2);
    save_packed("bayer", PixelFormat::BayerGRBG, 4, 4, "video/x-bayer, format=(string)grbg");
    save_packed("unordered", PixelFormat::Rgb3Unordered, 2, 2);
    const auto gray =
        segment_with("gray", pvshm::packed_frame_info(PixelFormat::GRAY8, 2, 2), pattern(4));
    save("gray-raw-takeover", 2, gray.data(), gray.size());
    save_encoded("png", PixelFormat::Png, encoded(".png"));
    save_encoded("jpeg", PixelFormat::Jpeg, encoded(".jpg"));
    save_encoded("encoded-garbage", PixelFormat::Encoded, pattern(40));
    save_encoded("jpeg-bomb-junk-before-sof", PixelFormat::Jpeg, jpeg_bomb());
    auto tagged = pvshm::packed_frame_info(PixelFormat::GRAY16_LE, 4, 2);
    tagged.bit_depth = 12;
    tagged.metadata = {
        {"serial", std::string("A-17")}, {"trigger", int64_t{42}}, {"exposure_ms", 1.5}};
    save_all("gray16-12bit-metadata", segment_with("tagged", tagged, pattern(16)));

    // Truncated objects: empty, half a header, a header without its slots.
    const auto object =
        segment_with("truncated", pvshm::packed_frame_info(PixelFormat::GRAY8, 2, 2), pattern(4));
    save("truncated-empty", 0, object.data(), 0);
    save("truncated-half-header", 0, object.data(), sizeof(pvshm::layout::SegmentHeader) / 2);
    save("truncated-header-only", 0, object.data(), sizeof(pvshm::layout::SegmentHeader));
    save("truncated-one-slot", 0, object.data(), object.size() - pvshm::layout::kPageSize);
    rmdir(g_shm.c_str());
    return 0;
}
