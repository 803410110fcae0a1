// SPDX-License-Identifier: LGPL-2.1-or-later
// THE pvshm stream format (caps application/x-pvshm-stream): the only file that knows where
// anything lies in it. pvshmpay writes it, pvshmdepay reads it, over any byte transport that
// keeps the order of the bytes it delivers (SRT, TCP, a pipe, a file). Pure C++, without
// GStreamer, so that its parser is fuzzed alone (tests/fuzz/fuzz_stream.cpp).
//
// A stream is records back to back, nothing between them: frames, and (version 3) heartbeats.
// Each record describes itself whole, so a receiver may join anywhere:
//
//   0                 64                                                     frame_size()
//   +-----------------+------------+-------------+-------------+---------------------+
//   | FrameHeader     | caps       | camera id   | metadata    | payload             |
//   | magic "PVSF",   | caps_length| camera_id_  | metadata_   | payload_length bytes|
//   | version, flags, | bytes of   | length bytes| length bytes| as `encoding` says: |
//   | lengths,        | printable  | (0: none),  | (0: none):  | 0 raw: the layout   |
//   | bit_depth,      | ASCII: the | no NUL      | user        | GStreamer gives the |
//   | encoding, kind, | frame's    |             | metadata as | caps without a      |
//   | sequence, times,| GStreamer  |             | the library | GstVideoMeta, or the|
//   | body_crc,       | caps       |             | stores it   | image's bytes;      |
//   | header_crc      |            |             |             | 1 jpeg; 2 zstd      |
//   +-----------------+------------+-------------+-------------+---------------------+
//   |<- header_crc -->|<------------------------ body_crc --------------------------->|
//
// The header, byte by byte (little-endian):
//
//    0       4       6       8          12      14      16         20  21  22  23  24
//   +-------+-------+-------+----------+-------+-------+----------+---+---+---+---+
//   | "PVSF"|version|header_| flags    | caps_ | camera| metadata_|bit|enc|kin|res|
//   |       |       |length |          | length| _id_  | length   |_de|odi|d  |erv|
//   |       |       | (64)  |          |       | length|          |pth|ng |   |ed |
//   +-------+-------+-------+----------+-------+-------+----------+---+---+---+---+
//   24                32                40                48        56        60    64
//   +-----------------+-----------------+-----------------+---------+---------+
//   | payload_length  | sequence        | realtime_ns     |duration_| body_crc|header_crc
//   |                 |                 |                 |ns       |         |
//   +-----------------+-----------------+-----------------+---------+---------+
//
// A heartbeat (version 3, kind 1) is a header alone: every length zero, body_crc 0, sequence
// the newest frame the sender's id holds (0: none yet), realtime_ns the sender's CLOCK_REALTIME
// when it was sent, flags kFlagWriterAlive when the writer of the sender's id is alive. A sender
// sends them while frames do not flow, so that a receiver tells a quiet sender from a gone one.
//
// Every field is fixed width and little-endian; reserved bytes are zero. header_crc covers the
// 60 bytes before it (body_crc among them), so header and body are checked end to end, and no
// length is trusted before its header checked: a magic found in garbage or in pixels never makes
// a receiver wait for bytes that will not come. Checksums are zlib's CRC-32.
//
// Stream versions:
//   1  initial format.
//   2  the byte after metadata_length is bit_depth (the significant bits of GRAY16_LE samples,
//      1..16); it was reserved.
//   3  the two bytes after bit_depth are `encoding` (Encoding: how the payload holds the frame)
//      and `kind` (RecordKind: a frame or a heartbeat); they were reserved. A sender writes
//      version 3 for every record; a receiver reads versions 1 to 3 (1 and 2: raw frames).
//      encoding 1 (jpeg): the caps are image/jpeg with the frame's width, height and framerate,
//      the payload a JPEG image. encoding 2 (zstd): the caps are the frame's own (raw video or
//      Bayer), the payload one zstd frame whose content size is the caps' frame size; the
//      receiver never decompresses more than that, and a zstd frame that says otherwise or does
//      not decompress to exactly that is a damaged frame.
//   Every later version keeps the first 64 bytes' meaning of magic, version, header_length and
//   header_crc (the CRC-32 of the 60 bytes before it), and may only append header bytes
//   (header_length > 64). A receiver that meets a header of a version it does not read whose
//   first 64 bytes check skips it as it skips garbage, and counts it (unreadable_version): a
//   stream from a newer sender is refused clearly, never taken for noise.
//
// A receiver (Deframer below) resynchronises on the magic: bytes before a magic, and a frame
// whose header or body does not check, are skipped; a frame whose body does not check is searched
// from its second byte on, so a frame that began inside it (the sender restarted, packets were
// lost) is found. A frame cut short is known to be only once the bytes its header announced have
// arrived (those of the frames after it, then searched again). A frame is delivered whole or not
// at all; one whose checksums hold but whose caps or metadata cannot be used is skipped whole.
//
// The work a receiver does is bounded by a constant times the bytes it receives, whatever they
// are: body checksums are never computed again over the same bytes for each header found inside
// a damaged frame (headers every 64 bytes, each announcing a frame to the end of the bytes, cost
// the square of their size before). The receiver computes the CRC-32 of the stream's prefix once,
// as the bytes arrive, noting it where each header that checks ends and where its frame ends;
// a body's checksum is the combination of the two (zlib's crc32_combine_op, in O(log size)).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <queue>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <pvshm/frame.hpp>

