// SPDX-License-Identifier: LGPL-2.1-or-later
// The encodings of the stream's payload (stream_format.hpp, version 3): a frame as a JPEG image
// (TurboJPEG) and a frame's bytes through zstd, both ways. Pure C++, without GStreamer, so that
// the element tests and the benchmark use it alone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include <pvshm/frame.hpp>

namespace pvshm::stream {

inline constexpr int kMinJpegQuality = 1;
inline constexpr int kMaxJpegQuality = 100;
inline constexpr int kDefaultJpegQuality = 90;

// zstd's level for lossless frames, chosen by measurement on 1080p BGR (a moving videotestsrc
// pattern and a photo-like picture with sensor noise; figures in bench/link.sh's notes): level 1
// compresses the pattern 15.8x in ~2 ms a frame; levels 2 and 3 gain 18% and 27% on the pattern
// and 1-2% on the noisy picture for 2.5x and 3.5x the CPU; negative levels skip the entropy coder
// and leave the noisy picture uncompressed (1.00x against 1.04x).
inline constexpr int kZstdLevel = 1;

// JPEG images of 8-bit frames, through one TurboJPEG handle. I420 and NV12 of BT.601 are taken
// from their planes (limited range expanded to JPEG's full range on the way), RGB, BGR, their
// 4-byte forms and GRAY8 as they are; every other 8-bit format (YUY2, UYVY, Bayer, YUV of
// another matrix) through the library's RGB normalization.
class JpegEncoder
{
public:
    // Throws std::runtime_error when TurboJPEG cannot start.
    JpegEncoder();
    ~JpegEncoder();
    JpegEncoder(const JpegEncoder&) = delete;
    JpegEncoder& operator=(const JpegEncoder&) = delete;

    // Whether frames of this format can be sent as JPEG: 8-bit raw formats (not GRAY16_LE, not
    // images already encoded).
    static bool takes(PixelFormat format);

    // The most bytes encode() writes for a frame of `info`.
    static size_t bound(const FrameInfo& info);

    // Encodes the frame (`info`, its info.payload_size bytes at `data`) at `quality`
    // (kMinJpegQuality..kMaxJpegQuality) into `out`, which holds bound(info) bytes; returns the
    // size of the JPEG image. Throws std::invalid_argument for a format takes() refuses, and
    // std::runtime_error when TurboJPEG fails.
    size_t encode(const FrameInfo& info, const uint8_t* data, int quality, uint8_t* out);

private:
    size_t compress_planes(const FrameInfo& info, const uint8_t* data, int quality, uint8_t* out);
    size_t compress_packed(const uint8_t* pixels, int width, int stride, int height,
                           int pixel_format, int quality, uint8_t* out);

    void* handle_;
    std::vector<uint8_t> planes_;
    cv::Mat rgb_;
};

// Frames' bytes through zstd, one compression context reused.
class ZstdCompressor
{
public:
    explicit ZstdCompressor(int level = kZstdLevel);
    ~ZstdCompressor();
    ZstdCompressor(const ZstdCompressor&) = delete;
    ZstdCompressor& operator=(const ZstdCompressor&) = delete;

    static size_t bound(size_t size);
    // One zstd frame (its content size written in it) of `size` bytes at `data` into `out`, which
    // holds bound(size) bytes; returns its size. Throws std::runtime_error when zstd fails.
    size_t compress(const uint8_t* data, size_t size, uint8_t* out);

private:
    void* context_;
    int level_;
};

// The other way, bounded: never more bytes than the frame's caps say.
class ZstdDecompressor
{
public:
    ZstdDecompressor();
    ~ZstdDecompressor();
    ZstdDecompressor(const ZstdDecompressor&) = delete;
    ZstdDecompressor& operator=(const ZstdDecompressor&) = delete;

    // Decompresses the zstd frame of `size` bytes at `data` into `out`, which holds `raw_size`
    // bytes. False, with `problem` saying why, unless the bytes are exactly one zstd frame whose
    // content size is `raw_size` and which decompresses to exactly that many bytes.
    bool decompress(const uint8_t* data, size_t size, uint8_t* out, size_t raw_size,
                    std::string& problem);

private:
    void* context_;
};

} // namespace pvshm::stream
