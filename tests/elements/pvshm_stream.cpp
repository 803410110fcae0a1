// SPDX-License-Identifier: LGPL-2.1-or-later
// pvshmpay and pvshmdepay: every format and its caps across the stream, the frame facts, and a
// depayloader fed garbage, truncated and damaged frames, a stream joined midway and a sender
// that restarted, in pieces of any size.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>
#include <zlib.h>

#include <gst/video/video.h>

#include <pvshm/reader.hpp>

#include "element_support.hpp"
#include "stream_format.hpp"

using namespace pvshm::element_test;
namespace stream = pvshm::stream;

namespace {

using Bytes = std::vector<uint8_t>;

constexpr const char* kGrayCaps = "video/x-raw,format=GRAY8,width=4,height=2,framerate=30/1";
constexpr size_t kGraySize = 8;
constexpr const char* kBigCaps = "video/x-raw,format=GRAY8,width=40,height=100,framerate=30/1";
constexpr size_t kBigSize = 4000;

// Odd sizes so that GStreamer's row and plane padding must be honoured.
const char* const kFormats[] = {
    "video/x-raw,format=RGB,width=321,height=241,framerate=30/1",
    "video/x-raw,format=BGR,width=321,height=241,framerate=30/1",
    "video/x-raw,format=RGBA,width=321,height=241,framerate=30/1",
    "video/x-raw,format=BGRA,width=321,height=241,framerate=30/1",
    "video/x-raw,format=RGBx,width=321,height=241,framerate=30/1",
    "video/x-raw,format=BGRx,width=321,height=241,framerate=30/1",
    "video/x-raw,format=GRAY8,width=321,height=241,framerate=30/1",
    "video/x-raw,format=GRAY16_LE,width=321,height=241,framerate=30/1",
    "video/x-raw,format=NV12,width=321,height=241,framerate=30/1,colorimetry=bt709",
    "video/x-raw,format=I420,width=321,height=241,framerate=30/1,colorimetry=bt601",
    "video/x-raw,format=YUY2,width=321,height=241,framerate=30/1,colorimetry=bt709",
    "video/x-raw,format=UYVY,width=321,height=241,framerate=30/1,colorimetry=bt601",
    "video/x-bayer,format=rggb,width=321,height=241,framerate=30/1",
    "video/x-bayer,format=bggr,width=321,height=241,framerate=30/1",
    "video/x-bayer,format=grbg,width=321,height=241,framerate=30/1",
    "video/x-bayer,format=gbrg,width=321,height=241,framerate=30/1",
    "image/jpeg,width=321,height=241,framerate=30/1",
    "image/png,width=321,height=241,framerate=30/1",
};

GstHarness* pay_harness(const char* caps)
{
    GstHarness* h = gst_harness_new("pvshmpay");
    gst_harness_set_src_caps_str(h, caps);
    return h;
}

GstHarness* depay_harness()
{
    GstHarness* h = gst_harness_new("pvshmdepay");
    gst_harness_set_src_caps_str(h, "application/x-pvshm-stream");
    return h;
}

Bytes bytes_of(GstBuffer* buffer)
{
    Bytes bytes(gst_buffer_get_size(buffer));
    gst_buffer_extract(buffer, 0, bytes.data(), bytes.size());
    return bytes;
}

GstBuffer* buffer_of(const uint8_t* data, size_t size)
{
    GstBuffer* buffer = gst_buffer_new_allocate(nullptr, size, nullptr);
    gst_buffer_fill(buffer, 0, data, size);
    return buffer;
}

// One frame of the stream as a sender writes it.
Bytes crafted_frame(uint64_t sequence, const std::string& caps = kGrayCaps,
                    Bytes payload = Bytes(kGraySize, 0x11), uint32_t flags = 0)
{
    stream::FrameFacts facts;
    facts.sequence = sequence;
    facts.flags = flags;
    facts.realtime_ns = 1'700'000'000'000'000'000 + int64_t(sequence) * 1'000'000;
    facts.duration_ns = 33'333'333;
    std::fill(payload.begin(), payload.end(), uint8_t(sequence));
    Bytes frame = stream::encode_frame_prefix(facts, caps, payload.data(), payload.size());
    frame.insert(frame.end(), payload.begin(), payload.end());
    return frame;
}

Bytes concat(std::initializer_list<Bytes> parts)
{
    Bytes all;
    for (const auto& part : parts)
        all.insert(all.end(), part.begin(), part.end());
    return all;
}

Bytes head(const Bytes& bytes, size_t size)
{
    return Bytes(bytes.begin(), bytes.begin() + size);
}

Bytes tail(const Bytes& bytes, size_t from)
{
    return Bytes(bytes.begin() + from, bytes.end());
}

// Bytes that hold a magic but no frame: what resynchronisation must walk over.
Bytes garbage(size_t size)
{
    Bytes bytes(size);
    for (size_t i = 0; i < size; ++i)
        bytes[i] = uint8_t(i * 37 + 11);
    if (size >= 12)
        std::memcpy(bytes.data() + 4, stream::kMagic, sizeof stream::kMagic);
    return bytes;
}

// Pushes `bytes` in pieces of `piece` bytes; returns the sequence numbers pushed out.
std::vector<uint64_t> depay(GstHarness* h, const Bytes& bytes, size_t piece = 1316)
{
    for (size_t at = 0; at < bytes.size(); at += piece) {
        const size_t size = std::min(piece, bytes.size() - at);
        fail_unless_equals_int(gst_harness_push(h, buffer_of(bytes.data() + at, size)),
                               GST_FLOW_OK);
    }
    std::vector<uint64_t> sequences;
    while (GstBuffer* out = gst_harness_try_pull(h)) {
        sequences.push_back(GST_BUFFER_OFFSET(out));
        gst_buffer_unref(out);
    }
    return sequences;
}

std::vector<uint64_t> sequences(std::initializer_list<uint64_t> list)
{
    return list;
}

void check_stats(GstHarness* h, guint64 frames, guint64 drops, guint64 damaged, guint64 skipped)
{
    fail_unless_equals_uint64(stat_of(h->element, "frames"), frames);
    fail_unless_equals_uint64(stat_of(h->element, "drops"), drops);
    fail_unless_equals_uint64(stat_of(h->element, "frames-damaged"), damaged);
    fail_unless_equals_uint64(stat_of(h->element, "bytes-skipped"), skipped);
}

GstCaps* output_caps(GstHarness* h)
{
    GstCaps* caps = gst_pad_get_current_caps(h->sinkpad);
    fail_unless(caps != nullptr);
    return caps;
}

} // namespace