namespace pvshm::stream {

inline constexpr uint8_t kMagic[4] = {'P', 'V', 'S', 'F'};
// kMagic as the big-endian word GstAdapter's scans compare with.
inline constexpr uint32_t kMagicWord = 0x50565346;
// The versions a receiver reads; a sender writes kVersion.
inline constexpr uint16_t kFirstVersion = 1;
inline constexpr uint16_t kVersion = 3;
inline constexpr uint8_t kMaxBitDepth = 16;

// FrameHeader::flags
// The first frame a sender sent: its sequence may start anew, a gap before it is no loss.
inline constexpr uint32_t kFlagSenderStart = 1u << 0;
// A heartbeat's: the writer of the sender's id is alive.
inline constexpr uint32_t kFlagWriterAlive = 1u << 1;
inline constexpr uint32_t kKnownFlags = kFlagSenderStart | kFlagWriterAlive;

// FrameHeader::encoding (version 3; zero before): how the payload holds the frame. A new
// encoding takes a new version.
enum class Encoding : uint8_t
{
    Raw = 0,  // the frame's bytes as its caps describe them
    Jpeg = 1, // a JPEG image; the caps are image/jpeg
    Zstd = 2, // one zstd frame of the frame's bytes (lossless); the caps are the frame's
};
inline constexpr uint8_t kMaxEncoding = uint8_t(Encoding::Zstd);

// FrameHeader::kind (version 3; zero before).
enum class RecordKind : uint8_t
{
    Frame = 0,
    Heartbeat = 1, // a header alone: the sender's writer_alive and newest sequence
};
inline constexpr uint8_t kMaxRecordKind = uint8_t(RecordKind::Heartbeat);

// Bounds of the body, the library's own: a frame that fits a segment fits a stream.
inline constexpr size_t kMaxCapsLength = pvshm::kMaxCapsLength;
inline constexpr size_t kMaxCameraIdLength = pvshm::kMaxCameraIdLength;
inline constexpr size_t kMaxMetadataLength = pvshm::kMaxMetadataBytes;
inline constexpr uint64_t kMaxPayloadLength = pvshm::kMaxPayloadSize;

struct FrameHeader
{
    uint8_t magic[4];          // kMagic
    uint16_t version;          // kVersion
    uint16_t header_length;    // sizeof(FrameHeader)
    uint32_t flags;            // kFlag*; unknown bits are ignored (a change receivers must
                               // understand takes a new version)
    uint16_t caps_length;      // 1..kMaxCapsLength
    uint16_t camera_id_length; // 0..kMaxCameraIdLength
    uint32_t metadata_length;  // 0..kMaxMetadataLength
    uint8_t bit_depth;         // version 2: 0 (all 16, or not GRAY16_LE) .. kMaxBitDepth;
                               // version 1: zero
    uint8_t encoding;          // version 3: Encoding; before: zero
    uint8_t kind;              // version 3: RecordKind; before: zero
    uint8_t reserved;          // zero
    uint64_t payload_length;   // 1..kMaxPayloadLength
    uint64_t sequence;         // the sender's sequence number of the frame
    int64_t realtime_ns;       // capture time, the sender's CLOCK_REALTIME; 0: unknown
    int64_t duration_ns;       // -1: unknown
    uint32_t body_crc;         // CRC-32 of the body (caps, camera id, metadata, payload)
    uint32_t header_crc;       // CRC-32 of the header's bytes before this field
};

inline constexpr size_t kHeaderSize = sizeof(FrameHeader);
inline constexpr uint64_t kMaxFrameSize =
    kHeaderSize + kMaxCapsLength + kMaxCameraIdLength + kMaxMetadataLength + kMaxPayloadLength;

static_assert(sizeof(FrameHeader) == 64);
static_assert(offsetof(FrameHeader, flags) == 8);
static_assert(offsetof(FrameHeader, caps_length) == 12);
static_assert(offsetof(FrameHeader, metadata_length) == 16);
static_assert(offsetof(FrameHeader, bit_depth) == 20);
static_assert(offsetof(FrameHeader, encoding) == 21);
static_assert(offsetof(FrameHeader, kind) == 22);
static_assert(offsetof(FrameHeader, payload_length) == 24);
static_assert(offsetof(FrameHeader, sequence) == 32);
static_assert(offsetof(FrameHeader, realtime_ns) == 40);
static_assert(offsetof(FrameHeader, duration_ns) == 48);
static_assert(offsetof(FrameHeader, body_crc) == 56);
static_assert(offsetof(FrameHeader, header_crc) == 60);
static_assert(std::is_standard_layout_v<FrameHeader> && std::is_trivially_copyable_v<FrameHeader>);
// Encoding copies the header as it lies in memory; a big-endian port would swap its fields there.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__);

// What a frame says besides its caps and its bytes.
struct FrameFacts
{
    uint32_t flags = 0;
    uint64_t sequence = 0;
    int64_t realtime_ns = 0;
    int64_t duration_ns = -1;
    uint8_t bit_depth = 0; // significant bits of GRAY16_LE samples; 0: all, or not GRAY16_LE
    Encoding encoding = Encoding::Raw;
    std::string camera_id;
    pvshm::UserMetadata metadata;
};

// The header and the body up to the payload (caps, camera id, metadata) of one frame: a sender
// writes these bytes, then the payload's. Throws std::invalid_argument for caps, camera id,
// metadata, bit depth or payload outside their bounds (the metadata message is the library's).
std::vector<uint8_t> encode_frame_prefix(const FrameFacts& facts, std::string_view caps,
                                         const uint8_t* payload, uint64_t payload_size);

// A heartbeat (a header alone, kHeaderSize bytes): `writer_alive` says whether the writer of
// the sender's id is alive, `newest_sequence` the newest frame it holds (0: none), `realtime_ns`
// when it was sent (the sender's CLOCK_REALTIME; <= 0: unknown).
std::vector<uint8_t> encode_heartbeat(bool writer_alive, uint64_t newest_sequence,
                                      int64_t realtime_ns);

// A header that checked: every length within its bounds.
struct Header
{
    RecordKind kind = RecordKind::Frame;
    Encoding encoding = Encoding::Raw;
    uint32_t flags = 0;
    uint16_t caps_length = 0;
    uint16_t camera_id_length = 0;
    uint32_t metadata_length = 0;
    uint64_t payload_length = 0;
    uint64_t sequence = 0;
    int64_t realtime_ns = 0;
    int64_t duration_ns = -1;
    uint8_t bit_depth = 0;
    uint32_t body_crc = 0;

