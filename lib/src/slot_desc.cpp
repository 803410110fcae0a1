// SPDX-License-Identifier: LGPL-2.1-or-later
#include "slot_desc.hpp"

#include <cstring>
#include <ctime>
#include <stdexcept>
#include <string_view>

#include <pvshm/clock.hpp>
#include <pvshm/error.hpp>
#include <pvshm/writer.hpp>

#include "metadata.hpp"

namespace pvshm::detail {

void check_storable(const FrameInfo& info, uint64_t capacity)
{
    if (auto error = frame_geometry_problem(info); !error.empty())
        throw std::invalid_argument("cannot publish frame: " + error);
    if (info.payload_size > capacity)
        throw std::invalid_argument("frame of " + std::to_string(info.payload_size) +
                                    " bytes does not fit its loan of " + std::to_string(capacity));
    if (info.camera_id.size() > kMaxCameraIdLength)
        throw std::invalid_argument("camera_id is longer than " +
                                    std::to_string(kMaxCameraIdLength) + " characters");
    if (info.caps.size() > kMaxCapsLength)
        throw std::invalid_argument("caps string is longer than " + std::to_string(kMaxCapsLength) +
                                    " characters");
    if (info.bit_depth > kMaxBitDepth)
        throw std::invalid_argument("bit_depth must be 0 (all) or 1 to 16, not " +
                                    std::to_string(info.bit_depth));
}

void write_slot_desc(layout::SlotDesc& desc, const FrameInfo& info, const std::string& camera_id,
                     uint32_t bit_depth, const std::string& metadata, uint64_t sequence)
{
    desc.sequence = sequence;
    desc.width = info.width;
    desc.height = info.height;
    desc.format = static_cast<uint32_t>(info.format);
    desc.matrix = static_cast<uint8_t>(info.matrix);
    desc.range = static_cast<uint8_t>(info.range);
    desc.plane_count = static_cast<uint8_t>(info.plane_count);
    for (int i = 0; i < kMaxPlanes; ++i) {
        desc.strides[i] = info.strides[i];
        desc.plane_offsets[i] = info.plane_offsets[i];
    }
    desc.payload_size = info.payload_size;
    desc.timestamp_realtime_ns =
        info.timestamp_realtime_ns ? info.timestamp_realtime_ns : clock_ns(CLOCK_REALTIME);
    desc.timestamp_monotonic_ns =
        info.timestamp_monotonic_ns ? info.timestamp_monotonic_ns : clock_ns(CLOCK_MONOTONIC);
    desc.duration_ns = info.duration_ns;
    desc.camera_id_length = static_cast<uint16_t>(camera_id.size());
    std::memset(desc.camera_id, 0, sizeof desc.camera_id);
    std::memcpy(desc.camera_id, camera_id.data(), camera_id.size());
    desc.caps_length = static_cast<uint16_t>(info.caps.size());
    std::memset(desc.caps, 0, sizeof desc.caps);
    std::memcpy(desc.caps, info.caps.data(), info.caps.size());
    desc.bit_depth = static_cast<uint8_t>(bit_depth);
    desc.metadata_length = static_cast<uint16_t>(metadata.size());
    std::memcpy(desc.metadata, metadata.data(), metadata.size());
}

FrameInfo read_slot_desc(const layout::SlotDesc& d, uint64_t slot_stride, const std::string& path,
                         uint32_t slot)
{
    auto where = [&] { return path + " slot " + std::to_string(slot); };
    if (d.format > static_cast<uint32_t>(PixelFormat::Encoded) ||
        d.matrix > static_cast<uint8_t>(ColorMatrix::BT2020) ||
        d.range > static_cast<uint8_t>(ColorRange::Full) || d.plane_count > kMaxPlanes ||
        d.camera_id_length >= layout::kCameraIdBytes || d.caps_length >= layout::kCapsBytes ||
        d.metadata_length > layout::kMetadataBytes || d.bit_depth > kMaxBitDepth ||
        d.payload_size > slot_stride)
        throw SegmentError(where() + " holds a corrupt frame descriptor");
    FrameInfo info;
    info.width = d.width;
    info.height = d.height;
    info.format = static_cast<PixelFormat>(d.format);
    info.matrix = static_cast<ColorMatrix>(d.matrix);
    info.range = static_cast<ColorRange>(d.range);
    info.plane_count = d.plane_count;
    for (int i = 0; i < kMaxPlanes; ++i) {
        info.strides[i] = d.strides[i];
        info.plane_offsets[i] = d.plane_offsets[i];
    }
    info.payload_size = d.payload_size;
    info.sequence = d.sequence;
    info.timestamp_realtime_ns = d.timestamp_realtime_ns;
    info.timestamp_monotonic_ns = d.timestamp_monotonic_ns;
    info.duration_ns = d.duration_ns;
    info.camera_id.assign(d.camera_id, d.camera_id_length);
    info.caps.assign(d.caps, d.caps_length);
    info.bit_depth = d.bit_depth;
    try {
        info.metadata = parse_metadata(std::string_view(d.metadata, d.metadata_length));
    } catch (const SegmentError& error) {
        throw SegmentError(where() + ": " + error.what());
    }
    if (auto error = frame_geometry_problem(info); !error.empty())
        throw SegmentError(where() + " holds an invalid frame: " + error);
    return info;
}

} // namespace pvshm::detail