namespace {

std::string hex_of(const Bytes& bytes)
{
    std::string hex;
    for (uint8_t byte : bytes) {
        char digits[3];
        std::snprintf(digits, sizeof digits, "%02x", byte);
        hex += digits;
    }
    return hex;
}

std::string encoded_hex(const stream::FrameFacts& facts, const char* caps, const Bytes& payload)
{
    Bytes frame = stream::encode_frame_prefix(facts, caps, payload.data(), payload.size());
    frame.insert(frame.end(), payload.begin(), payload.end());
    return hex_of(frame);
}

const Bytes kPinnedPng = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

Bytes bytes_of_hex(const std::string& hex)
{
    Bytes bytes;
    for (size_t at = 0; at + 1 < hex.size(); at += 2)
        bytes.push_back(uint8_t(std::stoi(hex.substr(at, 2), nullptr, 16)));
    return bytes;
}

// Rewrites the version of the frame's header (and its checksum): a sender of that version.
void set_version(Bytes& frame, uint16_t version)
{
    stream::FrameHeader header;
    std::memcpy(&header, frame.data(), sizeof header);
    header.version = version;
    header.header_crc = uint32_t(crc32_z(0, reinterpret_cast<const Bytef*>(&header),
                                         offsetof(stream::FrameHeader, header_crc)));
    std::memcpy(frame.data(), &header, sizeof header);
}

} // namespace

// The wire format, pinned: records encoded by an independent implementation of the layout that
// stream_format.hpp draws (Python's struct and zlib.crc32). A change here is a new stream version.
// A sender writes version 3: a frame, a zstd-encoded frame, a heartbeat.
GST_START_TEST(test_stream_format_is_pinned)
{
    stream::FrameFacts facts;
    facts.flags = stream::kFlagSenderStart;
    facts.sequence = 7;
    facts.realtime_ns = 1'700'000'000'000'000'000;
    facts.duration_ns = 40'000'000;
    facts.camera_id = "cam";
    facts.metadata = {{"k", int64_t{1}}};
    const std::string png = encoded_hex(facts, "image/png", kPinnedPng);
    fail_unless_equals_string(png.c_str(),
                              "5056534603004000010000000900030007000000000000000800000000000000"
                              "070000000000000000002a36fe9c9717005a6202000000005a7427b80106c6e7"
                              "696d6167652f706e6763616d7b226b223a317d89504e470d0a1a0a");

    stream::FrameFacts zstd;
    zstd.sequence = 9;
    zstd.realtime_ns = 1'700'000'000'000'000'000;
    zstd.encoding = stream::Encoding::Zstd;
    const std::string compressed =
        encoded_hex(zstd, "video/x-raw,format=GRAY8,width=2,height=1", {0x28, 0xb5, 0x2f, 0xfd});
    fail_unless_equals_string(compressed.c_str(),
                              "5056534603004000000000002900000000000000000200000400000000000000"
                              "090000000000000000002a36fe9c9717ffffffffffffffff80b91f6ade565e0e"
                              "766964656f2f782d7261772c666f726d61743d47524159382c77696474683d32"
                              "2c6865696768743d3128b52ffd");

    const std::string heartbeat =
        hex_of(stream::encode_heartbeat(true, 42, 1'700'000'000'500'000'000));
    fail_unless_equals_string(heartbeat.c_str(),
                              "5056534603004000020000000000000000000000000001000000000000000000"
                              "2a000000000000000065f753fe9c9717ffffffffffffffff00000000f7ea924d");
}
GST_END_TEST;

// Frames of versions 1 and 2 (what senders wrote before version 3, pinned as they were) are
// read with their facts.
GST_START_TEST(test_depay_reads_versions_1_and_2)
{
    const Bytes version_1 =
        bytes_of_hex("5056534601004000010000000900030007000000000000000800000000000000"
                     "070000000000000000002a36fe9c9717005a6202000000005a7427b8af21ecdc"
                     "696d6167652f706e6763616d7b226b223a317d89504e470d0a1a0a");
    const Bytes version_2 =
        bytes_of_hex("5056534602004000000000002d000300000000000c0000000400000000000000"
                     "090000000000000000002a36fe9c9717ffffffffffffffff1d3dd87e6f90c165"
                     "766964656f2f782d7261772c666f726d61743d4752415931365f4c452c776964"
                     "74683d322c6865696768743d3163616dff0f0100");
    GstHarness* h = depay_harness();
    fail_unless(depay(h, concat({version_1, version_2}), 7) == sequences({7, 9}));
    check_stats(h, 2, 1, 0, 0);
    gst_harness_teardown(h);
}
GST_END_TEST;