    uint64_t frame_size() const
    {
        return kHeaderSize + caps_length + camera_id_length + metadata_length + payload_length;
    }
};

// Whether the header at `bytes` has the magic, a version and a length a receiver may check: the
// fields checked before the checksum is computed (a version this receiver reads, or a later one).
bool plausible_header(const uint8_t* bytes);

// The header at `bytes` (kHeaderSize of them), or nullopt when it does not check (magic,
// version, length, reserved bytes, checksum); `problem` says why. A header of a later version
// whose first 64 bytes check sets `*unreadable_version` to its version.
std::optional<Header> decode_header(const uint8_t* bytes, std::string& problem,
                                    uint16_t* unreadable_version = nullptr);

// A record whose body checked against its header: a frame, or a heartbeat (kind; no caps, no
// payload; facts.flags, sequence and realtime_ns as encode_heartbeat() says).
struct Frame
{
    RecordKind kind = RecordKind::Frame;
    FrameFacts facts;
    std::string caps;
    uint64_t payload_offset = 0; // from the start of the frame
    uint64_t payload_size = 0;
};

// The frame of `header` at `bytes` (header.frame_size() of them, header included), or nullopt
// when its body does not check (checksum, metadata); `problem` says why.
std::optional<Frame> decode_frame(const Header& header, const uint8_t* bytes, std::string& problem);
// As decode_frame, for a frame whose body checksum is known to be right.
std::optional<Frame> decode_checked_frame(const Header& header, const uint8_t* bytes,
                                          std::string& problem);

// The offset of the first kMagic in `bytes`, or nullopt.
std::optional<size_t> find_magic(const uint8_t* bytes, size_t size);

struct DeframeStats
{
    uint64_t frames = 0;           // delivered
    uint64_t drops = 0;            // lost: sequence gaps, else damaged frames and garbage runs
    uint64_t frames_damaged = 0;   // headers that checked over bodies that did not, and
                                   // payloads that did not decode (Delivery::Damaged)
    uint64_t frames_too_large = 0; // headers announcing more than the receiver's maximum
    uint64_t bytes_skipped = 0;    // bytes that were no part of a delivered frame
    uint64_t heartbeats = 0;       // heartbeats delivered (neither frames nor drops)
    // Headers of a version this receiver does not read, which checked (their records are skipped
    // as garbage), and the last such version.
    uint64_t unreadable_version = 0;
    uint16_t last_unreadable_version = 0;
    // Bytes whose CRC-32 was computed: at most 25 per byte received, whatever the bytes are
    // (each byte once for the stream's prefix checksum; 64 for each plausible header, at least
    // 8 bytes apart, when it arrives, when the queue reaches it and when its frame is complete).
    uint64_t bytes_checksummed = 0;
};

enum class Delivery
{
    Delivered, // taken: go on
    Refused,   // a frame that checked but the receiver cannot use (caps it does not know): a drop
    Damaged,   // a frame that checked but whose payload does not decode as its header says (a
               // zstd frame of another size): a drop, counted as damaged
    Stop,      // taken, and the receiver wants no more now (downstream refused it)
};

// Cuts received bytes into frames. Every byte the receiver queues goes through received() first,
// in order. `Bytes` is the receiver's queue, read from its head:
//   size_t available() const;
//   std::optional<size_t> find_magic();                  offset of the first kMagic, or nullopt
//   void copy(size_t size, uint8_t* out);                the first `size` bytes
//   void skip(size_t size);                              drops the first `size` bytes
//   Taken take(size_t size);                             removes the first `size` bytes, as an
//                                                        object with data() (contiguous) and size()
// `deliver(const Frame&, Taken&)` gets each frame that checked, and each heartbeat (kind
// RecordKind::Heartbeat: its return value is not looked at).
//
// Drops: a frame delivered with a sequence number above the previous one's (and no
// kFlagSenderStart) counts the numbers in between; otherwise (the first frame, a sender that
// restarted) the damaged frames and garbage runs met since the previous frame count, one each.
class Deframer
{
public:
    // Frames larger than this (header included) are skipped without waiting for their bytes.
    explicit Deframer(uint64_t max_frame_size = kMaxFrameSize) : max_frame_size_(max_frame_size) {}

