// SPDX-License-Identifier: LGPL-2.1-or-later
// The example launch lines below stand one per line.
// clang-format off
/**
 * SECTION:element-pvshmdepay
 * @title: pvshmdepay
 *
 * Turns the pvshm stream that pvshmpay wrote (application/x-pvshm-stream, stream_format.hpp)
 * back into frames with their original caps and facts, in any pieces the transport delivers
 * them. The bytes come from the network and are treated as hostile: every length is bounded and
 * checked, header and body carry checksums, and a frame is pushed whole or not at all. After
 * garbage, a truncated or damaged frame, a reconnect or joining mid-stream, the element
 * resynchronises at the next frame and counts what it lost.
 *
 * Every buffer carries the sender's facts, as pvshmsrc puts them:
 *
 * - offset: the sender's sequence number of the frame (offset-end: one more);
 * - a #GstReferenceTimestampMeta with caps `timestamp/x-unix`: the sender's CLOCK_REALTIME
 *   capture time;
 * - a custom meta "GstPvShmFrameMeta" with `sequence`, `camera-id`, `bit-depth` and the user
 *   metadata;
 * - duration: the sender's;
 * - PTS: the capture time in this pipeline's running time, read through this host's realtime
 *   clock (so as right as the two hosts' clocks agree: NTP or PTP is the user's business),
 *   never later than the frame's arrival, and strictly increasing.
 *
 * A frame whose caps downstream refuses (accept-caps, the caps event or the push say
 * not-negotiated) is skipped and counted as a drop, with one warning, and the stream goes on; a
 * frame larger than `max-frame-size` is skipped without waiting for its bytes.
 *
 * Frames sent as JPEG (pvshmpay encoding=jpeg) come out as the image/jpeg frames they are;
 * lossless frames (zstd) come out as the sender's bytes, decompressed into a buffer of the size
 * their caps say and never more: one that does not decompress to exactly that is counted as
 * damaged and skipped, with one warning.
 *
 * It reads stream versions 1 to 3. Frames of a later version (a newer sender) are skipped and
 * counted (frames-unreadable-version), with one warning per stream naming the version received
 * and the versions read.
 *
 * Heartbeats (version 3: the sender's writer alive or not, and the newest sequence number of its
 * id, sent while frames do not flow) are not frames: each one posts an element message
 * "pvshm-heartbeat" on the bus with `writer-alive` (boolean), `sequence` (guint64: the newest
 * frame of the sender's id, 0: none) and `realtime-ns` (gint64: when the sender sent it, its
 * CLOCK_REALTIME; 0: unknown), and the last one is in `stats` (heartbeats,
 * heartbeat-writer-alive, heartbeat-sequence), for an application that polls.
 *
 * `stats`: frames (pushed), drops (frames lost: gaps in the sender's sequence numbers, else one
 * per damaged frame or run of garbage), frames-damaged (headers that checked over bodies that
 * did not), frames-too-large, frames-unreadable-version, bytes-skipped, bytes-received,
 * bytes-checksummed (the parser's work: at most 25 per byte received, whatever the bytes),
 * heartbeats, heartbeat-writer-alive, heartbeat-sequence.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 srtsrc uri=srt://sender:7001?mode=caller passphrase=0123456789 ! pvshmdepay ! pvshmsink shared-mem-id=cam0 sync=false
 * gst-launch-1.0 filesrc location=cam0.pvs ! pvshmdepay ! videoconvert ! autovideosink
 * ]|
 */
// clang-format on
#include "gstpvshmdepay.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include <gst/base/gstadapter.h>

#include <pvshm/clock.hpp>
#include <pvshm/format.hpp>

#include "frame_codec.hpp"
#include "gstpvshmclock.h"
#include "gstpvshmerror.h"
#include "gstpvshmformat.h"
#include "gstpvshmmeta.h"
#include "stream_format.hpp"

enum
{
    PROP_0,
    PROP_MAX_FRAME_SIZE,
    PROP_STATS,
};

