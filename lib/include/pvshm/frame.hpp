// SPDX-License-Identifier: LGPL-2.1-or-later
// What a frame is: its description (FrameInfo), a zero-copy view that pins its slot (FrameView),
// and an owned copy (Frame).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include <pvshm/export.hpp>
#include <pvshm/format.hpp>

namespace pvshm {

inline constexpr int kMaxPlanes = 4;
// Longest camera id and caps string a frame carries; longer ones are refused by the writer.
inline constexpr size_t kMaxCameraIdLength = 127;
inline constexpr size_t kMaxCapsLength = 1023;
// Largest frame a segment accepts (pixels or encoded bytes), so that no size read from a
// segment can overflow the arithmetic built on it.
inline constexpr uint64_t kMaxPayloadSize = uint64_t{1} << 30;
inline constexpr uint32_t kMaxDimension = 65535;

// User metadata of a frame: string keys to string, integer or floating-point values, written
// with the frame and read with it (a part's serial number, the sequence number of the frame a
// result was computed from). Stored as a JSON object of at most kMaxMetadataBytes; the writer
// refuses a larger one.
using MetadataValue = std::variant<std::string, int64_t, double>;
using UserMetadata = std::map<std::string, MetadataValue>;
inline constexpr size_t kMaxMetadataBytes = 4096;

struct PVSHM_EXPORT FrameInfo
{
    uint32_t width = 0;
    uint32_t height = 0;
    PixelFormat format = PixelFormat::Unknown;
    ColorMatrix matrix = ColorMatrix::Unspecified;
    ColorRange range = ColorRange::Unspecified;
    uint32_t plane_count = 0;
    std::array<uint32_t, kMaxPlanes> strides{};
    std::array<uint64_t, kMaxPlanes> plane_offsets{};
    uint64_t payload_size = 0;
    // Set by the writer when the frame is published: 1 for the first frame of a segment.
    uint64_t sequence = 0;
    // Capture time; the writer stamps the publish time when the caller leaves them at 0.
    int64_t timestamp_realtime_ns = 0;
    int64_t timestamp_monotonic_ns = 0;
    int64_t duration_ns = -1; // -1: unknown
    std::string camera_id;
    // GStreamer caps of the frame when pvshmsink wrote it; empty otherwise.
    std::string caps;
    // Significant bits of GRAY16_LE samples (1..16; 0: all 16), which normalization scales by.
    uint32_t bit_depth = 0;
    UserMetadata metadata;

    // How long ago the frame was captured (CLOCK_REALTIME now minus its capture time).
    int64_t age_ns() const;
};

// The description of a tightly packed frame of `format` (planes one after the other, strides
// without padding). For encoded formats only the size is set: pass the byte count as `width`
// and 1 as `height`, or set payload_size yourself. Throws std::invalid_argument for sizes
// beyond kMaxDimension / kMaxPayloadSize.
PVSHM_EXPORT FrameInfo packed_frame_info(PixelFormat format, uint32_t width, uint32_t height);

// Checks that the planes described by `info` lie inside payload_size and hold the pixels that
// width, height and format need. Returns an explanation when they do not.
PVSHM_EXPORT std::string frame_geometry_problem(const FrameInfo& info);

namespace detail {
class SlotPin;
class ReaderCore;
} // namespace detail

// A frame read in place from shared memory. While any copy of the view lives, the writer will
// not reuse its slot (it drops frames instead once every slot is pinned); keep views short-lived.
// The memory is read-only. A view stays valid after its Reader is destroyed.
class PVSHM_EXPORT FrameView
{
public:
    FrameView() = default;

    explicit operator bool() const { return pin_ != nullptr; }
    const FrameInfo& info() const;
    const uint8_t* data() const;
    size_t size() const;
    const uint8_t* plane(int index) const;
    // Whether the segment this frame came from still has a live writer (one system call).
    bool writer_alive() const;
    // True once another process truncated the segment under the view: its memory reads as
    // zeros from then on, so whatever was read from it since is not the frame. Check it after
    // using the pixels when they must be trusted (the library's own reads do).
    bool lost() const;

private:
    friend class detail::ReaderCore; // the one maker of views: a view is a pin of a slot
    PVSHM_LOCAL explicit FrameView(std::shared_ptr<const detail::SlotPin> pin);

    std::shared_ptr<const detail::SlotPin> pin_;
};

// A frame copied out of shared memory.
struct Frame
{
    FrameInfo info;
    std::vector<uint8_t> payload;
};

} // namespace pvshm
