// SPDX-License-Identifier: LGPL-2.1-or-later
// Frames whose every byte derives from one stamp, so that a torn frame (bytes of two frames)
// is detected by looking at it.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>

namespace pvshm::test {

inline uint8_t stamp_byte(uint64_t stamp)
{
    return static_cast<uint8_t>(stamp * 31 + 7);
}

// The first 8 bytes hold the stamp, every other byte stamp_byte(stamp).
inline void fill_stamped(uint8_t* data, size_t size, uint64_t stamp)
{
    std::memset(data, stamp_byte(stamp), size);
    std::memcpy(data, &stamp, sizeof stamp);
}

// The stamp of an intact frame, nullopt for a torn one.
inline std::optional<uint64_t> read_stamp(const uint8_t* data, size_t size)
{
    uint64_t stamp;
    std::memcpy(&stamp, data, sizeof stamp);
    const uint8_t expected = stamp_byte(stamp);
    for (size_t i = sizeof stamp; i < size; ++i)
        if (data[i] != expected)
            return std::nullopt;
    return stamp;
}

} // namespace pvshm::test