// Heartbeats between frames: each one an element message and the stats' last one, neither a
// frame nor a drop, the frames around them delivered and their gaps counted as before.
GST_START_TEST(test_depay_posts_heartbeats)
{
    GstHarness* h = depay_harness();
    GstBus* bus = watch_bus(h->element);
    const Bytes stream_bytes =
        concat({stream::encode_heartbeat(true, 0, 0), crafted_frame(1),
                stream::encode_heartbeat(false, 1, 1'700'000'000'500'000'000), crafted_frame(3),
                stream::encode_heartbeat(true, 3, 1'700'000'001'000'000'000)});
    fail_unless(depay(h, stream_bytes, 100) == sequences({1, 3}));
    check_stats(h, 2, 1, 0, 0);
    fail_unless_equals_uint64(stat_of(h->element, "heartbeats"), 3);
    fail_unless_equals_uint64(stat_of(h->element, "heartbeat-sequence"), 3);
    GstStructure* stats = nullptr;
    g_object_get(h->element, "stats", &stats, nullptr);
    gboolean alive = FALSE;
    fail_unless(gst_structure_get_boolean(stats, "heartbeat-writer-alive", &alive));
    fail_unless(alive);
    gst_structure_free(stats);

    const struct
    {
        gboolean alive;
        guint64 sequence;
        gint64 realtime_ns;
    } expected[] = {
        {TRUE, 0, 0}, {FALSE, 1, 1'700'000'000'500'000'000}, {TRUE, 3, 1'700'000'001'000'000'000}};
    for (const auto& want : expected) {
        GstMessage* message = gst_bus_pop_filtered(bus, GST_MESSAGE_ELEMENT);
        fail_unless(message != nullptr);
        const GstStructure* s = gst_message_get_structure(message);
        fail_unless(gst_structure_has_name(s, "pvshm-heartbeat"));
        gboolean writer_alive = !want.alive;
        guint64 sequence = 0;
        gint64 realtime_ns = -1;
        fail_unless(gst_structure_get_boolean(s, "writer-alive", &writer_alive));
        fail_unless(gst_structure_get_uint64(s, "sequence", &sequence));
        fail_unless(gst_structure_get_int64(s, "realtime-ns", &realtime_ns));
        fail_unless_equals_int(writer_alive, want.alive);
        fail_unless_equals_uint64(sequence, want.sequence);
        fail_unless_equals_int64(realtime_ns, want.realtime_ns);
        gst_message_unref(message);
    }
    teardown_watched(h, bus);
}
GST_END_TEST;

// A stream of a later version (a newer sender) is refused clearly: its frames are skipped and
// counted, one warning per stream names the version received and the versions read, and the
// frames this receiver reads around them go through. Before, such frames were garbage counted
// in silence.
GST_START_TEST(test_depay_refuses_a_later_version_clearly)
{
    GstHarness* h = depay_harness();
    GstBus* bus = watch_bus(h->element);
    Bytes later = crafted_frame(2);
    set_version(later, 4);
    Bytes later_again = crafted_frame(3);
    set_version(later_again, 4);
    fail_unless(depay(h, concat({crafted_frame(1), later, later_again, crafted_frame(4)})) ==
                sequences({1, 4}));
    fail_unless_equals_uint64(stat_of(h->element, "frames-unreadable-version"), 2);
    fail_unless_equals_uint64(stat_of(h->element, "drops"), 2);
    const std::vector<std::string> warnings = warnings_on(bus);
    fail_unless_equals_int(warnings.size(), 1);
    fail_unless_equals_string(warnings[0].c_str(),
                              "Frames skipped: the sender writes stream version 4, this receiver "
                              "reads versions 1 to 3 (update pvshm on this host)");
    teardown_watched(h, bus);
}
GST_END_TEST;

// Every format pvshmsink takes comes out of pvshmpay ! pvshmdepay with its caps and bytes.
GST_START_TEST(test_stream_round_trip_of_every_format)
{
    for (const char* caps_string : kFormats) {
        GstHarness* h = gst_harness_new_parse("pvshmpay ! pvshmdepay");
        gst_harness_set_src_caps_str(h, caps_string);
        const gsize size = frame_layout(caps_string).size;
        GstBuffer* in = pattern_buffer(size, 3);
        const Bytes expected = bytes_of(in);
        fail_unless_equals_int(gst_harness_push(h, in), GST_FLOW_OK);
        GstBuffer* out = gst_harness_pull(h);
        fail_unless(buffer_equals(out, expected.data(), expected.size()), "%s", caps_string);
        GstCaps* sent = gst_caps_from_string(caps_string);
        GstCaps* received = output_caps(h);
        fail_unless(gst_caps_is_equal(sent, received), "%s came out as %" GST_PTR_FORMAT,
                    caps_string, received);
        gst_caps_unref(received);
        gst_caps_unref(sent);
        gst_buffer_unref(out);
        gst_harness_teardown(h);
    }
}
GST_END_TEST;

// The receiver must not guess the colorimetry of YUV frames: the sender writes out what its
// caps imply.
GST_START_TEST(test_stream_writes_out_the_implied_colorimetry)
{
    GstHarness* h = gst_harness_new_parse("pvshmpay ! pvshmdepay");
    const char* caps_string = "video/x-raw,format=I420,width=64,height=48,framerate=30/1";
    gst_harness_set_src_caps_str(h, caps_string);
    fail_unless_equals_int(gst_harness_push(h, pattern_buffer(frame_layout(caps_string).size)),
                           GST_FLOW_OK);
    gst_buffer_unref(gst_harness_pull(h));
    GstCaps* received = output_caps(h);
    fail_unless_equals_string(
        gst_structure_get_string(gst_caps_get_structure(received, 0), "colorimetry"), "bt601");
    GstCaps* sent = gst_caps_from_string(caps_string);
    fail_unless(gst_caps_is_subset(received, sent));
    gst_caps_unref(sent);
    gst_caps_unref(received);
    gst_harness_teardown(h);
}
GST_END_TEST;

