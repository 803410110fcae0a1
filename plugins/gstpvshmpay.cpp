// SPDX-License-Identifier: LGPL-2.1-or-later
// The example launch lines below stand one per line.
// clang-format off
/**
 * SECTION:element-pvshmpay
 * @title: pvshmpay
 *
 * Turns frames in any caps pvshmsink accepts into the pvshm stream (application/x-pvshm-stream,
 * lib/stream/stream_format.hpp), for a byte transport to another host: SRT, TCP, a file. Each frame goes
 * out whole and describes itself (caps, camera id, user metadata, sequence number, realtime
 * capture time, duration, the bit depth of GRAY16_LE samples, checksums), so a receiver may join
 * at any frame; pvshmdepay turns the bytes back into buffers. The pixels are not copied: each output buffer holds the frame's
 * header and the input's memory.
 *
 * The facts come from the metas pvshmsrc puts on its buffers: the sequence number from
 * "GstPvShmFrameMeta" (else the element counts frames from 1), the capture time from a
 * `timestamp/x-unix` #GstReferenceTimestampMeta (else the buffer's running time on the realtime
 * clock). Raw video is sent in the layout its caps describe (a GstVideoMeta with other strides is
 * repacked), with the colorimetry the caps imply written out for YUV.
 *
 * `encoding` (raw, jpeg or lossless; read when the element starts) says how each frame's pixels
 * travel (stream version 3's encoding byte): `raw` as they are; `jpeg` 8-bit frames as JPEG
 * images at `quality` (1..100, default 90) through TurboJPEG (I420 and NV12 of BT.601 straight
 * from their planes), named image/jpeg with the frame's size and rate, so that the receiver
 * stores JPEG frames; `lossless` raw frames' bytes through zstd, which the receiver turns back
 * into the same bytes. A frame the encoding cannot take (16-bit gray or a PNG for jpeg) is sent
 * raw, with one warning; images already encoded (JPEG, PNG) go as they are. Every fact travels
 * in every encoding.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 pvshmsrc shared-mem-id=cam0 mode=all ! pvshmpay encoding=jpeg quality=85 ! srtsink uri=srt://:7001?mode=listener passphrase=0123456789 sync=false wait-for-connection=false
 * gst-launch-1.0 -e pvshmsrc shared-mem-id=cam0 mode=all ! pvshmpay ! filesink location=cam0.pvs
 * ]|
 */
// clang-format on
#include "gstpvshmpay.h"

#include <atomic>
#include <cstring>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <gst/video/video.h>

#include <pvshm/clock.hpp>
#include <pvshm/format.hpp>

#include "gstpvshmclock.h"
#include "gstpvshmerror.h"
#include "gstpvshmformat.h"
#include "gstpvshmmeta.h"
#include "gstpvshmpayencode.h"
#include "gstpvshmvideo.h"
#include "stream_format.hpp"

enum
{
    PROP_0,
    PROP_ENCODING,
    PROP_QUALITY,
    PROP_STATS,
};

GST_DEBUG_CATEGORY_STATIC(gst_pv_shm_pay_debug);
#define GST_CAT_DEFAULT gst_pv_shm_pay_debug

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS("application/x-pvshm-stream"));

struct PvShmPayState
{
    std::atomic<int> encoding{GST_PV_SHM_PAY_ENCODING_RAW};
    std::atomic<guint> quality{pvshm::stream::kDefaultJpegQuality};

    // Streaming thread only: what the current caps say every frame looks like.
    GstPvShmPayEncoder encoder;
    bool warned_encoding = false;
    std::optional<pvshm::FrameInfo> frame;
    std::string caps;
    GstVideoInfo video_info{};
    bool raw_video = false;
    GstSegment segment{};
    bool started = false;
    uint64_t own_sequence = 0;
    bool warned_facts = false;

    std::atomic<uint64_t> frames{0};
    std::atomic<uint64_t> bytes{0};
};

struct _GstPvShmPay
{
    GstElement parent;
    GstPad* sinkpad;
    GstPad* srcpad;
    PvShmPayState* state;
};

