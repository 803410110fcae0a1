// SPDX-License-Identifier: LGPL-2.1-or-later
// Pixel formats a frame can hold, and the colorimetry that decides how YUV becomes RGB.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include <pvshm/export.hpp>

namespace pvshm {

// The numeric values are stored in segments: never renumber, only append.
enum class PixelFormat : uint32_t
{
    Unknown = 0,
    RGB = 1,
    BGR = 2,
    RGBA = 3,
    BGRA = 4,
    RGBx = 5,
    BGRx = 6,
    GRAY8 = 7,
    GRAY16_LE = 8,
    NV12 = 9,
    I420 = 10,
    YUY2 = 11,
    UYVY = 12,
    BayerRGGB = 13,
    BayerBGGR = 14,
    BayerGRBG = 15,
    BayerGBRG = 16,
    Jpeg = 17,
    Png = 18,
    // Three 8-bit channels whose order the writer did not know (a raw array): the reader's
    // color_space hint decides whether it is RGB or BGR.
    Rgb3Unordered = 19,
    // Encoded image bytes of a container the writer did not name: sniffed and decoded by OpenCV.
    Encoded = 20,
};

// YUV to RGB matrix; Unspecified lets the reader pick GStreamer's default for the frame size.
enum class ColorMatrix : uint8_t
{
    Unspecified = 0,
    BT601 = 1,
    BT709 = 2,
    BT2020 = 3,
};

enum class ColorRange : uint8_t
{
    Unspecified = 0,
    Limited = 1, // 16..235 luma, 16..240 chroma
    Full = 2,    // 0..255
};

// Short stable name ("RGB", "NV12", "bayer-rggb", "jpeg", ...), as the CLI prints it.
PVSHM_EXPORT std::string_view format_name(PixelFormat format);
PVSHM_EXPORT std::optional<PixelFormat> format_from_name(std::string_view name);

// True for formats whose payload is an encoded image rather than pixels.
PVSHM_EXPORT bool is_encoded(PixelFormat format);

// Jpeg or Png when `bytes` start with that container's signature, else nullopt.
PVSHM_EXPORT std::optional<PixelFormat> encoded_format_of(const uint8_t* bytes, size_t size);

} // namespace pvshm