    // The next `size` bytes of the stream, before they are queued. Notes the stream's prefix
    // checksum at the start of the body and at the end of each frame whose header checks.
    void received(const uint8_t* bytes, size_t size);

    template <typename Bytes, typename Deliver> void drain(Bytes& bytes, Deliver&& deliver);

    // The bytes left can never become a frame (end of stream, a discontinuity): skips them.
    template <typename Bytes> void discard(Bytes& bytes);

    // Nothing follows (end of stream): the losses met since the last frame count as drops.
    void end();

    // Forgets the previous frame, pending losses and the bytes queued (a new stream, the queue
    // emptied), keeping the counts.
    void restart();

    const DeframeStats& stats() const { return stats_; }
    uint64_t max_frame_size() const { return max_frame_size_; }

    // Bytes the queue must hold before drain() can do anything: the size of the frame whose
    // header checked and whose body is still coming, else 0. A receiver may skip drain() until
    // then (a frame of megabytes arrives in thousands of packets).
    uint64_t wanted() const { return wanted_; }

private:
    // The prefix checksum P(position): CRC-32 of the stream's first `position` bytes.
    struct Checkpoint
    {
        uint64_t position;
        uint32_t crc;
    };

    void skip_garbage(size_t size);
    void damaged();
    void refused(uint64_t size);
    void delivered(const Frame& frame);
    void heartbeat();
    template <typename Bytes> void skip(Bytes& bytes, size_t size);
    // Whether the body of the frame at the queue's head, announced by `header`, checks.
    bool body_checks(const Header& header);
    // Extends the prefix checksum to `position` over `bytes` (the stream's bytes from
    // `chunk_start` on), noting it at the frame ends it passes.
    void checksum_to(uint64_t position, const uint8_t* bytes, uint64_t chunk_start);
    void forget_before(uint64_t position);