// A frame's largest size the stream allows: header, caps, camera id, metadata and 1 GiB of pixels.
#define DEFAULT_MAX_FRAME_SIZE pvshm::stream::kMaxFrameSize

GST_DEBUG_CATEGORY_STATIC(gst_pv_shm_depay_debug);
#define GST_CAT_DEFAULT gst_pv_shm_depay_debug

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS("application/x-pvshm-stream"));

namespace {

// The adapter as the byte queue pvshm::stream::Deframer reads.
class AdapterBytes
{
public:
    // A frame taken from the adapter: one buffer of one memory, mapped while it lives.
    class Taken
    {
    public:
        // Takes `buffer`. Throws std::runtime_error when it cannot be mapped.
        explicit Taken(GstBuffer* buffer) : buffer_(buffer)
        {
            if (gst_buffer_map(buffer_, &map_, GST_MAP_READ))
                return;
            const gsize size = gst_buffer_get_size(buffer_);
            gst_buffer_unref(buffer_);
            throw std::runtime_error("cannot map a frame of " + std::to_string(size) + " bytes");
        }
        Taken(Taken&& other) noexcept
            : buffer_(std::exchange(other.buffer_, nullptr)), map_(other.map_)
        {
        }
        Taken& operator=(Taken&&) = delete;
        ~Taken()
        {
            if (!buffer_)
                return;
            gst_buffer_unmap(buffer_, &map_);
            gst_buffer_unref(buffer_);
        }
        const uint8_t* data() const { return map_.data; }
        size_t size() const { return map_.size; }
        GstBuffer* buffer() const { return buffer_; }

    private:
        GstBuffer* buffer_;
        GstMapInfo map_{};
    };

    explicit AdapterBytes(GstAdapter* adapter) : adapter_(adapter) {}

    size_t available() const { return gst_adapter_available(adapter_); }

    std::optional<size_t> find_magic()
    {
        const size_t size = available();
        if (size < sizeof pvshm::stream::kMagic)
            return std::nullopt;
        const gssize at = gst_adapter_masked_scan_uint32(adapter_, 0xffffffff,
                                                         pvshm::stream::kMagicWord, 0, size);
        return at < 0 ? std::nullopt : std::optional<size_t>(size_t(at));
    }

    void copy(size_t size, uint8_t* out) { gst_adapter_copy(adapter_, out, 0, size); }
    void skip(size_t size) { gst_adapter_flush(adapter_, size); }
    Taken take(size_t size) { return Taken(gst_adapter_take_buffer(adapter_, size)); }

private:
    GstAdapter* adapter_;
};

} // namespace

struct PvShmDepayState
{
    std::atomic<uint64_t> max_frame_size{DEFAULT_MAX_FRAME_SIZE};

    // Streaming thread only.
    GstAdapter* adapter = gst_adapter_new();
    pvshm::stream::Deframer deframer;
    std::string caps_text;
    std::optional<pvshm::FrameInfo> frame;
    bool need_segment = true;
    GstClockTime last_pts = GST_CLOCK_TIME_NONE;
    std::optional<int64_t> realtime_origin;
    std::optional<uint64_t> last_sequence;
    std::string refused_caps;
    bool warned_too_large = false;
    // The later stream version last warned of since the stream began (0: none).
    uint16_t warned_version = 0;
    bool warned_encoding = false;
    bool warned_undecodable = false;
    std::unique_ptr<pvshm::stream::ZstdDecompressor> zstd;
    GstFlowReturn flow = GST_FLOW_OK;

    // Guards what the stats property reads.
    std::mutex lock;
    pvshm::stream::DeframeStats stats;
    uint64_t bytes_received = 0;
    bool heartbeat_writer_alive = false;
    uint64_t heartbeat_sequence = 0;

    ~PvShmDepayState() { g_object_unref(adapter); }
};

struct _GstPvShmDepay
{
    GstElement parent;
    GstPad* sinkpad;
    GstPad* srcpad;
    PvShmDepayState* state;
};

