// SPDX-License-Identifier: LGPL-2.1-or-later
// Writes the seeds of tests/fuzz/corpus-stream: streams as pvshmpay writes them and as a network
// damages them, each behind the mode byte fuzz_stream.cpp reads.
//   ninja -C build tests/fuzz/make_stream_corpus &&
//       build/tests/fuzz/make_stream_corpus tests/fuzz/corpus-stream
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>
#include <zlib.h>

#include "stream_format.hpp"

namespace {

namespace stream = pvshm::stream;
using Bytes = std::vector<uint8_t>;

constexpr uint8_t kFixChecksums = 1 << 0;
constexpr uint8_t kRefuseSome = 1 << 4;
uint8_t pieces(uint8_t selector)
{
    return uint8_t(selector << 1);
}

constexpr const char* kGrayCaps = "video/x-raw, format=(string)GRAY8, width=(int)4, "
                                  "height=(int)2, framerate=(fraction)30/1";

// Rewrites the version of the header at `at` (and its checksum).
void set_version(Bytes& bytes, uint16_t version, size_t at = 0)
{
    stream::FrameHeader header;
    std::memcpy(&header, bytes.data() + at, sizeof header);
    header.version = version;
    header.header_crc = uint32_t(crc32_z(0, reinterpret_cast<const uint8_t*>(&header),
                                         offsetof(stream::FrameHeader, header_crc)));
    std::memcpy(bytes.data() + at, &header, sizeof header);
}

// A frame as pvshmpay writes it (version 3); `version` 1 or 2: as a sender of that version did
// (the seeds written before version 3 stay as they were).
Bytes frame(uint64_t sequence, const char* caps = kGrayCaps, size_t payload_size = 8,
            pvshm::UserMetadata metadata = {}, std::string camera_id = "", uint8_t bit_depth = 0,
            uint16_t version = 0, stream::Encoding encoding = stream::Encoding::Raw)
{
    stream::FrameFacts facts;
    facts.bit_depth = bit_depth;
    facts.encoding = encoding;
    facts.sequence = sequence;
    facts.flags = sequence == 1 ? stream::kFlagSenderStart : 0;
    facts.realtime_ns = 1'700'000'000'000'000'000 + int64_t(sequence) * 33'333'333;
    facts.duration_ns = 33'333'333;
    facts.metadata = std::move(metadata);
    facts.camera_id = std::move(camera_id);
    Bytes payload(payload_size);
    for (size_t i = 0; i < payload_size; ++i)
        payload[i] = uint8_t(sequence + i);
    Bytes bytes = stream::encode_frame_prefix(facts, caps, payload.data(), payload.size());
    bytes.insert(bytes.end(), payload.begin(), payload.end());
    set_version(bytes, version ? version : bit_depth ? 2 : 1);
    return bytes;
}

Bytes frame_v3(uint64_t sequence, stream::Encoding encoding = stream::Encoding::Raw,
               const char* caps = kGrayCaps, size_t payload_size = 8)
{
    return frame(sequence, caps, payload_size, {}, "", 0, stream::kVersion, encoding);
}

Bytes garbage(size_t size)
{
    Bytes bytes(size);
    for (size_t i = 0; i < size; ++i)
        bytes[i] = uint8_t(i * 31 + 7);
    std::memcpy(bytes.data() + size / 2, stream::kMagic, sizeof stream::kMagic);
    return bytes;
}

void append(Bytes& to, const Bytes& bytes, size_t from = 0, size_t size = SIZE_MAX)
{
    size = std::min(size, bytes.size() - from);
    to.insert(to.end(), bytes.begin() + from, bytes.begin() + from + size);
}

bool write(const std::string& directory, const char* name, uint8_t mode, const Bytes& bytes)
{
    std::ofstream out(directory + "/" + name, std::ios::binary);
    out.put(char(mode));
    out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    return bool(out);
}

} // namespace

