// SPDX-License-Identifier: LGPL-2.1-or-later
#include "stream_format.hpp"

#include <algorithm>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <zlib.h>

// The library's user-metadata form (a JSON object), so that a frame's metadata crosses the
// network exactly as a segment stores it, within the same kMaxMetadataBytes.
#include "metadata.hpp"

namespace pvshm::stream {
namespace {

constexpr size_t kHeaderCrcSpan = offsetof(FrameHeader, header_crc);
// What a header of a later version may say, so that a magic found in garbage or pixels takes a
// header only where the next magic is at least 8 bytes on: a magic 4 to 7 bytes after another
// lies in its version (> 255) or its header_length (> 4096).
constexpr uint16_t kMaxLaterVersion = 255;
constexpr uint16_t kMaxLaterHeaderLength = 4096;

uint32_t crc32_of(uint32_t crc, const uint8_t* bytes, size_t size)
{
    return uint32_t(crc32_z(crc, bytes, size));
}

bool has_nul(std::string_view text)
{
    return text.find('\0') != std::string_view::npos;
}

// gst_caps_to_string() escapes everything else: other bytes are no caps a sender wrote.
bool is_printable_ascii(std::string_view text)
{
    return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

FrameHeader new_header()
{
    FrameHeader header{};
    std::memcpy(header.magic, kMagic, sizeof kMagic);
    header.version = kVersion;
    header.header_length = kHeaderSize;
    return header;
}

// Writes `header` with its checksum at `out`.
void seal(FrameHeader& header, uint8_t* out)
{
    header.header_crc = crc32_of(0, reinterpret_cast<const uint8_t*>(&header), kHeaderCrcSpan);
    std::memcpy(out, &header, kHeaderSize);
}

bool valid_frame_fields(const FrameHeader& raw)
{
    const uint8_t bit_depth_bound = raw.version >= 2 ? kMaxBitDepth : 0;
    const uint8_t encoding_bound = raw.version >= 3 ? kMaxEncoding : 0;
    return raw.bit_depth <= bit_depth_bound && raw.encoding <= encoding_bound &&
           raw.caps_length > 0 && raw.caps_length <= kMaxCapsLength &&
           raw.camera_id_length <= kMaxCameraIdLength &&
           raw.metadata_length <= kMaxMetadataLength && raw.payload_length > 0 &&
           raw.payload_length <= kMaxPayloadLength && raw.duration_ns >= -1;
}

bool valid_heartbeat_fields(const FrameHeader& raw)
{
    return raw.version >= 3 && raw.bit_depth == 0 && raw.encoding == 0 && raw.caps_length == 0 &&
           raw.camera_id_length == 0 && raw.metadata_length == 0 && raw.payload_length == 0 &&
           raw.duration_ns == -1 && raw.body_crc == 0;
}

} // namespace

std::vector<uint8_t> encode_frame_prefix(const FrameFacts& facts, std::string_view caps,
                                         const uint8_t* payload, uint64_t payload_size)
{
    if (caps.empty() || caps.size() > kMaxCapsLength || !is_printable_ascii(caps))
        throw std::invalid_argument("caps of " + std::to_string(caps.size()) +
                                    " characters: a stream carries 1 to " +
                                    std::to_string(kMaxCapsLength) + " of printable ASCII");
    if (facts.camera_id.size() > kMaxCameraIdLength || has_nul(facts.camera_id))
        throw std::invalid_argument("camera id of " + std::to_string(facts.camera_id.size()) +
                                    " bytes: a stream carries at most " +
                                    std::to_string(kMaxCameraIdLength) + ", without NUL");
    if (payload_size == 0 || payload_size > kMaxPayloadLength)
        throw std::invalid_argument("frame of " + std::to_string(payload_size) +
                                    " bytes: a stream carries 1 to " +
                                    std::to_string(kMaxPayloadLength));
    if (facts.bit_depth > kMaxBitDepth)
        throw std::invalid_argument("bit depth " + std::to_string(facts.bit_depth) +
                                    ": a stream carries 0 (all bits) to " +
                                    std::to_string(kMaxBitDepth));
    if (uint8_t(facts.encoding) > kMaxEncoding)
        throw std::invalid_argument("encoding " + std::to_string(int(facts.encoding)) +
                                    ": a stream carries 0 (raw) to " +
                                    std::to_string(kMaxEncoding));
    const std::string metadata = pvshm::serialize_metadata(facts.metadata);

    FrameHeader header = new_header();
    header.flags = facts.flags;
    header.encoding = uint8_t(facts.encoding);
    header.caps_length = uint16_t(caps.size());
    header.camera_id_length = uint16_t(facts.camera_id.size());
    header.metadata_length = uint32_t(metadata.size());
    header.bit_depth = facts.bit_depth;
    header.payload_length = payload_size;
    header.sequence = facts.sequence;
    header.realtime_ns = facts.realtime_ns > 0 ? facts.realtime_ns : 0;
    header.duration_ns = facts.duration_ns >= 0 ? facts.duration_ns : -1;

    std::vector<uint8_t> prefix(kHeaderSize);
    prefix.reserve(kHeaderSize + caps.size() + facts.camera_id.size() + metadata.size());
    prefix.insert(prefix.end(), caps.begin(), caps.end());
    prefix.insert(prefix.end(), facts.camera_id.begin(), facts.camera_id.end());
    prefix.insert(prefix.end(), metadata.begin(), metadata.end());
    uint32_t body_crc = crc32_of(0, prefix.data() + kHeaderSize, prefix.size() - kHeaderSize);
    header.body_crc = crc32_of(body_crc, payload, size_t(payload_size));
    seal(header, prefix.data());
    return prefix;
}

std::vector<uint8_t> encode_heartbeat(bool writer_alive, uint64_t newest_sequence,
                                      int64_t realtime_ns)
{
    FrameHeader header = new_header();
    header.kind = uint8_t(RecordKind::Heartbeat);
    header.flags = writer_alive ? kFlagWriterAlive : 0;
    header.sequence = newest_sequence;
    header.realtime_ns = realtime_ns > 0 ? realtime_ns : 0;
    header.duration_ns = -1;
    std::vector<uint8_t> bytes(kHeaderSize);
    seal(header, bytes.data());
    return bytes;
}

bool plausible_header(const uint8_t* bytes)
{
    FrameHeader raw;
    std::memcpy(&raw, bytes, kHeaderSize);
    if (std::memcmp(raw.magic, kMagic, sizeof kMagic) != 0 || raw.version < kFirstVersion)
        return false;
    if (raw.version <= kVersion)
        return raw.header_length == kHeaderSize;
    return raw.version <= kMaxLaterVersion && raw.header_length >= kHeaderSize &&
           raw.header_length <= kMaxLaterHeaderLength;
}

std::optional<Header> decode_header(const uint8_t* bytes, std::string& problem,
                                    uint16_t* unreadable_version)
{
    FrameHeader raw;
    std::memcpy(&raw, bytes, kHeaderSize);
    if (std::memcmp(raw.magic, kMagic, sizeof kMagic) != 0) {
        problem = "no frame magic";
        return std::nullopt;
    }
    // Before the checksum, so that a header passes only where the next magic is 8 bytes on.
    const std::string version_text =
        "stream version " + std::to_string(raw.version) + " with a header of " +
        std::to_string(raw.header_length) + " bytes (this receiver reads versions " +
        std::to_string(kFirstVersion) + " to " + std::to_string(kVersion) + ")";
    if (!plausible_header(bytes)) {
        problem = version_text;
        return std::nullopt;
    }
    if (raw.header_crc != crc32_of(0, bytes, kHeaderCrcSpan)) {
        problem = "header checksum mismatch";
        return std::nullopt;
    }
    if (raw.version > kVersion) {
        problem = version_text;
        if (unreadable_version)
            *unreadable_version = raw.version;
        return std::nullopt;
    }
    const bool heartbeat = raw.version >= 3 && raw.kind == uint8_t(RecordKind::Heartbeat);
    const bool known_kind = raw.kind == uint8_t(RecordKind::Frame) || heartbeat;
    if (!known_kind || raw.reserved != 0 || raw.realtime_ns < 0 ||
        !(heartbeat ? valid_heartbeat_fields(raw) : valid_frame_fields(raw))) {
        problem = "header field out of range";
        return std::nullopt;
    }
    Header header;
    header.kind = RecordKind(raw.kind);
    header.encoding = Encoding(raw.encoding);
    header.flags = raw.flags;
    header.caps_length = raw.caps_length;
    header.camera_id_length = raw.camera_id_length;
    header.metadata_length = raw.metadata_length;
    header.payload_length = raw.payload_length;
    header.sequence = raw.sequence;
    header.realtime_ns = raw.realtime_ns;
    header.duration_ns = raw.duration_ns;
    header.bit_depth = raw.bit_depth;
    header.body_crc = raw.body_crc;
    return header;
}

std::optional<Frame> decode_frame(const Header& header, const uint8_t* bytes, std::string& problem)
{
    const uint64_t body_size = header.frame_size() - kHeaderSize;
    if (crc32_of(0, bytes + kHeaderSize, size_t(body_size)) != header.body_crc) {
        problem = "body checksum mismatch";
        return std::nullopt;
    }
    return decode_checked_frame(header, bytes, problem);
}

std::optional<Frame> decode_checked_frame(const Header& header, const uint8_t* bytes,
                                          std::string& problem)
{
    Frame frame;
    frame.kind = header.kind;
    frame.facts.flags = header.flags;
    frame.facts.sequence = header.sequence;
    frame.facts.realtime_ns = header.realtime_ns;
    frame.facts.duration_ns = header.duration_ns;
    if (header.kind == RecordKind::Heartbeat) {
        frame.payload_offset = kHeaderSize;
        return frame;
    }
    const uint8_t* body = bytes + kHeaderSize;
    const auto* text = reinterpret_cast<const char*>(body);
    const std::string_view caps(text, header.caps_length);
    const std::string_view camera_id(text + header.caps_length, header.camera_id_length);
    const std::string_view metadata(text + header.caps_length + header.camera_id_length,
                                    header.metadata_length);
    if (!is_printable_ascii(caps) || has_nul(camera_id)) {
        problem = "caps not printable ASCII, or NUL in the camera id";
        return std::nullopt;
    }
    try {
        frame.facts.metadata = pvshm::parse_metadata(metadata);
        // What a segment would refuse (an empty key, a number that grows past the bound when
        // written back) is refused here, so that every frame delivered can be stored.
        pvshm::serialize_metadata(frame.facts.metadata);
    } catch (const std::exception& error) {
        problem = error.what();
        return std::nullopt;
    }
    frame.facts.bit_depth = header.bit_depth;
    frame.facts.encoding = header.encoding;
    frame.facts.camera_id = camera_id;
    frame.caps = caps;
    frame.payload_offset = header.frame_size() - header.payload_length;
    frame.payload_size = header.payload_length;
    return frame;
}

std::optional<size_t> find_magic(const uint8_t* bytes, size_t size)
{
    if (const void* found = memmem(bytes, size, kMagic, sizeof kMagic))
        return size_t(static_cast<const uint8_t*>(found) - bytes);
    return std::nullopt;
}

void Deframer::end()
{
    stats_.drops += losses_since_last_;
    restart();
}

void Deframer::restart()
{
    wanted_ = 0;
    last_sequence_.reset();
    losses_since_last_ = 0;
    in_loss_ = false;
    consumed_ = received_;
    tail_.clear();
    forget_before(consumed_);
}

void Deframer::received(const uint8_t* bytes, size_t size)
{
    const uint64_t start = received_;
    // The headers that end in these bytes, in order: those begun in the tail (the previous bytes)
    // first. The prefix checksum stops at each one's end, so that it can be noted there.
    std::vector<uint8_t> joined(tail_);
    joined.insert(joined.end(), bytes, bytes + std::min(size, kHeaderSize - 1));
    const uint64_t joined_start = start - tail_.size();
    const auto take_header = [&](uint64_t position) {
        if (position + kHeaderSize > start + size)
            return false;
        checksum_to(position + kHeaderSize, bytes, start);
        uint8_t raw[kHeaderSize];
        if (position >= start)
            std::memcpy(raw, bytes + (position - start), kHeaderSize);
        else
            std::memcpy(raw, joined.data() + (position - joined_start), kHeaderSize);
        std::string problem;
        stats_.bytes_checksummed += plausible_header(raw) ? kHeaderSize : 0;
        const auto header = decode_header(raw, problem);
        if (header && header->frame_size() <= max_frame_size_) {
            checkpoints_.push_back({position + kHeaderSize, prefix_crc_});
            frame_ends_.push(position + header->frame_size());
        }
        return true;
    };
    for (size_t at = 0; at < tail_.size(); ++at) {
        const auto found = find_magic(joined.data() + at, joined.size() - at);
        if (!found || at + *found >= tail_.size() || !take_header(joined_start + at + *found))
            break;
        at += *found;
    }
    for (size_t at = 0; at < size; ++at) {
        const auto found = find_magic(bytes + at, size - at);
        if (!found || !take_header(start + at + *found))
            break;
        at += *found;
    }
    checksum_to(start + size, bytes, start);

    constexpr size_t kTail = kHeaderSize - 1;
    if (size >= kTail) {
        tail_.assign(bytes + size - kTail, bytes + size);
    } else {
        tail_.insert(tail_.end(), bytes, bytes + size);
        if (tail_.size() > kTail)
            tail_.erase(tail_.begin(), tail_.end() - kTail);
    }
}

void Deframer::checksum_to(uint64_t position, const uint8_t* bytes, uint64_t chunk_start)
{
    // Every frame end still to come lies past received_: it was noted at its header's end.
    while (received_ < position) {
        const uint64_t stop =
            frame_ends_.empty() ? position : std::min(position, frame_ends_.top());
        prefix_crc_ =
            crc32_of(prefix_crc_, bytes + (received_ - chunk_start), size_t(stop - received_));
        stats_.bytes_checksummed += stop - received_;
        received_ = stop;
        while (!frame_ends_.empty() && frame_ends_.top() == received_) {
            checkpoints_.push_back({received_, prefix_crc_});
            frame_ends_.pop();
        }
    }
}

bool Deframer::body_checks(const Header& header)
{
    const uint64_t body_start = consumed_ + kHeaderSize;
    const uint64_t frame_end = consumed_ + header.frame_size();
    const auto at = [this](uint64_t position) -> std::optional<uint32_t> {
        const auto found = std::lower_bound(checkpoints_.begin(), checkpoints_.end(), position,
                                            [](const Checkpoint& checkpoint, uint64_t wanted) {
                                                return checkpoint.position < wanted;
                                            });
        if (found == checkpoints_.end() || found->position != position)
            return std::nullopt;
        return found->crc;
    };
    const auto before = at(body_start);
    const auto after = at(frame_end);
    if (!before || !after)
        throw std::logic_error("no prefix checksum noted for a frame that checked");
    // P(end) = combine(P(start), crc(body), length): the body's CRC is the difference.
    const uLong body =
        crc32_combine_op(*before, *after, crc32_combine_gen64(frame_end - body_start));
    return uint32_t(body) == header.body_crc;
}

void Deframer::forget_before(uint64_t position)
{
    while (!checkpoints_.empty() && checkpoints_.front().position < position)
        checkpoints_.pop_front();
}

void Deframer::skip_garbage(size_t size)
{
    if (!in_loss_) {
        in_loss_ = true;
        ++losses_since_last_;
    }
    stats_.bytes_skipped += size;
}

void Deframer::damaged()
{
    ++losses_since_last_;
    in_loss_ = true;
}

void Deframer::refused(uint64_t size)
{
    ++losses_since_last_;
    stats_.bytes_skipped += size;
    in_loss_ = false;
}

void Deframer::heartbeat()
{
    // Not a frame: the losses met since the last frame still count at the next one.
    ++stats_.heartbeats;
    in_loss_ = false;
}

void Deframer::delivered(const Frame& frame)
{
    const uint64_t sequence = frame.facts.sequence;
    if (last_sequence_ && !(frame.facts.flags & kFlagSenderStart) && sequence > *last_sequence_)
        stats_.drops += sequence - *last_sequence_ - 1;
    else
        stats_.drops += losses_since_last_;
    ++stats_.frames;
    last_sequence_ = sequence;
    losses_since_last_ = 0;
    in_loss_ = false;
}

} // namespace pvshm::stream