G_DEFINE_TYPE_WITH_CODE(GstPvShmPay, gst_pv_shm_pay, GST_TYPE_ELEMENT,
                        GST_DEBUG_CATEGORY_INIT(gst_pv_shm_pay_debug, "pvshmpay", 0,
                                                "pvshm stream payloader"));
GST_ELEMENT_REGISTER_DEFINE(pvshmpay, "pvshmpay", GST_RANK_NONE, GST_TYPE_PV_SHM_PAY);

static void gst_pv_shm_pay_finalize(GObject* object);
static void gst_pv_shm_pay_set_property(GObject* object, guint prop_id, const GValue* value,
                                        GParamSpec* pspec);
static void gst_pv_shm_pay_get_property(GObject* object, guint prop_id, GValue* value,
                                        GParamSpec* pspec);
static GstStateChangeReturn gst_pv_shm_pay_change_state(GstElement* element,
                                                        GstStateChange transition);
static gboolean gst_pv_shm_pay_sink_event(GstPad* pad, GstObject* parent, GstEvent* event);
static GstFlowReturn gst_pv_shm_pay_chain(GstPad* pad, GstObject* parent, GstBuffer* buffer);

static void gst_pv_shm_pay_class_init(GstPvShmPayClass* klass)
{
    GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
    GstElementClass* element_class = GST_ELEMENT_CLASS(klass);

    gobject_class->finalize = gst_pv_shm_pay_finalize;
    gobject_class->set_property = gst_pv_shm_pay_set_property;
    gobject_class->get_property = gst_pv_shm_pay_get_property;

    const auto settings =
        GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
    g_object_class_install_property(
        gobject_class, PROP_ENCODING,
        g_param_spec_enum("encoding", "Encoding",
                          "How frames travel: raw, jpeg (8-bit frames as JPEG images at quality; "
                          "others raw, with one warning) or lossless (zstd: the receiver gets "
                          "the same bytes). Read when the element starts",
                          GST_TYPE_PV_SHM_PAY_ENCODING, GST_PV_SHM_PAY_ENCODING_RAW, settings));
    // GObject only warns about a value outside a spec's range and keeps the old one: the spec
    // takes any value and the element refuses to start with one outside 1..100.
    g_object_class_install_property(
        gobject_class, PROP_QUALITY,
        g_param_spec_uint("quality", "JPEG quality",
                          "JPEG quality for encoding=jpeg, 1 to 100 (a value outside stops the "
                          "element from starting). Read when the element starts",
                          0, G_MAXUINT, pvshm::stream::kDefaultJpegQuality, settings));
    g_object_class_install_property(
        gobject_class, PROP_STATS,
        g_param_spec_boxed("stats", "Statistics", "Frames and bytes sent (frames, bytes)",
                           GST_TYPE_STRUCTURE,
                           GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

    g_autoptr(GstCaps) caps = gst_pv_shm_format_all_caps();
    gst_element_class_add_pad_template(
        element_class, gst_pad_template_new("sink", GST_PAD_SINK, GST_PAD_ALWAYS, caps));
    gst_element_class_add_static_pad_template(element_class, &src_template);
    gst_element_class_set_static_metadata(
        element_class, "pvshm stream payloader", "Codec/Muxer/Video",
        "Turns video frames and their facts into a self-describing byte stream for another host",
        "pvshm developers");

    element_class->change_state = GST_DEBUG_FUNCPTR(gst_pv_shm_pay_change_state);
}

static void gst_pv_shm_pay_init(GstPvShmPay* self)
{
    self->state = new PvShmPayState;
    GstElementClass* klass = GST_ELEMENT_GET_CLASS(self);
    self->sinkpad =
        gst_pad_new_from_template(gst_element_class_get_pad_template(klass, "sink"), "sink");
    gst_pad_set_event_function(self->sinkpad, GST_DEBUG_FUNCPTR(gst_pv_shm_pay_sink_event));
    gst_pad_set_chain_function(self->sinkpad, GST_DEBUG_FUNCPTR(gst_pv_shm_pay_chain));
    gst_element_add_pad(GST_ELEMENT(self), self->sinkpad);
    self->srcpad = gst_pad_new_from_static_template(&src_template, "src");
    gst_pad_use_fixed_caps(self->srcpad);
    gst_element_add_pad(GST_ELEMENT(self), self->srcpad);
    gst_segment_init(&self->state->segment, GST_FORMAT_TIME);
}

static void gst_pv_shm_pay_finalize(GObject* object)
{
    delete GST_PV_SHM_PAY(object)->state;
    G_OBJECT_CLASS(gst_pv_shm_pay_parent_class)->finalize(object);
}

static void gst_pv_shm_pay_set_property(GObject* object, guint prop_id, const GValue* value,
                                        GParamSpec* pspec)
{
    PvShmPayState* state = GST_PV_SHM_PAY(object)->state;
    switch (prop_id) {
    case PROP_ENCODING:
        state->encoding = g_value_get_enum(value);
        break;
    case PROP_QUALITY:
        state->quality = g_value_get_uint(value);
        break;
    default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
        break;
    }
}

static void gst_pv_shm_pay_get_property(GObject* object, guint prop_id, GValue* value,
                                        GParamSpec* pspec)
{
    PvShmPayState* state = GST_PV_SHM_PAY(object)->state;
    switch (prop_id) {
    case PROP_ENCODING:
        g_value_set_enum(value, state->encoding);
        break;
    case PROP_QUALITY:
        g_value_set_uint(value, state->quality);
        break;
    case PROP_STATS:
        g_value_take_boxed(value, gst_structure_new("GstPvShmPayStats", "frames", G_TYPE_UINT64,
                                                    state->frames.load(), "bytes", G_TYPE_UINT64,
                                                    state->bytes.load(), nullptr));
        break;
    default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
        break;
    }
}

static GstStateChangeReturn gst_pv_shm_pay_change_state(GstElement* element,
                                                        GstStateChange transition)
{
    PvShmPayState* state = GST_PV_SHM_PAY(element)->state;
    if (transition == GST_STATE_CHANGE_READY_TO_PAUSED) {
        const guint quality = state->quality;
        if (quality < guint(pvshm::stream::kMinJpegQuality) ||
            quality > guint(pvshm::stream::kMaxJpegQuality)) {
            GST_ELEMENT_ERROR(element, RESOURCE, SETTINGS,
                              ("Property quality is %u, outside its range %d to %d", quality,
                               pvshm::stream::kMinJpegQuality, pvshm::stream::kMaxJpegQuality),
                              (nullptr));
            return GST_STATE_CHANGE_FAILURE;
        }
        state->encoder.start(GstPvShmPayEncoding(state->encoding.load()), int(quality));
        state->warned_encoding = false;
        state->started = false;
        state->own_sequence = 0;
        state->warned_facts = false;
        state->frames = 0;
        state->bytes = 0;
        gst_segment_init(&state->segment, GST_FORMAT_TIME);
    }
    const GstStateChangeReturn result =
        GST_ELEMENT_CLASS(gst_pv_shm_pay_parent_class)->change_state(element, transition);
    if (transition == GST_STATE_CHANGE_PAUSED_TO_READY)
        state->frame.reset();
    return result;
}

// The caps as they go on the wire: a receiver on another GStreamer version must not guess the
// colorimetry of YUV frames differently.
static std::string gst_pv_shm_pay_wire_caps(GstCaps* caps, const GstVideoInfo* video)
{
    g_autoptr(GstCaps) wire = gst_caps_copy(caps);
    GstStructure* s = gst_caps_get_structure(wire, 0);
    if (video && GST_VIDEO_INFO_IS_YUV(video) && !gst_structure_has_field(s, "colorimetry")) {
        g_autofree gchar* colorimetry = gst_video_colorimetry_to_string(&video->colorimetry);
        if (colorimetry)
            gst_structure_set(s, "colorimetry", G_TYPE_STRING, colorimetry, nullptr);
    }
    g_autofree gchar* text = gst_caps_to_string(wire);
    return text;
}

static bool gst_pv_shm_pay_set_caps(GstPvShmPay* self, GstCaps* caps)
{
    PvShmPayState* state = self->state;
    std::string error;
    auto frame = gst_pv_shm_format_frame_info(caps, error);
    if (!frame) {
        GST_ELEMENT_ERROR(self, STREAM, FORMAT,
                          ("Cannot send frames of these caps: %s", error.c_str()),
                          ("%" GST_PTR_FORMAT, caps));
        return false;
    }
    state->raw_video = gst_pv_shm_format_raw_video_info(caps, &state->video_info);
    std::string wire =
        gst_pv_shm_pay_wire_caps(caps, state->raw_video ? &state->video_info : nullptr);
    if (wire.size() > pvshm::stream::kMaxCapsLength) {
        GST_ELEMENT_ERROR(self, STREAM, FORMAT,
                          ("Caps of %zu characters, more than the %zu a stream carries",
                           wire.size(), pvshm::stream::kMaxCapsLength),
                          ("%s", wire.c_str()));
        return false;
    }
    std::optional<std::string> unencodable;
    try {
        unencodable = state->encoder.set_caps(*frame, caps, wire);
    } catch (const std::exception& error) {
        GST_ELEMENT_ERROR(self, LIBRARY, INIT, ("Cannot encode frames: %s", error.what()),
                          (nullptr));
        return false;
    }
    if (unencodable && !state->warned_encoding) {
        state->warned_encoding = true;
        GST_ELEMENT_WARNING(self, STREAM, FORMAT,
                            ("Frames of %s sent raw: %s",
                             std::string(pvshm::format_name(frame->format)).c_str(),
                             unencodable->c_str()),
                            ("%s", wire.c_str()));
    }
    state->frame = std::move(frame);
    state->caps = std::move(wire);
    GST_DEBUG_OBJECT(self, "frames are %s, sent as %s", state->caps.c_str(),
                     state->encoder.caps().c_str());
    if (!gst_pad_has_current_caps(self->srcpad)) {
        g_autoptr(GstCaps) stream = gst_pad_get_pad_template_caps(self->srcpad);
        return gst_pad_set_caps(self->srcpad, stream);
    }
    return true;
}

static gboolean gst_pv_shm_pay_sink_event(GstPad* pad, GstObject* parent, GstEvent* event)
{
    GstPvShmPay* self = GST_PV_SHM_PAY(parent);
    switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_CAPS: {
        GstCaps* caps = nullptr;
        gst_event_parse_caps(event, &caps);
        const bool accepted = gst_pv_shm_pay_set_caps(self, caps);
        gst_event_unref(event);
        return accepted;
    }
    case GST_EVENT_SEGMENT:
        gst_event_copy_segment(event, &self->state->segment);
        break;
    case GST_EVENT_FLUSH_STOP:
        gst_segment_init(&self->state->segment, GST_FORMAT_TIME);
        break;
    default:
        break;
    }
    return gst_pad_event_default(pad, parent, event);
}

// The frame's bytes in the layout its caps describe, without a copy when they already are.
// nullptr, with an element error posted, when the buffer is smaller than its caps say or cannot
// be mapped as they say.
static GstBuffer* gst_pv_shm_pay_payload(GstPvShmPay* self, GstBuffer* buffer, uint64_t size)
{
    PvShmPayState* state = self->state;
    if (!state->raw_video || gst_pv_shm_video_has_caps_layout(buffer, state->video_info)) {
        if (gst_buffer_get_size(buffer) >= size)
            return gst_buffer_copy_region(buffer, GST_BUFFER_COPY_MEMORY, 0, size);
        GST_ELEMENT_ERROR(self, STREAM, FORMAT, ("Buffer smaller than its caps say"),
                          ("%" G_GSIZE_FORMAT " bytes, %" G_GUINT64_FORMAT " expected",
                           gst_buffer_get_size(buffer), size));
        return nullptr;
    }
    g_autoptr(GstBuffer) packed = gst_buffer_new_allocate(nullptr, size, nullptr);
    if (!gst_pv_shm_video_copy(GST_ELEMENT(self), state->video_info, buffer, packed))
        return nullptr;
    return g_steal_pointer(&packed);
}

// The realtime capture time of a buffer without a `timestamp/x-unix` meta: its running time on
// the realtime clock, or now.
static int64_t gst_pv_shm_pay_realtime(GstPvShmPay* self, GstBuffer* buffer)
{
    const int64_t now_realtime = pvshm::clock_ns(CLOCK_REALTIME);
    g_autoptr(GstClock) clock = gst_element_get_clock(GST_ELEMENT(self));
    if (!clock)
        return now_realtime;
    int64_t realtime = now_realtime;
    const GstClockTime running =
        gst_segment_to_running_time(&self->state->segment, GST_FORMAT_TIME, GST_BUFFER_PTS(buffer));
    if (GST_CLOCK_TIME_IS_VALID(running)) {
        const GstClockTime captured = gst_element_get_base_time(GST_ELEMENT(self)) + running;
        realtime -= int64_t(gst_clock_get_time(clock)) - int64_t(captured);
    }
    return realtime;
}

static pvshm::stream::FrameFacts gst_pv_shm_pay_facts(GstPvShmPay* self, GstBuffer* buffer)
{
    PvShmPayState* state = self->state;
    pvshm::stream::FrameFacts facts;
    if (!state->started)
        facts.flags |= pvshm::stream::kFlagSenderStart;
    auto meta = gst_pv_shm_meta_read(buffer);
    facts.sequence = meta && meta->sequence ? *meta->sequence : state->own_sequence + 1;
    state->own_sequence = facts.sequence;
    facts.realtime_ns =
        gst_pv_shm_meta_unix_time(buffer).value_or(gst_pv_shm_pay_realtime(self, buffer));
    if (GST_BUFFER_DURATION_IS_VALID(buffer))
        facts.duration_ns = int64_t(GST_BUFFER_DURATION(buffer));
    if (!meta)
        return facts;
    facts.camera_id = std::move(meta->camera_id);
    facts.metadata = std::move(meta->metadata);
    if (state->frame && state->frame->format == pvshm::PixelFormat::GRAY16_LE)
        facts.bit_depth = uint8_t(meta->bit_depth);
    if (!meta->skipped.empty() && !state->warned_facts) {
        state->warned_facts = true;
        GST_ELEMENT_WARNING(self, STREAM, FORMAT,
                            ("Fields %s of %s hold what a frame cannot carry (not a string or a "
                             "number, or a bit depth outside 1 to 16): not sent",
                             meta->skipped.c_str(), kGstPvShmFrameMetaName),
                            (nullptr));
    }
    return facts;
}

// The header and body of the frame; the facts the stream cannot carry (a camera id or metadata
// beyond its bounds) are left out with a warning once.
static std::optional<std::vector<uint8_t>> gst_pv_shm_pay_prefix(GstPvShmPay* self,
                                                                 pvshm::stream::FrameFacts& facts,
                                                                 const GstMapInfo& payload)
{
    PvShmPayState* state = self->state;
    for (int attempt = 0; attempt < 2; ++attempt) {
        try {
            return pvshm::stream::encode_frame_prefix(facts, state->encoder.caps(), payload.data,
                                                      payload.size);
        } catch (const std::invalid_argument& error) {
            if (attempt == 1 || (facts.camera_id.empty() && facts.metadata.empty())) {
                GST_ELEMENT_ERROR(self, STREAM, FORMAT, ("Cannot send the frame: %s", error.what()),
                                  (nullptr));
                return std::nullopt;
            }
            if (!state->warned_facts) {
                state->warned_facts = true;
                GST_ELEMENT_WARNING(
                    self, STREAM, FORMAT,
                    ("Frames sent without their camera id and metadata: %s", error.what()),
                    (nullptr));
            }
            facts.camera_id.clear();
            facts.metadata.clear();
        }
    }
    return std::nullopt;
}

static GstFlowReturn gst_pv_shm_pay_push(GstPvShmPay* self, GstBuffer* buffer);

static GstFlowReturn gst_pv_shm_pay_chain(GstPad*, GstObject* parent, GstBuffer* buffer)
{
    GstPvShmPay* self = GST_PV_SHM_PAY(parent);
    g_autoptr(GstBuffer) input = buffer;
    try {
        return gst_pv_shm_pay_push(self, input);
    } catch (...) {
        gst_pv_shm_post_exception(GST_ELEMENT(self), GstPvShmAccess::Read,
                                  "Could not send a frame");
        return GST_FLOW_ERROR;
    }
}

static GstFlowReturn gst_pv_shm_pay_push(GstPvShmPay* self, GstBuffer* buffer)
{
    PvShmPayState* state = self->state;
    if (!state->frame) {
        GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, ("Buffer before caps"), (nullptr));
        return GST_FLOW_NOT_NEGOTIATED;
    }
    const uint64_t size = pvshm::is_encoded(state->frame->format) ? gst_buffer_get_size(buffer)
                                                                  : state->frame->payload_size;
    if (size == 0) {
        GST_WARNING_OBJECT(self, "empty image buffer skipped");
        return GST_FLOW_OK;
    }
    if (size > pvshm::stream::kMaxPayloadLength) {
        GST_ELEMENT_ERROR(self, STREAM, FORMAT,
                          ("Frame of %" G_GUINT64_FORMAT " bytes, more than the %" G_GUINT64_FORMAT
                           " a stream carries",
                           size, pvshm::stream::kMaxPayloadLength),
                          (nullptr));
        return GST_FLOW_ERROR;
    }
    g_autoptr(GstBuffer) raw = gst_pv_shm_pay_payload(self, buffer, size);
    if (!raw)
        return GST_FLOW_ERROR;
    g_autoptr(GstBuffer) payload = state->encoder.encode(raw);
    pvshm::stream::FrameFacts facts = gst_pv_shm_pay_facts(self, buffer);
    facts.encoding = state->encoder.encoding();
    GstMapInfo map;
    if (!gst_buffer_map(payload, &map, GST_MAP_READ)) {
        GST_ELEMENT_ERROR(self, RESOURCE, READ, ("Cannot read the frame"), (nullptr));
        return GST_FLOW_ERROR;
    }
    auto prefix = gst_pv_shm_pay_prefix(self, facts, map);
    gst_buffer_unmap(payload, &map);
    if (!prefix)
        return GST_FLOW_ERROR;

    const gsize prefix_size = prefix->size();
    auto* bytes = new std::vector<uint8_t>(std::move(*prefix));
    GstBuffer* out = gst_buffer_new_wrapped_full(
        GST_MEMORY_FLAG_READONLY, bytes->data(), prefix_size, 0, prefix_size, bytes,
        [](gpointer data) { delete static_cast<std::vector<uint8_t>*>(data); });
    out = gst_buffer_append(out, g_steal_pointer(&payload));
    GST_BUFFER_PTS(out) = GST_BUFFER_PTS(buffer);
    GST_BUFFER_DTS(out) = GST_BUFFER_DTS(buffer);
    GST_BUFFER_DURATION(out) = GST_BUFFER_DURATION(buffer);
    GST_BUFFER_OFFSET(out) = facts.sequence;
    GST_BUFFER_OFFSET_END(out) = facts.sequence + 1;
    if (!state->started || GST_BUFFER_IS_DISCONT(buffer))
        GST_BUFFER_FLAG_SET(out, GST_BUFFER_FLAG_DISCONT);
    state->started = true;
    state->frames++;
    state->bytes += gst_buffer_get_size(out);
    GST_LOG_OBJECT(self, "frame %" G_GUINT64_FORMAT ": %" G_GSIZE_FORMAT " bytes", facts.sequence,
                   gst_buffer_get_size(out));
    return gst_pad_push(self->srcpad, out);
}