// Caps that change mid-stream change downstream with the first frame that has them.
GST_START_TEST(test_stream_follows_caps_changes)
{
    GstHarness* h = gst_harness_new_parse("pvshmpay ! pvshmdepay");
    const char* first = "video/x-raw,format=GRAY8,width=8,height=4,framerate=30/1";
    const char* second = "video/x-raw,format=BGR,width=6,height=2,framerate=15/1";
    for (const char* caps_string : {first, second}) {
        gst_harness_set_src_caps_str(h, caps_string);
        fail_unless_equals_int(gst_harness_push(h, pattern_buffer(frame_layout(caps_string).size)),
                               GST_FLOW_OK);
        GstBuffer* out = gst_harness_pull(h);
        fail_unless_equals_uint64(gst_buffer_get_size(out), frame_layout(caps_string).size);
        GstCaps* sent = gst_caps_from_string(caps_string);
        GstCaps* received = output_caps(h);
        fail_unless(gst_caps_is_equal(sent, received));
        gst_caps_unref(received);
        gst_caps_unref(sent);
        gst_buffer_unref(out);
    }
    gst_harness_teardown(h);
}
GST_END_TEST;

// Rows padded by upstream (a GstVideoMeta with wider strides) go out in the caps' layout.
GST_START_TEST(test_pay_repacks_padded_rows)
{
    GstHarness* h = gst_harness_new_parse("pvshmpay ! pvshmdepay");
    const char* caps_string = "video/x-raw,format=GRAY8,width=5,height=3,framerate=30/1";
    gst_harness_set_src_caps_str(h, caps_string);
    const gsize padded_stride = 16;
    GstBuffer* in = pattern_buffer(padded_stride * 3);
    gsize offset[GST_VIDEO_MAX_PLANES] = {0};
    gint stride[GST_VIDEO_MAX_PLANES] = {gint(padded_stride)};
    gst_buffer_add_video_meta_full(in, GST_VIDEO_FRAME_FLAG_NONE, GST_VIDEO_FORMAT_GRAY8, 5, 3, 1,
                                   offset, stride);
    const Bytes padded = bytes_of(in);
    fail_unless_equals_int(gst_harness_push(h, in), GST_FLOW_OK);
    GstBuffer* out = gst_harness_pull(h);
    // GRAY8 rows of 5 pixels are 8 bytes apart in GStreamer's own layout.
    fail_unless_equals_uint64(gst_buffer_get_size(out), 8 * 3);
    const Bytes packed = bytes_of(out);
    for (size_t row = 0; row < 3; ++row)
        fail_unless(std::memcmp(packed.data() + row * 8, padded.data() + row * padded_stride, 5) ==
                    0);
    gst_buffer_unref(out);
    gst_harness_teardown(h);
}
GST_END_TEST;

namespace {

// The facts of 7 across pvshmpay encoding=`encoding` ! pvshmdepay.
void check_facts_carried(const char* encoding)
{
    const std::string pipeline = std::string("pvshmpay encoding=") + encoding + " ! pvshmdepay";
    GstHarness* h = gst_harness_new_parse(pipeline.c_str());
    gst_harness_set_src_caps_str(h, kGrayCaps);
    GstBuffer* in = pattern_buffer(kGraySize);
    GST_BUFFER_PTS(in) = 0;
    GST_BUFFER_DURATION(in) = 40 * GST_MSECOND;
    GstCaps* unix_time = gst_caps_from_string("timestamp/x-unix");
    gst_buffer_add_reference_timestamp_meta(in, unix_time, 1'700'000'000'123'456'789,
                                            GST_CLOCK_TIME_NONE);
    GstCustomMeta* meta = gst_buffer_add_custom_meta(in, "GstPvShmFrameMeta");
    fail_unless(meta != nullptr);
    gst_structure_set(gst_custom_meta_get_structure(meta), "sequence", G_TYPE_UINT64, guint64{42},
                      "camera-id", G_TYPE_STRING, "line-3", "part", G_TYPE_STRING, "A-17", "count",
                      G_TYPE_INT64, gint64{-42}, "score", G_TYPE_DOUBLE, 0.75, nullptr);
    fail_unless_equals_int(gst_harness_push(h, in), GST_FLOW_OK);

    GstBuffer* out = gst_harness_pull(h);
    fail_unless_equals_uint64(GST_BUFFER_OFFSET(out), 42);
    GstCaps* caps = output_caps(h);
    fail_unless(
        gst_structure_has_name(gst_caps_get_structure(caps, 0),
                               std::string(encoding) == "jpeg" ? "image/jpeg" : "video/x-raw"),
        "%s: %" GST_PTR_FORMAT, encoding, caps);
    gst_caps_unref(caps);
    fail_unless_equals_uint64(GST_BUFFER_OFFSET_END(out), 43);
    fail_unless_equals_uint64(GST_BUFFER_DURATION(out), 40 * GST_MSECOND);
    fail_unless(GST_BUFFER_PTS_IS_VALID(out));
    const GstReferenceTimestampMeta* realtime =
        gst_buffer_get_reference_timestamp_meta(out, unix_time);
    gst_caps_unref(unix_time);
    fail_unless(realtime != nullptr);
    fail_unless_equals_uint64(realtime->timestamp, 1'700'000'000'123'456'789);
    GstCustomMeta* facts = gst_buffer_get_custom_meta(out, "GstPvShmFrameMeta");
    fail_unless(facts != nullptr);
    const GstStructure* s = gst_custom_meta_get_structure(facts);
    guint64 sequence = 0;
    fail_unless(gst_structure_get_uint64(s, "sequence", &sequence));
    fail_unless_equals_uint64(sequence, 42);
    fail_unless_equals_string(gst_structure_get_string(s, "camera-id"), "line-3");
    fail_unless_equals_string(gst_structure_get_string(s, "part"), "A-17");
    gint64 count = 0;
    fail_unless(gst_structure_get_int64(s, "count", &count));
    fail_unless_equals_int64(count, -42);
    gdouble score = 0;
    fail_unless(gst_structure_get_double(s, "score", &score));
    fail_unless(score == 0.75);
    fail_unless_equals_int(gst_structure_n_fields(s), 5);
    gst_buffer_unref(out);
    gst_harness_teardown(h);
}

} // namespace

// Sequence number, realtime capture time, duration, camera id and user metadata travel with the
// frame in every encoding; the sequence number becomes the buffer offset.
GST_START_TEST(test_stream_carries_the_frame_facts)
{
    for (const char* encoding : {"raw", "jpeg", "lossless"})
        check_facts_carried(encoding);
}
GST_END_TEST;

