// SPDX-License-Identifier: LGPL-2.1-or-later
// libFuzzer target: the input is what a pvshmdepay receives from the network, cut into frames by
// the same pvshm::stream::Deframer the element runs (over a byte queue of its own instead of a
// GstAdapter) and checked by decode_header/decode_frame.
//
// Input: one mode byte, then the received bytes.
//   bit 0 set    checksums are made right for the fuzzer, so that it gets past them: at every
//                magic whose header fits, the body checksum (when the frame it announces fits)
//                and the header checksum are computed anew;
//   bits 1..3    the size of the pieces the bytes arrive in: 1, 7, 64, 100, 1316, 4096, 65536 or
//                all at once;
//   bit 4 set    every third frame is refused, as caps the element cannot output would be.
// Heartbeats are delivered as they come (never refused) and must encode back into themselves.
// Every frame delivered must lie whole in what was received, and its facts must encode back
// into the same header; the counts must add up; the checksum work must stay within 25 bytes per
// byte received. Never crash, hang or leak. Built by
// scripts/fuzz.sh (PVSHM_FUZZ_TARGET=stream); replayed on tests/fuzz/corpus-stream by
// fuzz_stream_replay.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
#include <zlib.h>

#include "stream_format.hpp"

namespace {

namespace stream = pvshm::stream;

constexpr uint8_t kModeFixChecksums = 1 << 0;
constexpr uint8_t kModeRefuseSome = 1 << 4;
constexpr size_t kPieceSizes[] = {1, 7, 64, 100, 1316, 4096, 65536, SIZE_MAX};

[[noreturn]] void broken(const char* what)
{
    std::fprintf(stderr, "fuzz_stream: %s\n", what);
    std::abort();
}

// A byte queue over a vector: what the Deframer expects of a GstAdapter.
class QueueBytes
{
public:
    struct Taken
    {
        std::vector<uint8_t> bytes;
        const uint8_t* data() const { return bytes.data(); }
        size_t size() const { return bytes.size(); }
    };

    void append(const uint8_t* data, size_t size)
    {
        bytes_.insert(bytes_.end(), data, data + size);
    }
    size_t available() const { return bytes_.size() - head_; }
    std::optional<size_t> find_magic() const
    {
        return stream::find_magic(bytes_.data() + head_, available());
    }
    void copy(size_t size, uint8_t* out) const
    {
        check(size);
        std::memcpy(out, bytes_.data() + head_, size);
    }
    void skip(size_t size)
    {
        check(size);
        head_ += size;
    }
    Taken take(size_t size)
    {
        check(size);
        Taken taken{{bytes_.begin() + head_, bytes_.begin() + head_ + size}};
        head_ += size;
        return taken;
    }

private:
    void check(size_t size) const
    {
        if (size > available())
            broken("read beyond the bytes received");
    }

    std::vector<uint8_t> bytes_;
    size_t head_ = 0;
};

uint32_t crc_of(const uint8_t* bytes, size_t size)
{
    return uint32_t(crc32_z(0, bytes, size));
}

void fix_checksums(std::vector<uint8_t>& bytes)
{
    for (size_t at = 0; at + stream::kHeaderSize <= bytes.size(); ++at) {
        if (std::memcmp(bytes.data() + at, stream::kMagic, sizeof stream::kMagic) != 0)
            continue;
        stream::FrameHeader header;
        std::memcpy(&header, bytes.data() + at, sizeof header);
        const uint64_t body = uint64_t{header.caps_length} + header.camera_id_length +
                              header.metadata_length + header.payload_length;
        if (body <= bytes.size() - at - stream::kHeaderSize)
            header.body_crc = crc_of(bytes.data() + at + stream::kHeaderSize, size_t(body));
        header.header_crc = crc_of(reinterpret_cast<const uint8_t*>(&header),
                                   offsetof(stream::FrameHeader, header_crc));
        std::memcpy(bytes.data() + at, &header, sizeof header);
    }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***)
{
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t mode = data[0];
    std::vector<uint8_t> received(data + 1, data + size);
    if (mode & kModeFixChecksums)
        fix_checksums(received);
    const size_t piece = kPieceSizes[(mode >> 1) & 7];

    QueueBytes queue;
    stream::Deframer deframer;
    uint64_t delivered = 0;
    uint64_t delivered_bytes = 0;
    uint64_t offered = 0;
    const auto deliver = [&](const stream::Frame& frame, QueueBytes::Taken& taken) {
        if (frame.kind == stream::RecordKind::Heartbeat) {
            const auto again =
                stream::encode_heartbeat(frame.facts.flags & stream::kFlagWriterAlive,
                                         frame.facts.sequence, frame.facts.realtime_ns);
            if (taken.size() != stream::kHeaderSize || frame.payload_size != 0 ||
                // Every field but the flags (unknown bits are ignored) and the header's checksum.
                std::memcmp(again.data() + 12, taken.data() + 12,
                            offsetof(stream::FrameHeader, header_crc) - 12) != 0)
                broken("a heartbeat that does not encode back into its header");
            ++delivered;
            delivered_bytes += taken.size();
            return stream::Delivery::Delivered;
        }
        if (frame.payload_offset + frame.payload_size != taken.size() || frame.payload_size == 0 ||
            frame.caps.empty() || frame.caps.size() > stream::kMaxCapsLength ||
            frame.facts.camera_id.size() > stream::kMaxCameraIdLength)
            broken("a frame that does not fit its bounds");
        // The facts encode back into the header that was received.
        const auto prefix = stream::encode_frame_prefix(
            frame.facts, frame.caps, taken.data() + frame.payload_offset, frame.payload_size);
        std::string problem;
        const auto again = stream::decode_header(prefix.data(), problem);
        const auto first = stream::decode_header(taken.data(), problem);
        if (!again || !first || again->sequence != first->sequence ||
            again->caps_length != first->caps_length || again->flags != first->flags ||
            again->payload_length != first->payload_length ||
            again->realtime_ns != first->realtime_ns || again->duration_ns != first->duration_ns ||
            again->encoding != first->encoding || again->bit_depth != first->bit_depth)
            broken("facts that do not encode back into their header");
        if ((mode & kModeRefuseSome) && ++offered % 3 == 0)
            return stream::Delivery::Refused;
        ++delivered;
        delivered_bytes += taken.size();
        return stream::Delivery::Delivered;
    };
    for (size_t at = 0; at < received.size(); at += piece) {
        const size_t length = std::min(piece, received.size() - at);
        deframer.received(received.data() + at, length);
        queue.append(received.data() + at, length);
        // As pvshmdepay does: nothing to do until the frame in progress can be complete.
        if (queue.available() < deframer.wanted())
            continue;
        deframer.drain(queue, deliver);
    }
    deframer.discard(queue);
    deframer.end();

    const stream::DeframeStats& stats = deframer.stats();
    if (stats.frames + stats.heartbeats != delivered)
        broken("frames counted differ from frames delivered");
    if (queue.available() != 0 || stats.bytes_skipped + delivered_bytes != received.size())
        broken("bytes neither delivered nor skipped");
    // The parser's work is linear in what it received, whatever that is (a header every 64
    // bytes inside a damaged frame once cost the square of the size).
    if (stats.bytes_checksummed > 25 * received.size())
        broken("more checksum work than 25 bytes per byte received");
    return 0;
}
