// SPDX-License-Identifier: LGPL-2.1-or-later
// Frames whose bytes say where they are (plane, row, byte), with padded rows, so that a reader
// that misses a plane offset or a stride is caught by looking at what it returns.
#pragma once

#include <cstdint>
#include <vector>

#include <pvshm/frame.hpp>

namespace pvshm::test {

// Byte `byte` of row `row` of plane `plane` (tests/python/test_views.py computes the same).
inline uint8_t pattern_byte(uint32_t plane, uint64_t row, uint64_t byte)
{
    return static_cast<uint8_t>((plane * 50 + row * 3 + byte) % 251);
}

inline constexpr uint8_t kPaddingByte = 0xEE;

// Rows of each plane of `info`, from where the next plane starts.
inline uint64_t plane_rows(const FrameInfo& info, uint32_t plane)
{
    const uint64_t end =
        plane + 1 < info.plane_count ? info.plane_offsets[plane + 1] : info.payload_size;
    return (end - info.plane_offsets[plane]) / info.strides[plane];
}

// The planes of packed_frame_info(format, width, height), each row followed by `padding` bytes.
inline FrameInfo padded_frame_info(PixelFormat format, uint32_t width, uint32_t height,
                                   uint32_t padding)
{
    FrameInfo info = packed_frame_info(format, width, height);
    std::vector<uint64_t> rows;
    for (uint32_t plane = 0; plane < info.plane_count; ++plane)
        rows.push_back(plane_rows(info, plane));
    uint64_t offset = 0;
    for (uint32_t plane = 0; plane < info.plane_count; ++plane) {
        info.plane_offsets[plane] = offset;
        info.strides[plane] += padding;
        offset += rows[plane] * info.strides[plane];
    }
    info.payload_size = offset;
    return info;
}

// A payload for `info` (from padded_frame_info with `padding`): pattern bytes, padding
// kPaddingByte.
inline std::vector<uint8_t> patterned_payload(const FrameInfo& info, uint32_t padding)
{
    std::vector<uint8_t> payload(info.payload_size, kPaddingByte);
    for (uint32_t plane = 0; plane < info.plane_count; ++plane) {
        const uint64_t stride = info.strides[plane];
        for (uint64_t row = 0; row < plane_rows(info, plane); ++row)
            for (uint64_t byte = 0; byte + padding < stride; ++byte)
                payload[info.plane_offsets[plane] + row * stride + byte] =
                    pattern_byte(plane, row, byte);
    }
    return payload;
}

} // namespace pvshm::test