int main(int argc, char** argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s DIRECTORY\n", argv[0]);
        return 2;
    }
    const std::string dir = argv[1];
    bool ok = true;

    Bytes clean;
    for (uint64_t sequence = 1; sequence <= 3; ++sequence)
        append(clean, frame(sequence));
    ok &= write(dir, "three-frames", 0, clean);
    ok &= write(dir, "three-frames-bytewise", pieces(0), clean);
    ok &= write(dir, "three-frames-refused", pieces(4) | kRefuseSome, clean);

    Bytes facts;
    append(facts,
           frame(5, kGrayCaps, 8,
                 {{"serial", std::string("S-5")}, {"stamp", int64_t{5}}, {"gain", 5.5}}, "line-3"));
    append(facts, frame(6, "image/jpeg, width=(int)4, height=(int)2", 40, {}, "line-3"));
    ok &= write(dir, "metadata-camera-jpeg", kFixChecksums | pieces(2), facts);

    // Version 2 (a bit depth) between version 1 frames.
    Bytes versions;
    append(versions, frame(1));
    append(versions, frame(2, "video/x-raw, format=(string)GRAY16_LE, width=(int)4, height=(int)2",
                           16, {}, "", 12));
    append(versions, frame(3));
    ok &= write(dir, "gray16-bit-depth-version-2", pieces(5), versions);

    Bytes noisy;
    append(noisy, garbage(90));
    append(noisy, frame(1));
    append(noisy, garbage(200));
    append(noisy, frame(2));
    ok &= write(dir, "garbage-between", pieces(1), noisy);

    const Bytes big =
        frame(8, "video/x-raw, format=(string)GRAY8, width=(int)40, height=(int)25", 1000);
    Bytes truncated;
    append(truncated, frame(7));
    append(truncated, big, 0, big.size() / 2);
    append(truncated, big);
    append(truncated, frame(9));
    ok &= write(dir, "truncated-then-whole", pieces(3), truncated);

    Bytes joined;
    append(joined, big, 300);
    append(joined, frame(9));
    ok &= write(dir, "joined-mid-frame", pieces(4), joined);

    // Checksums made right by the fuzz target over what a sender would never write.
    Bytes out_of_bounds = frame(2);
    stream::FrameHeader header;
    std::memcpy(&header, out_of_bounds.data(), sizeof header);
    header.payload_length = stream::kMaxPayloadLength + 1;
    std::memcpy(out_of_bounds.data(), &header, sizeof header);
    append(out_of_bounds, frame(3));
    ok &= write(dir, "payload-length-out-of-bounds", kFixChecksums, out_of_bounds);

    Bytes bad_json = frame(4, kGrayCaps, 8, {{"k", std::string("vvvvvv")}});
    const char* json = "{\"k\":[[[[1e300]]]],\"\":1}";
    std::memcpy(&header, bad_json.data(), sizeof header);
    const size_t at = stream::kHeaderSize + header.caps_length + header.camera_id_length;
    bad_json.erase(bad_json.begin() + at, bad_json.begin() + at + header.metadata_length);
    bad_json.insert(bad_json.begin() + at, json, json + std::strlen(json));
    header.metadata_length = uint32_t(std::strlen(json));
    std::memcpy(bad_json.data(), &header, sizeof header);
    ok &= write(dir, "metadata-not-storable", kFixChecksums, bad_json);

    // The parser's worst case: a header that checks every 64 bytes, each announcing a frame that
    // ends where the bytes end, every body checksum wrong; then a frame. Searching each damaged
    // frame from its second byte on once checksummed the rest of the bytes for every header.
    Bytes nested(16 * 1024);
    for (size_t at = 0; at + 2 * stream::kHeaderSize <= nested.size(); at += 64) {
        Bytes inner = frame(at / 64 + 2, "x", nested.size() - at - stream::kHeaderSize - 1);
        std::memcpy(&header, inner.data(), sizeof header);
        header.body_crc ^= 1;
        header.header_crc = uint32_t(crc32_z(0, reinterpret_cast<const uint8_t*>(&header),
                                             offsetof(stream::FrameHeader, header_crc)));
        std::memcpy(nested.data() + at, &header, sizeof header);
    }
    append(nested, frame(1));
    ok &= write(dir, "nested-headers", pieces(4), nested);

    // Version 3: frames of each encoding, heartbeats between them (a sender whose writer died,
    // then came back), a heartbeat as the first record.
    Bytes v3 = stream::encode_heartbeat(true, 0, 1'700'000'000'000'000'000);
    append(v3, frame_v3(1));
    append(v3, frame_v3(2, stream::Encoding::Jpeg, "image/jpeg, width=(int)4, height=(int)2", 40));
    append(v3, stream::encode_heartbeat(false, 2, 1'700'000'000'500'000'000));
    append(v3, frame_v3(3, stream::Encoding::Zstd, kGrayCaps, 17));
    append(v3, stream::encode_heartbeat(true, 3, 1'700'000'001'000'000'000));
    append(v3, frame(4, kGrayCaps, 8, {{"k", std::string("v")}}, "cam", 0, stream::kVersion));
    ok &= write(dir, "version-3-encodings-and-heartbeats", pieces(3), v3);
    ok &= write(dir, "version-3-bytewise", pieces(0) | kRefuseSome, v3);

    // Versions 1, 2 and 3 in one stream: a sender upgraded while the receiver stayed.
    Bytes mixed;
    append(mixed, frame(1));
    append(mixed, frame_v3(2));
    append(mixed, frame(3, "video/x-raw, format=(string)GRAY16_LE, width=(int)4, height=(int)2", 16,
                        {}, "", 12));
    append(mixed, stream::encode_heartbeat(true, 3, 0));
    ok &= write(dir, "versions-1-2-3-mixed", pieces(2), mixed);

    // A later version (4, and one with a longer header) between frames this receiver reads:
    // skipped and counted, the frames after them delivered.
    Bytes later;
    append(later, frame_v3(1));
    Bytes v4 = frame_v3(2);
    set_version(v4, 4);
    append(later, v4);
    Bytes v9 = frame_v3(3, stream::Encoding::Raw, kGrayCaps, 64);
    stream::FrameHeader longer;
    std::memcpy(&longer, v9.data(), sizeof longer);
    longer.header_length = 128;
    std::memcpy(v9.data(), &longer, sizeof longer);
    set_version(v9, 9);
    append(later, v9);
    append(later, frame_v3(4));
    ok &= write(dir, "later-versions-between-frames", pieces(1), later);

    // Heartbeats whose fields a heartbeat may not have (a length, an encoding): refused.
    Bytes bad_heartbeat = stream::encode_heartbeat(true, 5, 0);
    std::memcpy(&header, bad_heartbeat.data(), sizeof header);
    header.payload_length = 8;
    header.encoding = 2;
    std::memcpy(bad_heartbeat.data(), &header, sizeof header);
    append(bad_heartbeat, Bytes(8, 0x42));
    append(bad_heartbeat, frame_v3(6));
    ok &= write(dir, "heartbeat-with-a-body", kFixChecksums, bad_heartbeat);

    if (!ok) {
        std::fprintf(stderr, "cannot write the corpus into %s\n", dir.c_str());
        return 1;
    }
    return 0;
}