G_DEFINE_TYPE_WITH_CODE(GstPvShmDepay, gst_pv_shm_depay, GST_TYPE_ELEMENT,
                        GST_DEBUG_CATEGORY_INIT(gst_pv_shm_depay_debug, "pvshmdepay", 0,
                                                "pvshm stream depayloader"));
GST_ELEMENT_REGISTER_DEFINE(pvshmdepay, "pvshmdepay", GST_RANK_NONE, GST_TYPE_PV_SHM_DEPAY);

static void gst_pv_shm_depay_finalize(GObject* object);
static void gst_pv_shm_depay_set_property(GObject* object, guint prop_id, const GValue* value,
                                          GParamSpec* pspec);
static void gst_pv_shm_depay_get_property(GObject* object, guint prop_id, GValue* value,
                                          GParamSpec* pspec);
static GstStateChangeReturn gst_pv_shm_depay_change_state(GstElement* element,
                                                          GstStateChange transition);
static gboolean gst_pv_shm_depay_sink_event(GstPad* pad, GstObject* parent, GstEvent* event);
static GstFlowReturn gst_pv_shm_depay_chain(GstPad* pad, GstObject* parent, GstBuffer* buffer);

static void gst_pv_shm_depay_class_init(GstPvShmDepayClass* klass)
{
    GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
    GstElementClass* element_class = GST_ELEMENT_CLASS(klass);

    gobject_class->finalize = gst_pv_shm_depay_finalize;
    gobject_class->set_property = gst_pv_shm_depay_set_property;
    gobject_class->get_property = gst_pv_shm_depay_get_property;

    g_object_class_install_property(
        gobject_class, PROP_MAX_FRAME_SIZE,
        g_param_spec_uint64(
            "max-frame-size", "Maximum frame size",
            "Largest frame taken, in bytes (header included): a larger one is skipped and counted "
            "(frames-too-large) without waiting for its bytes, so that a sender cannot make a "
            "receiver hold more. Read when the element starts",
            pvshm::stream::kHeaderSize + 2, DEFAULT_MAX_FRAME_SIZE, DEFAULT_MAX_FRAME_SIZE,
            GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY)));

    g_object_class_install_property(
        gobject_class, PROP_STATS,
        g_param_spec_boxed("stats", "Statistics",
                           "Frames pushed (frames), frames lost (drops), damaged frames "
                           "(frames-damaged), frames above max-frame-size (frames-too-large), "
                           "frames of a stream version this element does not read "
                           "(frames-unreadable-version), bytes skipped while resynchronising "
                           "(bytes-skipped), bytes received (bytes-received), bytes checksummed "
                           "(bytes-checksummed: the parser's work, at most 25 per byte "
                           "received), heartbeats received (heartbeats) and what the last one "
                           "said (heartbeat-writer-alive, heartbeat-sequence)",
                           GST_TYPE_STRUCTURE,
                           GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

    gst_element_class_add_static_pad_template(element_class, &sink_template);
    g_autoptr(GstCaps) caps = gst_pv_shm_format_all_caps();
    gst_element_class_add_pad_template(
        element_class, gst_pad_template_new("src", GST_PAD_SRC, GST_PAD_ALWAYS, caps));
    gst_element_class_set_static_metadata(
        element_class, "pvshm stream depayloader", "Codec/Demuxer/Video",
        "Turns a pvshm byte stream from another host back into video frames and their facts",
        "pvshm developers");

    element_class->change_state = GST_DEBUG_FUNCPTR(gst_pv_shm_depay_change_state);
}

static void gst_pv_shm_depay_init(GstPvShmDepay* self)
{
    self->state = new PvShmDepayState;
    self->sinkpad = gst_pad_new_from_static_template(&sink_template, "sink");
    gst_pad_set_event_function(self->sinkpad, GST_DEBUG_FUNCPTR(gst_pv_shm_depay_sink_event));
    gst_pad_set_chain_function(self->sinkpad, GST_DEBUG_FUNCPTR(gst_pv_shm_depay_chain));
    gst_element_add_pad(GST_ELEMENT(self), self->sinkpad);
    GstElementClass* klass = GST_ELEMENT_GET_CLASS(self);
    self->srcpad =
        gst_pad_new_from_template(gst_element_class_get_pad_template(klass, "src"), "src");
    gst_pad_use_fixed_caps(self->srcpad);
    gst_element_add_pad(GST_ELEMENT(self), self->srcpad);
}

static void gst_pv_shm_depay_finalize(GObject* object)
{
    delete GST_PV_SHM_DEPAY(object)->state;
    G_OBJECT_CLASS(gst_pv_shm_depay_parent_class)->finalize(object);
}

static void gst_pv_shm_depay_set_property(GObject* object, guint prop_id, const GValue* value,
                                          GParamSpec* pspec)
{
    PvShmDepayState* state = GST_PV_SHM_DEPAY(object)->state;
    switch (prop_id) {
    case PROP_MAX_FRAME_SIZE:
        state->max_frame_size = g_value_get_uint64(value);
        break;
    default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
        break;
    }
}

static void gst_pv_shm_depay_get_property(GObject* object, guint prop_id, GValue* value,
                                          GParamSpec* pspec)
{
    PvShmDepayState* state = GST_PV_SHM_DEPAY(object)->state;
    switch (prop_id) {
    case PROP_MAX_FRAME_SIZE:
        g_value_set_uint64(value, state->max_frame_size);
        break;
    case PROP_STATS: {
        std::lock_guard lock(state->lock);
        const pvshm::stream::DeframeStats& stats = state->stats;
        g_value_take_boxed(
            value,
            gst_structure_new(
                "GstPvShmDepayStats", "frames", G_TYPE_UINT64, stats.frames, "drops", G_TYPE_UINT64,
                stats.drops, "frames-damaged", G_TYPE_UINT64, stats.frames_damaged,
                "frames-too-large", G_TYPE_UINT64, stats.frames_too_large,
                "frames-unreadable-version", G_TYPE_UINT64, stats.unreadable_version,
                "bytes-skipped", G_TYPE_UINT64, stats.bytes_skipped, "bytes-received",
                G_TYPE_UINT64, state->bytes_received, "bytes-checksummed", G_TYPE_UINT64,
                stats.bytes_checksummed, "heartbeats", G_TYPE_UINT64, stats.heartbeats,
                "heartbeat-writer-alive", G_TYPE_BOOLEAN, gboolean(state->heartbeat_writer_alive),
                "heartbeat-sequence", G_TYPE_UINT64, state->heartbeat_sequence, nullptr));
        break;
    }
    default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
        break;
    }
}

// Forgets the stream: the bytes held, the caps and the timeline (start, flush).
static void gst_pv_shm_depay_reset(PvShmDepayState* state)
{
    gst_adapter_clear(state->adapter);
    state->deframer.restart();
    state->caps_text.clear();
    state->frame.reset();
    state->need_segment = true;
    state->last_pts = GST_CLOCK_TIME_NONE;
    state->realtime_origin.reset();
    state->last_sequence.reset();
    state->refused_caps.clear();
    state->warned_version = 0;
    state->warned_encoding = false;
    state->warned_undecodable = false;
    state->flow = GST_FLOW_OK;
}

static void gst_pv_shm_depay_publish_stats(PvShmDepayState* state, gsize received)
{
    std::lock_guard lock(state->lock);
    state->stats = state->deframer.stats();
    state->bytes_received += received;
}

static GstStateChangeReturn gst_pv_shm_depay_change_state(GstElement* element,
                                                          GstStateChange transition)
{
    PvShmDepayState* state = GST_PV_SHM_DEPAY(element)->state;
    if (transition == GST_STATE_CHANGE_READY_TO_PAUSED) {
        gst_pv_shm_depay_reset(state);
        state->deframer = pvshm::stream::Deframer(state->max_frame_size);
        state->warned_too_large = false;
        std::lock_guard lock(state->lock);
        state->stats = {};
        state->bytes_received = 0;
        state->heartbeat_writer_alive = false;
        state->heartbeat_sequence = 0;
    }
    const GstStateChangeReturn result =
        GST_ELEMENT_CLASS(gst_pv_shm_depay_parent_class)->change_state(element, transition);
    if (transition == GST_STATE_CHANGE_PAUSED_TO_READY)
        gst_pv_shm_depay_reset(state);
    return result;
}

// The capture time in this pipeline's running time: this host's realtime clock says how long
// ago the sender captured the frame.
static GstClockTime gst_pv_shm_depay_pts(GstPvShmDepay* self, int64_t realtime_ns)
{
    PvShmDepayState* state = self->state;
    GstClockTime pts = GST_CLOCK_TIME_NONE;
    g_autoptr(GstClock) clock = gst_element_get_clock(GST_ELEMENT(self));
    if (clock) {
        const GstClockTime now = gst_clock_get_time(clock);
        const GstClockTime base = gst_element_get_base_time(GST_ELEMENT(self));
        const int64_t arrival = now > base ? int64_t(now - base) : 0;
        const int64_t age = realtime_ns > 0 ? pvshm::clock_ns(CLOCK_REALTIME) - realtime_ns : 0;
        pts = GstClockTime(std::clamp<int64_t>(arrival - age, 0, arrival));
    } else if (realtime_ns > 0) {
        // No clock (not playing in a pipeline): the sender's spacing, from the first frame on.
        if (!state->realtime_origin)
            state->realtime_origin = realtime_ns;
        pts = GstClockTime(std::max<int64_t>(realtime_ns - *state->realtime_origin, 0));
    }
    if (GST_CLOCK_TIME_IS_VALID(pts) && GST_CLOCK_TIME_IS_VALID(state->last_pts) &&
        pts <= state->last_pts)
        pts = state->last_pts + 1;
    if (GST_CLOCK_TIME_IS_VALID(pts))
        state->last_pts = pts;
    return pts;
}

// Frames in caps `text` are skipped, each a drop: says so once, until other caps come.
static void gst_pv_shm_depay_refuse_caps(GstPvShmDepay* self, const std::string& text,
                                         const std::string& why)
{
    PvShmDepayState* state = self->state;
    state->caps_text.clear();
    state->frame.reset();
    if (text == state->refused_caps)
        return;
    state->refused_caps = text;
    GST_ELEMENT_WARNING(self, STREAM, FORMAT, ("Frames skipped: %s", why.c_str()),
                        ("%s", text.c_str()));
}

// Caps the sender named for a frame of `payload_size` bytes (compressed: a zstd frame of a raw
// frame), when this element can output them.
static bool gst_pv_shm_depay_take_caps(GstPvShmDepay* self, const std::string& text,
                                       uint64_t payload_size, bool compressed)
{
    PvShmDepayState* state = self->state;
    if (text != state->caps_text) {
        g_autoptr(GstCaps) caps = gst_caps_from_string(text.c_str());
        std::string error = "not caps";
        auto frame = caps && gst_caps_is_fixed(caps) ? gst_pv_shm_format_frame_info(caps, error)
                                                     : std::nullopt;
        if (!frame) {
            gst_pv_shm_depay_refuse_caps(self, text,
                                         "the sender's caps cannot be output: " + error);
            return false;
        }
        if (text == state->refused_caps)
            return false;
        g_autoptr(GstCaps) current = gst_pad_get_current_caps(self->srcpad);
        if (!current || !gst_caps_is_equal(current, caps)) {
            // Caps that parse but that downstream refuses (no framerate, a memory feature) cost
            // their frames, never the stream: the next frame in other caps goes through.
            if (!gst_pad_peer_query_accept_caps(self->srcpad, caps) ||
                !gst_pad_push_event(self->srcpad, gst_event_new_caps(caps))) {
                gst_pv_shm_depay_refuse_caps(self, text, "downstream refused the sender's caps");
                return false;
            }
        }
        state->caps_text = text;
        state->frame = std::move(frame);
    }
    if (compressed) {
        // Never more than the caps' raw size, and that within what this receiver takes.
        const uint64_t raw_size = state->frame->payload_size;
        if (pvshm::is_encoded(state->frame->format) || raw_size == 0 ||
            raw_size > state->deframer.max_frame_size()) {
            GST_WARNING_OBJECT(self, "lossless frame of %" G_GUINT64_FORMAT " bytes skipped",
                               raw_size);
            return false;
        }
        return true;
    }
    if (!pvshm::is_encoded(state->frame->format) && payload_size != state->frame->payload_size) {
        GST_WARNING_OBJECT(
            self, "frame of %" G_GUINT64_FORMAT " bytes skipped: its caps say %" G_GUINT64_FORMAT,
            payload_size, state->frame->payload_size);
        return false;
    }
    return true;
}

static void gst_pv_shm_depay_push_segment(GstPvShmDepay* self)
{
    if (!self->state->need_segment)
        return;
    GstSegment segment;
    gst_segment_init(&segment, GST_FORMAT_TIME);
    gst_pad_push_event(self->srcpad, gst_event_new_segment(&segment));
    self->state->need_segment = false;
}

// A heartbeat: on the bus, and in the stats.
static void gst_pv_shm_depay_heartbeat(GstPvShmDepay* self, const pvshm::stream::FrameFacts& facts)
{
    PvShmDepayState* state = self->state;
    const bool alive = facts.flags & pvshm::stream::kFlagWriterAlive;
    {
        std::lock_guard lock(state->lock);
        state->heartbeat_writer_alive = alive;
        state->heartbeat_sequence = facts.sequence;
    }
    GST_LOG_OBJECT(self, "heartbeat: writer %s, newest frame %" G_GUINT64_FORMAT,
                   alive ? "alive" : "dead", facts.sequence);
    GstStructure* message =
        gst_structure_new("pvshm-heartbeat", "writer-alive", G_TYPE_BOOLEAN, gboolean(alive),
                          "sequence", G_TYPE_UINT64, guint64(facts.sequence), "realtime-ns",
                          G_TYPE_INT64, gint64(facts.realtime_ns), nullptr);
    gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), message));
}