// Frames without a pvshm sequence number are counted from 1; PTS strictly increase.
GST_START_TEST(test_pay_counts_frames_without_a_sequence)
{
    GstHarness* h = gst_harness_new_parse("pvshmpay ! pvshmdepay");
    gst_harness_set_src_caps_str(h, kGrayCaps);
    GstClockTime last_pts = GST_CLOCK_TIME_NONE;
    for (guint64 expected = 1; expected <= 5; ++expected) {
        GstBuffer* in = pattern_buffer(kGraySize);
        GST_BUFFER_PTS(in) = 0; // even equal input times give increasing output times
        fail_unless_equals_int(gst_harness_push(h, in), GST_FLOW_OK);
        GstBuffer* out = gst_harness_pull(h);
        fail_unless_equals_uint64(GST_BUFFER_OFFSET(out), expected);
        fail_unless_equals_int(GST_BUFFER_IS_DISCONT(out), expected == 1);
        fail_unless(GST_BUFFER_PTS_IS_VALID(out));
        if (GST_CLOCK_TIME_IS_VALID(last_pts))
            fail_unless(GST_BUFFER_PTS(out) > last_pts);
        last_pts = GST_BUFFER_PTS(out);
        gst_buffer_unref(out);
    }
    gst_harness_teardown(h);
}
GST_END_TEST;

// The payloader's output is the stream the header file draws, frame after frame.
GST_START_TEST(test_pay_output_is_the_documented_format)
{
    GstHarness* h = pay_harness(kGrayCaps);
    GstBuffer* in = pattern_buffer(kGraySize, 5);
    const Bytes pixels = bytes_of(in);
    fail_unless_equals_int(gst_harness_push(h, in), GST_FLOW_OK);
    GstBuffer* out = gst_harness_pull(h);
    const Bytes frame = bytes_of(out);
    gst_buffer_unref(out);
    std::string problem;
    const auto header = stream::decode_header(frame.data(), problem);
    fail_unless(header.has_value(), "%s", problem.c_str());
    fail_unless_equals_uint64(header->frame_size(), frame.size());
    fail_unless_equals_uint64(header->sequence, 1);
    fail_unless(header->flags & stream::kFlagSenderStart);
    fail_unless(header->realtime_ns > 0);
    const auto decoded = stream::decode_frame(*header, frame.data(), problem);
    fail_unless(decoded.has_value(), "%s", problem.c_str());
    fail_unless(std::memcmp(frame.data() + decoded->payload_offset, pixels.data(), pixels.size()) ==
                0);
    GstCaps* sent = gst_caps_from_string(kGrayCaps);
    GstCaps* carried = gst_caps_from_string(decoded->caps.c_str());
    fail_unless(gst_caps_is_equal(sent, carried));
    gst_caps_unref(carried);
    gst_caps_unref(sent);
    fail_unless_equals_uint64(stat_of(h->element, "frames"), 1);
    fail_unless_equals_uint64(stat_of(h->element, "bytes"), frame.size());
    gst_harness_teardown(h);
}
GST_END_TEST;

// Caps longer than a stream carries are an element error, not a truncated string.
GST_START_TEST(test_pay_refuses_caps_too_long)
{
    GstHarness* h = gst_harness_new("pvshmpay");
    const std::string caps = std::string(kGrayCaps) + ",note=(string)" + std::string(1100, 'x');
    gst_harness_set_src_caps_str(h, caps.c_str());
    fail_unless_equals_int(gst_harness_push(h, pattern_buffer(kGraySize)), GST_FLOW_NOT_NEGOTIATED);
    gst_harness_teardown(h);
}
GST_END_TEST;

// Pieces of any size make the same frames.
GST_START_TEST(test_depay_takes_pieces_of_any_size)
{
    const Bytes all = concat({crafted_frame(1), crafted_frame(2), crafted_frame(3)});
    for (size_t piece : {size_t(1), size_t(7), size_t(63), size_t(64), size_t(1316), all.size()}) {
        GstHarness* h = depay_harness();
        fail_unless(depay(h, all, piece) == sequences({1, 2, 3}), "pieces of %zu", piece);
        check_stats(h, 3, 0, 0, 0);
        fail_unless_equals_uint64(stat_of(h->element, "bytes-received"), all.size());
        gst_harness_teardown(h);
    }
}
GST_END_TEST;

// Bytes between frames (with a magic among them) are skipped; no frame was lost.
GST_START_TEST(test_depay_skips_garbage_between_frames)
{
    GstHarness* h = depay_harness();
    const Bytes junk = garbage(300);
    fail_unless(depay(h, concat({crafted_frame(1), junk, crafted_frame(2), junk, crafted_frame(3)}),
                      100) == sequences({1, 2, 3}));
    check_stats(h, 3, 0, 0, 2 * junk.size());
    gst_harness_teardown(h);
}
GST_END_TEST;

// A frame cut short is not delivered; the one that follows inside its announced length is.
GST_START_TEST(test_depay_drops_a_truncated_frame_whole)
{
    GstHarness* h = depay_harness();
    const Bytes second = crafted_frame(2, kBigCaps, Bytes(kBigSize));
    const size_t cut = second.size() / 2;
    fail_unless(depay(h, concat({crafted_frame(1), head(second, cut),
                                 crafted_frame(3, kBigCaps, Bytes(kBigSize)), crafted_frame(4)})) ==
                sequences({1, 3, 4}));
    check_stats(h, 3, 1, 1, cut);
    gst_harness_teardown(h);
}
GST_END_TEST;

// One flipped bit in the pixels loses that frame and no other.
GST_START_TEST(test_depay_drops_a_damaged_frame)
{
    GstHarness* h = depay_harness();
    Bytes second = crafted_frame(2);
    second[second.size() - 3] ^= 0x10;
    fail_unless(depay(h, concat({crafted_frame(1), second, crafted_frame(3)})) ==
                sequences({1, 3}));
    check_stats(h, 2, 1, 1, second.size());
    gst_harness_teardown(h);
}
GST_END_TEST;

