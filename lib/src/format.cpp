// SPDX-License-Identifier: LGPL-2.1-or-later
#include <cstring>

#include <pvshm/format.hpp>

// One table describes every format; the functions below only look it up.
#include <array>
#include <cstddef>

namespace pvshm {
namespace {

struct FormatEntry
{
    PixelFormat format;
    std::string_view name;
    bool encoded;
};

// Indexed by the enumerator's value, so that a lookup by format is an array access.
constexpr std::array<FormatEntry, 21> kFormats{{
    {PixelFormat::Unknown, "unknown", false},
    {PixelFormat::RGB, "RGB", false},
    {PixelFormat::BGR, "BGR", false},
    {PixelFormat::RGBA, "RGBA", false},
    {PixelFormat::BGRA, "BGRA", false},
    {PixelFormat::RGBx, "RGBx", false},
    {PixelFormat::BGRx, "BGRx", false},
    {PixelFormat::GRAY8, "GRAY8", false},
    {PixelFormat::GRAY16_LE, "GRAY16_LE", false},
    {PixelFormat::NV12, "NV12", false},
    {PixelFormat::I420, "I420", false},
    {PixelFormat::YUY2, "YUY2", false},
    {PixelFormat::UYVY, "UYVY", false},
    {PixelFormat::BayerRGGB, "bayer-rggb", false},
    {PixelFormat::BayerBGGR, "bayer-bggr", false},
    {PixelFormat::BayerGRBG, "bayer-grbg", false},
    {PixelFormat::BayerGBRG, "bayer-gbrg", false},
    {PixelFormat::Jpeg, "jpeg", true},
    {PixelFormat::Png, "png", true},
    {PixelFormat::Rgb3Unordered, "rgb3-unordered", false},
    {PixelFormat::Encoded, "encoded", true},
}};

constexpr bool table_is_indexed_by_value()
{
    for (size_t i = 0; i < kFormats.size(); ++i) {
        if (static_cast<size_t>(kFormats[i].format) != i)
            return false;
    }
    return true;
}
static_assert(table_is_indexed_by_value(), "kFormats must list the formats in enum order");

// Values read from a segment may lie outside the enumeration: they map to the Unknown entry.
const FormatEntry& entry(PixelFormat format)
{
    const auto index = static_cast<size_t>(format);
    return index < kFormats.size() ? kFormats[index] : kFormats[0];
}

} // namespace

std::string_view format_name(PixelFormat format)
{
    return entry(format).name;
}

std::optional<PixelFormat> format_from_name(std::string_view name)
{
    for (const FormatEntry& candidate : kFormats) {
        if (candidate.name == name)
            return candidate.format;
    }
    return std::nullopt;
}

bool is_encoded(PixelFormat format)
{
    return entry(format).encoded;
}

std::optional<PixelFormat> encoded_format_of(const uint8_t* bytes, size_t size)
{
    static constexpr uint8_t kJpeg[] = {0xff, 0xd8, 0xff};
    static constexpr uint8_t kPng[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    auto starts_with = [&](const uint8_t* signature, size_t length) {
        return size >= length && std::memcmp(bytes, signature, length) == 0;
    };
    if (starts_with(kJpeg, sizeof kJpeg))
        return PixelFormat::Jpeg;
    if (starts_with(kPng, sizeof kPng))
        return PixelFormat::Png;
    return std::nullopt;
}

} // namespace pvshm