// Whether this element outputs frames of `frame`'s encoding: frames skipped otherwise.
static bool gst_pv_shm_depay_takes_encoding(GstPvShmDepay* self, const pvshm::stream::Frame& frame)
{
    using pvshm::stream::Encoding;
    if (frame.facts.encoding == Encoding::Raw)
        return true;
    if (frame.facts.encoding == Encoding::Jpeg && frame.caps.rfind("image/jpeg", 0) == 0)
        return true;
    if (frame.facts.encoding == Encoding::Zstd)
        return true;
    if (!self->state->warned_encoding) {
        self->state->warned_encoding = true;
        GST_ELEMENT_WARNING(self, STREAM, FORMAT,
                            ("Frames skipped: encoding %d cannot be read for these caps",
                             int(frame.facts.encoding)),
                            ("%s", frame.caps.c_str()));
    }
    return false;
}

// The raw frame of a lossless (zstd) frame, or nullptr (one warning per stream) when it does not
// decompress to exactly the size its caps say.
static GstBuffer* gst_pv_shm_depay_decompress(GstPvShmDepay* self,
                                              const pvshm::stream::Frame& frame,
                                              const AdapterBytes::Taken& taken)
{
    PvShmDepayState* state = self->state;
    if (!state->zstd)
        state->zstd = std::make_unique<pvshm::stream::ZstdDecompressor>();
    const uint64_t raw_size = state->frame->payload_size;
    GstBuffer* buffer = gst_buffer_new_allocate(nullptr, raw_size, nullptr);
    GstMapInfo map;
    gst_buffer_map(buffer, &map, GST_MAP_WRITE);
    std::string problem;
    const bool decoded = state->zstd->decompress(taken.data() + frame.payload_offset,
                                                 frame.payload_size, map.data, raw_size, problem);
    gst_buffer_unmap(buffer, &map);
    if (decoded)
        return buffer;
    gst_buffer_unref(buffer);
    GST_DEBUG_OBJECT(self, "frame %" G_GUINT64_FORMAT " skipped: %s", frame.facts.sequence,
                     problem.c_str());
    if (!state->warned_undecodable) {
        state->warned_undecodable = true;
        GST_ELEMENT_WARNING(self, STREAM, DECODE,
                            ("Damaged lossless frames skipped: %s", problem.c_str()),
                            ("frame %" G_GUINT64_FORMAT, frame.facts.sequence));
    }
    return nullptr;
}