    uint64_t max_frame_size_;
    DeframeStats stats_;
    uint64_t wanted_ = 0;
    std::optional<uint64_t> last_sequence_;
    uint64_t losses_since_last_ = 0;
    // Skipping bytes that belong to a loss already counted (a garbage run, a damaged frame).
    bool in_loss_ = false;

    // Positions are counted from the first byte received.
    uint64_t received_ = 0; // bytes received, all of them in prefix_crc_
    uint64_t consumed_ = 0; // bytes the queue no longer holds: its head is at this position
    uint32_t prefix_crc_ = 0;
    // The last bytes received (fewer than a header), for a header that arrives in two pieces.
    std::vector<uint8_t> tail_;
    // In increasing position: where a header that checks ends, and where its frame ends.
    std::deque<Checkpoint> checkpoints_;
    // Frame ends not yet received, nearest first.
    std::priority_queue<uint64_t, std::vector<uint64_t>, std::greater<>> frame_ends_;
};

template <typename Bytes> void Deframer::skip(Bytes& bytes, size_t size)
{
    bytes.skip(size);
    consumed_ += size;
}

template <typename Bytes, typename Deliver> void Deframer::drain(Bytes& bytes, Deliver&& deliver)
{
    wanted_ = 0;
    if (received_ - consumed_ != bytes.available())
        throw std::logic_error("the stream's queue holds bytes Deframer::received() never saw");
    // Every pass consumes at least one byte, or returns.
    while (bytes.available() >= sizeof kMagic) {
        const auto magic = bytes.find_magic();
        if (!magic) {
            // The last bytes may be the start of a magic.
            const size_t garbage = bytes.available() - (sizeof kMagic - 1);
            skip_garbage(garbage);
            skip(bytes, garbage);
            break;
        }
        if (*magic > 0) {
            skip_garbage(*magic);
            skip(bytes, *magic);
        }
        if (bytes.available() < kHeaderSize)
            break;
        uint8_t raw[kHeaderSize];
        bytes.copy(kHeaderSize, raw);
        std::string problem;
        stats_.bytes_checksummed += plausible_header(raw) ? kHeaderSize : 0;
        uint16_t unreadable = 0;
        const auto header = decode_header(raw, problem, &unreadable);
        if (!header) {
            if (unreadable) {
                ++stats_.unreadable_version;
                stats_.last_unreadable_version = unreadable;
            }
            skip_garbage(1);
            skip(bytes, 1);
            continue;
        }
        const uint64_t size = header->frame_size();
        if (size > max_frame_size_) {
            ++stats_.frames_too_large;
            damaged();
            stats_.bytes_skipped += 1;
            skip(bytes, 1);
            continue;
        }
        if (bytes.available() < size) {
            wanted_ = size;
            break;
        }
        if (!body_checks(*header)) {
            // A frame may begin inside this one: look from its second byte on.
            ++stats_.frames_damaged;
            damaged();
            stats_.bytes_skipped += 1;
            skip(bytes, 1);
            continue;
        }
        auto taken = bytes.take(size_t(size));
        consumed_ += size;
        auto frame = decode_checked_frame(*header, taken.data(), problem);
        if (!frame) {
            // Its checksums hold: the sender wrote this frame as it is, nothing began inside it.
            ++stats_.frames_damaged;
            damaged();
            stats_.bytes_skipped += size;
            continue;
        }
        if (frame->kind == RecordKind::Heartbeat) {
            deliver(static_cast<const Frame&>(*frame), taken);
            heartbeat();
            continue;
        }
        const Delivery delivery = deliver(static_cast<const Frame&>(*frame), taken);
        if (delivery == Delivery::Refused || delivery == Delivery::Damaged) {
            stats_.frames_damaged += delivery == Delivery::Damaged ? 1 : 0;
            refused(size);
            continue;
        }
        delivered(*frame);
        if (delivery == Delivery::Stop)
            break;
    }
    forget_before(consumed_);
}

template <typename Bytes> void Deframer::discard(Bytes& bytes)
{
    wanted_ = 0;
    const size_t left = bytes.available();
    if (left == 0)
        return;
    bool cut_short = false;
    if (left >= kHeaderSize) {
        uint8_t raw[kHeaderSize];
        std::string problem;
        bytes.copy(kHeaderSize, raw);
        cut_short = decode_header(raw, problem).has_value();
    }
    if (cut_short) {
        ++stats_.frames_damaged;
        damaged();
        stats_.bytes_skipped += left;
    } else {
        skip_garbage(left);
    }
    skip(bytes, left);
    in_loss_ = false;
    // A header cannot continue across a discontinuity.
    tail_.clear();
    forget_before(consumed_);
}

} // namespace pvshm::stream