// A damaged header is no frame at all: its lengths are not trusted.
GST_START_TEST(test_depay_skips_a_damaged_header)
{
    GstHarness* h = depay_harness();
    Bytes second = crafted_frame(2);
    second[offsetof(stream::FrameHeader, payload_length) + 3] ^= 0x01;
    fail_unless(depay(h, concat({crafted_frame(1), second, crafted_frame(3)})) ==
                sequences({1, 3}));
    check_stats(h, 2, 1, 0, second.size());
    gst_harness_teardown(h);
}
GST_END_TEST;

// A header whose checksum holds but whose payload length is beyond the bound is refused at
// once: the receiver does not wait for a gigabyte that will not come.
GST_START_TEST(test_depay_never_waits_for_an_out_of_bounds_length)
{
    GstHarness* h = depay_harness();
    Bytes bogus = crafted_frame(2);
    stream::FrameHeader header;
    std::memcpy(&header, bogus.data(), sizeof header);
    header.payload_length = stream::kMaxPayloadLength + 1;
    header.header_crc = uint32_t(crc32_z(0, reinterpret_cast<const Bytef*>(&header),
                                         offsetof(stream::FrameHeader, header_crc)));
    std::memcpy(bogus.data(), &header, sizeof header);
    const Bytes third = crafted_frame(3);
    fail_unless(depay(h, concat({crafted_frame(1), head(bogus, stream::kHeaderSize), third})) ==
                sequences({1, 3}));
    check_stats(h, 2, 1, 0, stream::kHeaderSize);
    gst_harness_teardown(h);
}
GST_END_TEST;

// Joining mid-stream (a receiver connecting to a running sender): the partial frame is skipped
// and counted, the next frame is delivered.
GST_START_TEST(test_depay_joins_mid_stream)
{
    GstHarness* h = depay_harness();
    const Bytes first = crafted_frame(7, kBigCaps, Bytes(kBigSize));
    const size_t joined = 1000;
    fail_unless(depay(h, concat({tail(first, joined), crafted_frame(8), crafted_frame(9)})) ==
                sequences({8, 9}));
    check_stats(h, 2, 1, 0, first.size() - joined);
    gst_harness_teardown(h);
}
GST_END_TEST;

// Gaps in the sender's sequence numbers are drops, except across a sender's start.
GST_START_TEST(test_depay_counts_sequence_gaps)
{
    GstHarness* h = depay_harness();
    const Bytes restarted = crafted_frame(1, kGrayCaps, Bytes(kGraySize), stream::kFlagSenderStart);
    fail_unless(depay(h, concat({crafted_frame(10), crafted_frame(11), crafted_frame(15), restarted,
                                 crafted_frame(2)})) == sequences({10, 11, 15, 1, 2}));
    check_stats(h, 5, 3, 0, 0);
    gst_harness_teardown(h);
}
GST_END_TEST;

// Frames whose caps this element cannot output, or whose size disagrees with their caps, are
// skipped (a warning once) and the stream goes on.
GST_START_TEST(test_depay_refuses_frames_it_cannot_output)
{
    GstHarness* h = depay_harness();
    const Bytes audio = crafted_frame(2, "audio/x-raw,format=S16LE,rate=48000,channels=1");
    const Bytes short_gray = crafted_frame(3, kGrayCaps, Bytes(kGraySize - 1));
    fail_unless(depay(h, concat({crafted_frame(1), audio, short_gray, crafted_frame(4)})) ==
                sequences({1, 4}));
    check_stats(h, 2, 2, 0, audio.size() + short_gray.size());
    gst_harness_teardown(h);
}
GST_END_TEST;

// A checked header every 64 bytes, each announcing a frame that ends where the bytes end, every
// body checksum wrong: the parser once checksummed the rest of the bytes again for each header
// (1 MiB cost 1.6 s of CPU, 4 MiB 27 s). Its work, counted, stays within 25 bytes per byte.
GST_START_TEST(test_depay_work_is_linear_in_nested_damaged_frames)
{
    GstHarness* h = depay_harness();
    Bytes nested(1024 * 1024);
    for (size_t at = 0; at + 2 * stream::kHeaderSize <= nested.size(); at += 64) {
        stream::FrameHeader header;
        const Bytes inner = crafted_frame(2 + at / 64, "x", Bytes(1));
        std::memcpy(&header, inner.data(), sizeof header);
        header.payload_length = nested.size() - at - stream::kHeaderSize - 1;
        header.body_crc ^= 1;
        header.header_crc = uint32_t(crc32_z(0, reinterpret_cast<const Bytef*>(&header),
                                             offsetof(stream::FrameHeader, header_crc)));
        std::memcpy(nested.data() + at, &header, sizeof header);
    }
    const Bytes last = crafted_frame(1);
    fail_unless(depay(h, concat({nested, last}), 1456) == sequences({1}));
    const guint64 headers = nested.size() / 64 - 1;
    fail_unless_equals_uint64(stat_of(h->element, "frames-damaged"), headers);
    fail_unless(stat_of(h->element, "bytes-checksummed") <= 25 * (nested.size() + last.size()),
                "%" G_GUINT64_FORMAT " bytes checksummed",
                stat_of(h->element, "bytes-checksummed"));
    gst_harness_teardown(h);
}
GST_END_TEST;