static pvshm::stream::Delivery gst_pv_shm_depay_push(GstPvShmDepay* self,
                                                     const pvshm::stream::Frame& frame,
                                                     AdapterBytes::Taken& taken)
{
    PvShmDepayState* state = self->state;
    if (frame.kind == pvshm::stream::RecordKind::Heartbeat) {
        gst_pv_shm_depay_heartbeat(self, frame.facts);
        return pvshm::stream::Delivery::Delivered;
    }
    const bool compressed = frame.facts.encoding == pvshm::stream::Encoding::Zstd;
    if (!gst_pv_shm_depay_takes_encoding(self, frame) ||
        !gst_pv_shm_depay_take_caps(self, frame.caps, frame.payload_size, compressed))
        return pvshm::stream::Delivery::Refused;
    GstBuffer* buffer = compressed
                            ? gst_pv_shm_depay_decompress(self, frame, taken)
                            : gst_buffer_copy_region(taken.buffer(), GST_BUFFER_COPY_MEMORY,
                                                     frame.payload_offset, frame.payload_size);
    if (!buffer)
        return pvshm::stream::Delivery::Damaged;
    gst_pv_shm_depay_push_segment(self);
    const pvshm::stream::FrameFacts& facts = frame.facts;
    GST_BUFFER_PTS(buffer) = gst_pv_shm_depay_pts(self, facts.realtime_ns);
    if (facts.duration_ns >= 0)
        GST_BUFFER_DURATION(buffer) = GstClockTime(facts.duration_ns);
    GST_BUFFER_OFFSET(buffer) = facts.sequence;
    GST_BUFFER_OFFSET_END(buffer) = facts.sequence + 1;
    if (!state->last_sequence || facts.sequence != *state->last_sequence + 1)
        GST_BUFFER_FLAG_SET(buffer, GST_BUFFER_FLAG_DISCONT);
    state->last_sequence = facts.sequence;

    pvshm::FrameInfo info;
    info.sequence = facts.sequence;
    info.timestamp_realtime_ns = facts.realtime_ns;
    info.duration_ns = facts.duration_ns;
    info.camera_id = facts.camera_id;
    info.bit_depth = facts.bit_depth;
    info.metadata = facts.metadata;
    const std::string left_out = gst_pv_shm_meta_add(buffer, info);
    if (!left_out.empty())
        GST_DEBUG_OBJECT(self, "user metadata %s left out of the meta", left_out.c_str());

    GST_LOG_OBJECT(self, "frame %" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT " bytes", facts.sequence,
                   frame.payload_size);
    state->flow = gst_pad_push(self->srcpad, buffer);
    if (state->flow == GST_FLOW_NOT_NEGOTIATED) {
        // Downstream took the caps but not a frame in them: a drop, as caps it refused.
        gst_pv_shm_depay_refuse_caps(self, frame.caps, "downstream refused a frame in the caps");
        state->flow = GST_FLOW_OK;
        return pvshm::stream::Delivery::Refused;
    }
    return state->flow == GST_FLOW_OK ? pvshm::stream::Delivery::Delivered
                                      : pvshm::stream::Delivery::Stop;
}