// A frame above max-frame-size is skipped at its header, without waiting for its bytes.
GST_START_TEST(test_depay_skips_a_frame_above_max_frame_size)
{
    GstElement* element = gst_element_factory_make("pvshmdepay", nullptr);
    g_object_set(element, "max-frame-size", guint64(1000), nullptr);
    GstHarness* h = gst_harness_new_with_element(element, "sink", "src");
    gst_object_unref(element);
    gst_harness_set_src_caps_str(h, "application/x-pvshm-stream");
    const Bytes big = crafted_frame(2, kBigCaps, Bytes(kBigSize));
    fail_unless(depay(h, concat({crafted_frame(1), head(big, 500), crafted_frame(3)})) ==
                sequences({1, 3}));
    fail_unless_equals_uint64(stat_of(h->element, "frames-too-large"), 1);
    fail_unless_equals_uint64(stat_of(h->element, "drops"), 1);
    gst_harness_teardown(h);
}
GST_END_TEST;

// Caps the depayloader can output but downstream refuses (here: no framerate, a memory
// feature) cost their frames, each a drop, and the stream goes on: one such frame once ended
// `pvshm mirror` with not-negotiated.
GST_START_TEST(test_depay_skips_frames_whose_caps_downstream_refuses)
{
    GstHarness* h = depay_harness();
    gst_harness_set_sink_caps_str(
        h, "video/x-raw,format=GRAY8,width=[1,100],height=[1,100],framerate=[0/1,1000/1]");
    const Bytes no_rate =
        crafted_frame(2, "video/x-raw,format=GRAY8,width=4,height=2", Bytes(kGraySize));
    const Bytes dmabuf =
        crafted_frame(3, "video/x-raw(memory:DMABuf),format=GRAY8,width=4,height=2,framerate=30/1",
                      Bytes(kGraySize));
    const Bytes no_rate_again =
        crafted_frame(4, "video/x-raw,format=GRAY8,width=4,height=2", Bytes(kGraySize));
    fail_unless(depay(h, concat({crafted_frame(1), no_rate, dmabuf, no_rate_again,
                                 crafted_frame(5)})) == sequences({1, 5}));
    check_stats(h, 2, 3, 0, 2 * no_rate.size() + dmabuf.size());
    gst_harness_teardown(h);
}
GST_END_TEST;

// A discontinuity (the transport lost its connection) ends the frame in progress at once.
GST_START_TEST(test_depay_discards_a_partial_frame_at_a_discontinuity)
{
    GstHarness* h = depay_harness();
    const Bytes first = crafted_frame(1, kBigCaps, Bytes(kBigSize));
    fail_unless(depay(h, head(first, 3000)).empty());
    const Bytes second = crafted_frame(2);
    GstBuffer* after = buffer_of(second.data(), second.size());
    GST_BUFFER_FLAG_SET(after, GST_BUFFER_FLAG_DISCONT);
    fail_unless_equals_int(gst_harness_push(h, after), GST_FLOW_OK);
    GstBuffer* out = gst_harness_pull(h);
    fail_unless_equals_uint64(GST_BUFFER_OFFSET(out), 2);
    fail_unless(GST_BUFFER_IS_DISCONT(out));
    gst_buffer_unref(out);
    check_stats(h, 1, 1, 1, 3000);
    gst_harness_teardown(h);
}
GST_END_TEST;

// A frame cut short by the end of the stream is counted.
GST_START_TEST(test_depay_counts_a_frame_cut_by_the_end_of_stream)
{
    GstHarness* h = depay_harness();
    const Bytes second = crafted_frame(2);
    fail_unless(depay(h, concat({crafted_frame(1), head(second, second.size() - 1)})) ==
                sequences({1}));
    fail_unless(gst_harness_push_event(h, gst_event_new_eos()));
    check_stats(h, 1, 1, 1, second.size() - 1);
    gst_harness_teardown(h);
}
GST_END_TEST;

// Host A's writer -> pvshmsrc mode=all -> pvshmpay -> bytes -> pvshmdepay -> pvshmsink on host B:
// B's readers see A's camera id, capture times, user metadata and sequence numbers: pvshmsink
// keeps a buffer's sequence number (WriterOptions::keep_sequence) when it is above the last one.
GST_START_TEST(test_stream_relays_one_segment_into_another)
{
    const std::string from = unique_id("streamfrom");
    const std::string to = unique_id("streamto");
    SegmentCleanup cleanup_from(from);
    SegmentCleanup cleanup_to(to);
    FactsWriter writer(from, "dock-7", 1'650'000'000'000'000'001,
                       {{"lot", std::string("L9")}, {"n", int64_t{3}}, {"gain", 1.5}});
    writer.write(3);

    GstHarness* src = src_harness(from);
    GstHarness* pay = gst_harness_new("pvshmpay");
    GstBuffer* frame = gst_harness_pull(src);
    GstCaps* caps = gst_pad_get_current_caps(src->sinkpad);
    gst_harness_set_src_caps(pay, caps);
    fail_unless_equals_int(gst_harness_push(pay, frame), GST_FLOW_OK);
    GstBuffer* bytes = gst_harness_pull(pay);

    GstHarness* depay = depay_harness();
    fail_unless_equals_int(gst_harness_push(depay, bytes), GST_FLOW_OK);
    GstBuffer* out = gst_harness_pull(depay);
    fail_unless_equals_uint64(GST_BUFFER_OFFSET(out), 3);
    GstHarness* sink = sink_harness(to, "video/x-raw,format=BGR,width=6,height=4,framerate=30/1");
    GstCaps* received = gst_pad_get_current_caps(depay->sinkpad);
    gst_harness_set_src_caps(sink, received);
    fail_unless_equals_int(gst_harness_push(sink, out), GST_FLOW_OK);

    pvshm::Reader reader(to);
    auto view = reader.view_latest();
    fail_unless(bool(view));
    writer.check_carried_by(*view);
    // Rows of 18 bytes in A (packed), 20 in GStreamer's layout: the same pixels.
    const uint32_t stride = view->info().strides[0];
    for (size_t row = 0; row < 4; ++row)
        fail_unless(
            std::memcmp(view->data() + row * stride, writer.pixels().data() + row * 18, 18) == 0);
    // The source's sequence number, kept by the receiving writer: gaps count frames lost
    // anywhere on the way.
    fail_unless_equals_uint64(view->info().sequence, 3);
    view = {};
    gst_harness_teardown(sink);
    gst_harness_teardown(depay);
    gst_harness_teardown(pay);
    gst_harness_teardown(src);
}
GST_END_TEST;

// A 12-bit camera's GRAY16_LE frames keep their bit depth from one segment to another, through
// pvshmsrc ! pvshmsink and through the stream (version 2 frames), so readers on the far side
// scale them as the near side does.
GST_START_TEST(test_stream_relays_the_bit_depth_of_gray16_frames)
{
    const std::string from = unique_id("depthfrom");
    const std::string direct = unique_id("depthdirect");
    const std::string relayed = unique_id("depthrelayed");
    SegmentCleanup cleanup_from(from);
    SegmentCleanup cleanup_direct(direct);
    SegmentCleanup cleanup_relayed(relayed);
    pvshm::WriterOptions options;
    options.bit_depth = 12;
    pvshm::Writer writer(from, options);
    const pvshm::FrameInfo info = pvshm::packed_frame_info(pvshm::PixelFormat::GRAY16_LE, 4, 2);
    const std::vector<uint8_t> pixels(info.payload_size, 7);
    fail_unless(writer.write(info, pixels.data()).has_value());

    GstHarness* src = src_harness(from);
    GstBuffer* frame = gst_harness_pull(src);
    GstCaps* caps = gst_pad_get_current_caps(src->sinkpad);
    GstCustomMeta* meta = gst_buffer_get_custom_meta(frame, "GstPvShmFrameMeta");
    fail_unless(meta != nullptr);
    guint bits = 0;
    fail_unless(gst_structure_get_uint(gst_custom_meta_get_structure(meta), "bit-depth", &bits));
    fail_unless_equals_int(bits, 12);

    GstHarness* pay = gst_harness_new("pvshmpay");
    gst_harness_set_src_caps(pay, gst_caps_ref(caps));
    fail_unless_equals_int(gst_harness_push(pay, gst_buffer_ref(frame)), GST_FLOW_OK);
    GstBuffer* bytes = gst_harness_pull(pay);
    const Bytes wire = bytes_of(bytes);
    std::string problem;
    const auto header = stream::decode_header(wire.data(), problem);
    fail_unless(header.has_value(), "%s", problem.c_str());
    fail_unless_equals_int(header->bit_depth, 12);
    fail_unless_equals_int(wire[4], stream::kVersion); // a sender writes the newest version
    GstHarness* depay = depay_harness();
    fail_unless_equals_int(gst_harness_push(depay, bytes), GST_FLOW_OK);
    GstBuffer* out = gst_harness_pull(depay);

    const std::pair<const std::string*, GstBuffer*> hops[] = {{&direct, frame}, {&relayed, out}};
    for (const auto& [to, buffer] : hops) {
        GstHarness* sink = sink_harness(*to, "video/x-raw,format=GRAY16_LE,width=4,height=2");
        gst_harness_set_src_caps(sink, gst_caps_ref(caps));
        fail_unless_equals_int(gst_harness_push(sink, buffer), GST_FLOW_OK);
        pvshm::Reader reader(*to);
        auto view = reader.view_latest();
        fail_unless(bool(view));
        fail_unless_equals_int(view->info().bit_depth, 12);
        view = {};
        gst_harness_teardown(sink);
    }
    gst_caps_unref(caps);
    gst_harness_teardown(depay);
    gst_harness_teardown(pay);
    gst_harness_teardown(src);
}
GST_END_TEST;

static Suite* pvshm_stream_suite()
{
    Suite* s = suite_create("pvshm_stream");
    TCase* tc = general_test_case(s, 30);
    tcase_add_test(tc, test_stream_format_is_pinned);
    tcase_add_test(tc, test_depay_reads_versions_1_and_2);
    tcase_add_test(tc, test_depay_posts_heartbeats);
    tcase_add_test(tc, test_depay_refuses_a_later_version_clearly);
    tcase_add_test(tc, test_depay_work_is_linear_in_nested_damaged_frames);
    tcase_add_test(tc, test_depay_skips_a_frame_above_max_frame_size);
    tcase_add_test(tc, test_depay_skips_frames_whose_caps_downstream_refuses);
    tcase_add_test(tc, test_stream_round_trip_of_every_format);
    tcase_add_test(tc, test_stream_writes_out_the_implied_colorimetry);
    tcase_add_test(tc, test_stream_follows_caps_changes);
    tcase_add_test(tc, test_pay_repacks_padded_rows);
    tcase_add_test(tc, test_stream_carries_the_frame_facts);
    tcase_add_test(tc, test_pay_counts_frames_without_a_sequence);
    tcase_add_test(tc, test_pay_output_is_the_documented_format);
    tcase_add_test(tc, test_pay_refuses_caps_too_long);
    tcase_add_test(tc, test_depay_takes_pieces_of_any_size);
    tcase_add_test(tc, test_depay_skips_garbage_between_frames);
    tcase_add_test(tc, test_depay_drops_a_truncated_frame_whole);
    tcase_add_test(tc, test_depay_drops_a_damaged_frame);
    tcase_add_test(tc, test_depay_skips_a_damaged_header);
    tcase_add_test(tc, test_depay_never_waits_for_an_out_of_bounds_length);
    tcase_add_test(tc, test_depay_joins_mid_stream);
    tcase_add_test(tc, test_depay_counts_sequence_gaps);
    tcase_add_test(tc, test_depay_refuses_frames_it_cannot_output);
    tcase_add_test(tc, test_depay_discards_a_partial_frame_at_a_discontinuity);
    tcase_add_test(tc, test_depay_counts_a_frame_cut_by_the_end_of_stream);
    tcase_add_test(tc, test_stream_relays_one_segment_into_another);
    tcase_add_test(tc, test_stream_relays_the_bit_depth_of_gray16_frames);
    return s;
}

GST_CHECK_MAIN(pvshm_stream)