static GstFlowReturn gst_pv_shm_depay_chain(GstPad*, GstObject* parent, GstBuffer* buffer)
{
    GstPvShmDepay* self = GST_PV_SHM_DEPAY(parent);
    PvShmDepayState* state = self->state;
    AdapterBytes bytes(state->adapter);
    // What came before a discontinuity can never be completed.
    if (GST_BUFFER_IS_DISCONT(buffer))
        state->deframer.discard(bytes);
    const gsize received = gst_buffer_get_size(buffer);
    for (guint i = 0; i < gst_buffer_n_memory(buffer); ++i) {
        GstMemory* memory = gst_buffer_peek_memory(buffer, i);
        GstMapInfo map;
        if (!gst_memory_map(memory, &map, GST_MAP_READ)) {
            GST_ELEMENT_ERROR(self, RESOURCE, READ, ("Cannot read the bytes received"), (nullptr));
            gst_buffer_unref(buffer);
            return GST_FLOW_ERROR;
        }
        state->deframer.received(map.data, map.size);
        gst_memory_unmap(memory, &map);
    }
    gst_adapter_push(state->adapter, buffer);
    state->flow = GST_FLOW_OK;
    if (gst_adapter_available(state->adapter) < state->deframer.wanted()) {
        gst_pv_shm_depay_publish_stats(state, received);
        return GST_FLOW_OK;
    }
    try {
        state->deframer.drain(
            bytes, [self](const pvshm::stream::Frame& frame, AdapterBytes::Taken& taken) {
                return gst_pv_shm_depay_push(self, frame, taken);
            });
    } catch (...) {
        gst_pv_shm_post_exception(GST_ELEMENT(self), GstPvShmAccess::Read,
                                  "Could not read the stream");
        state->flow = GST_FLOW_ERROR;
    }
    const pvshm::stream::DeframeStats& parsed = state->deframer.stats();
    if (parsed.unreadable_version && parsed.last_unreadable_version != state->warned_version) {
        state->warned_version = parsed.last_unreadable_version;
        GST_ELEMENT_WARNING(self, STREAM, WRONG_TYPE,
                            ("Frames skipped: the sender writes stream version %u, this receiver "
                             "reads versions %u to %u (update pvshm on this host)",
                             unsigned(state->warned_version),
                             unsigned(pvshm::stream::kFirstVersion),
                             unsigned(pvshm::stream::kVersion)),
                            (nullptr));
    }
    if (parsed.frames_too_large && !state->warned_too_large) {
        state->warned_too_large = true;
        GST_ELEMENT_WARNING(self, STREAM, FORMAT,
                            ("Frames skipped: larger than max-frame-size (%" G_GUINT64_FORMAT
                             " bytes)",
                             state->deframer.max_frame_size()),
                            (nullptr));
    }
    gst_pv_shm_depay_publish_stats(state, received);
    return state->flow;
}

static gboolean gst_pv_shm_depay_sink_event(GstPad* pad, GstObject* parent, GstEvent* event)
{
    GstPvShmDepay* self = GST_PV_SHM_DEPAY(parent);
    PvShmDepayState* state = self->state;
    switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_CAPS:
    case GST_EVENT_SEGMENT:
        // The frames bring their own caps; their timeline is the capture times.
        gst_event_unref(event);
        return TRUE;
    case GST_EVENT_EOS: {
        AdapterBytes bytes(state->adapter);
        state->deframer.discard(bytes);
        state->deframer.end();
        gst_pv_shm_depay_publish_stats(state, 0);
        gst_pv_shm_depay_push_segment(self);
        break;
    }
    case GST_EVENT_FLUSH_STOP:
        gst_pv_shm_depay_reset(state);
        break;
    default:
        break;
    }
    return gst_pad_event_default(pad, parent, event);
}
