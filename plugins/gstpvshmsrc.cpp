// SPDX-License-Identifier: LGPL-2.1-or-later
// The example launch lines below stand one per line.
// clang-format off
/**
 * SECTION:element-pvshmsrc
 * @title: pvshmsrc
 *
 * Reads the frames of a pvshm shared-memory segment into a pipeline, with the caps the writer
 * stored (no capsfilter needed) or normalized to RGB. Buffers wrap the shared memory without a
 * copy and keep their slot from being overwritten while they live. A writer that restarts, even
 * with new caps, is followed without restarting the reader.
 *
 * Every buffer carries the facts of its frame:
 *
 * - PTS: the frame's CLOCK_MONOTONIC capture time in the pipeline's running time, so that the
 *   latency since capture is preserved. PTS always increase, at least half a frame interval
 *   apart: a frame that would come sooner after the previous one (captured before the pipeline
 *   started, or by a restarted writer whose times are older) is placed half a frame interval
 *   after it, and later frames catch up with their capture time. Any muxer takes the stream,
 *   and keeps every frame's timestamp apart from its neighbours' in the file.
 * - duration: the frame's own, else the caps' framerate, else the gap to the previous frame.
 * - offset: the frame's sequence number in its segment (offset-end: one more).
 * - a #GstReferenceTimestampMeta with caps `timestamp/x-unix`: the CLOCK_REALTIME capture time.
 * - a custom meta "GstPvShmFrameMeta" (gst_buffer_get_custom_meta()) whose structure holds
 *   `camera-id` (string, when the frame names a camera), `sequence` (guint64), `bit-depth`
 *   (guint, the significant bits of GRAY16_LE samples when the writer gave them) and one field
 *   per key of the frame's user metadata: a string, gint64 or gdouble. pvshmsink reads both
 *   metas back, so `pvshmsrc ! ... ! pvshmsink` keeps capture times, bit depth and metadata.
 *
 * As a URI handler it takes pvshm://ID, the id as the host and any property as a query
 * parameter (pvshm://cam0?mode=all&timeout=5000000000); an unknown property or a value it does
 * not take is refused, and nothing is set.
 *
 * The element posts one warning naming the id when the id has no segment or its writer is gone
 * (again after frames came and went), and an element message "GstPvShmSrcTimeout" with a
 * `reason` before the end of stream that `timeout` causes.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 pvshmsrc shared-mem-id=cam0 ! videoconvert ! autovideosink
 * gst-launch-1.0 -e pvshmsrc shared-mem-id=cam0 mode=all ! videoconvert ! openh264enc ! h264parse ! mp4mux ! filesink location=cam0.mp4
 * gst-launch-1.0 pvshmsrc shared-mem-id=cam0 normalize=true mode=all timeout=5000000000 ! pngenc ! multifilesink
 * gst-play-1.0 pvshm://cam0
 * gst-launch-1.0 uridecodebin uri=pvshm://cam0?mode=all ! videoconvert ! autovideosink
 * ]|
 */
// clang-format on
#include "gstpvshmsrc.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <exception>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>

#include <gst/video/video.h>

#include <opencv2/core.hpp>

#include <pvshm/normalize.hpp>
#include <pvshm/reader.hpp>

#include "gstpvshmclock.h"
#include "gstpvshmerror.h"
#include "gstpvshmformat.h"
#include "gstpvshmlog.h"
#include "gstpvshmmeta.h"
#include "gstpvshmpts.h"
#include "gstpvshmsrcbuffer.h"
#include "gstpvshmuri.h"

enum
{
    PROP_0,
    PROP_SHARED_MEM_ID,
    PROP_NORMALIZE,
    PROP_MODE,
    PROP_TIMEOUT,
    PROP_IS_LIVE,
    PROP_COLOR_SPACE,
    PROP_MAX_AGE,
    PROP_ALLOW_OTHER_OWNER,
    PROP_SPIN,
    PROP_STATS,
};

enum GstPvShmSrcMode
{
    GST_PV_SHM_SRC_MODE_LATEST,
    GST_PV_SHM_SRC_MODE_ALL,
};

// The values are pvshm::ColorOrder's.
enum GstPvShmSrcColorSpace
{
    GST_PV_SHM_SRC_COLOR_SPACE_RGB = int(pvshm::ColorOrder::RGB),
    GST_PV_SHM_SRC_COLOR_SPACE_BGR = int(pvshm::ColorOrder::BGR),
};

constexpr gboolean kDefaultNormalize = FALSE;
constexpr GstPvShmSrcMode kDefaultMode = GST_PV_SHM_SRC_MODE_LATEST;
constexpr guint64 kDefaultTimeout = 0;
constexpr gboolean kDefaultIsLive = TRUE;
constexpr GstPvShmSrcColorSpace kDefaultColorSpace = GST_PV_SHM_SRC_COLOR_SPACE_RGB;
constexpr guint64 kDefaultMaxAge = 0;
constexpr gboolean kDefaultAllowOtherOwner = FALSE;
constexpr guint64 kDefaultSpin = 0;
// How long a wait for a frame goes without looking whether the element is being flushed.
constexpr std::chrono::milliseconds kWaitSlice{50};
// Returned by the functions that make a frame's buffer when the frame is not output: create()
// goes on to the next one.
constexpr GstFlowReturn kFrameSkipped = GST_FLOW_CUSTOM_SUCCESS;

GST_DEBUG_CATEGORY(gst_pv_shm_src_debug);
#define GST_CAT_DEFAULT gst_pv_shm_src_debug

#define GST_TYPE_PV_SHM_SRC_MODE (gst_pv_shm_src_mode_get_type())
static GType gst_pv_shm_src_mode_get_type()
{
    static gsize type = 0;
    static const GEnumValue values[] = {
        {GST_PV_SHM_SRC_MODE_LATEST, "Always the newest frame, skipping older ones", "latest"},
        {GST_PV_SHM_SRC_MODE_ALL, "Every frame in order, overwritten ones counted as dropped",
         "all"},
        {0, nullptr, nullptr},
    };
    if (g_once_init_enter(&type))
        g_once_init_leave(&type, g_enum_register_static("GstPvShmSrcMode", values));
    return type;
}

#define GST_TYPE_PV_SHM_SRC_COLOR_SPACE (gst_pv_shm_src_color_space_get_type())
static GType gst_pv_shm_src_color_space_get_type()
{
    static gsize type = 0;
    static const GEnumValue values[] = {
        {GST_PV_SHM_SRC_COLOR_SPACE_RGB, "Red, green, blue", "RGB"},
        {GST_PV_SHM_SRC_COLOR_SPACE_BGR, "Blue, green, red (OpenCV's order)", "BGR"},
        {0, nullptr, nullptr},
    };
    if (g_once_init_enter(&type))
        g_once_init_leave(&type, g_enum_register_static("GstPvShmSrcColorSpace", values));
    return type;
}

// What keeps frames from coming, as far as the reader can tell.
enum class Absence
{
    None, // a live writer, or nothing looked at yet
    NoSegment,
    WriterGone,
};

struct PvShmSrcState
{
    // Guards the settings against property calls from application threads.
    std::mutex lock;
    std::string shared_mem_id;
    bool normalize = kDefaultNormalize;
    GstPvShmSrcMode mode = kDefaultMode;
    guint64 timeout = kDefaultTimeout;
    bool is_live = kDefaultIsLive;
    GstPvShmSrcColorSpace color_space = kDefaultColorSpace;
    guint64 max_age = kDefaultMaxAge;
    bool allow_other_owner = kDefaultAllowOtherOwner;
    guint64 spin = kDefaultSpin;

    // Set by unlock() so that a waiting create() returns promptly.
    std::atomic<bool> flushing{false};
    std::atomic<uint64_t> frames_read{0};
    std::atomic<uint64_t> frames_dropped{0};
    std::atomic<uint64_t> frames_too_old{0};

    // Streaming thread (and start/stop) only.
    std::unique_ptr<pvshm::Reader> reader;
    PvShmSrcOutput output;
    // The PTS last output: for strictly increasing PTS and durations from gaps.
    GstClockTime last_pts = GST_CLOCK_TIME_NONE;
    // Without a pipeline clock, the first frame's capture time is the stream's zero.
    std::optional<int64_t> clockless_origin_ns;
    // The absence warned about since frames last came (one warning per episode).
    Absence warned = Absence::None;
    bool warned_left_out_keys = false;

    // What the negotiated caps were built from (gst_pv_shm_format_caps_key), to build and
    // compare caps only when frames change.
    std::optional<GstPvShmCapsKey> caps_key;
    PvShmSrcNextBuffer next;

    // Under the object lock: answers caps queries between frames.
    GstCaps* caps = nullptr;
};

// A consistent copy of the settings, for the streaming thread.
struct PvShmSrcSettings
{
    bool normalize;
    GstPvShmSrcMode mode;
    guint64 timeout;
    pvshm::ColorOrder color_order;
    guint64 max_age;
};

struct _GstPvShmSrc
{
    GstPushSrc parent;
    PvShmSrcState* state;
};

G_DEFINE_TYPE_WITH_CODE(GstPvShmSrc, gst_pv_shm_src, GST_TYPE_PUSH_SRC,
                        G_IMPLEMENT_INTERFACE(GST_TYPE_URI_HANDLER, gst_pv_shm_uri_src_handler_init)
                            GST_DEBUG_CATEGORY_INIT(gst_pv_shm_src_debug, "pvshmsrc", 0,
                                                    "pvshm shared-memory source"));
GST_ELEMENT_REGISTER_DEFINE(pvshmsrc, "pvshmsrc", GST_RANK_NONE, GST_TYPE_PV_SHM_SRC);

static void gst_pv_shm_src_finalize(GObject* object);
static void gst_pv_shm_src_set_property(GObject* object, guint prop_id, const GValue* value,
                                        GParamSpec* pspec);
static void gst_pv_shm_src_get_property(GObject* object, guint prop_id, GValue* value,
                                        GParamSpec* pspec);
static gboolean gst_pv_shm_src_start(GstBaseSrc* src);
static GstCaps* gst_pv_shm_src_get_caps(GstBaseSrc* src, GstCaps* filter);
static gboolean gst_pv_shm_src_negotiate(GstBaseSrc* src);
static gboolean gst_pv_shm_src_query(GstBaseSrc* src, GstQuery* query);
static gboolean gst_pv_shm_src_unlock(GstBaseSrc* src);
static gboolean gst_pv_shm_src_unlock_stop(GstBaseSrc* src);
static GstFlowReturn gst_pv_shm_src_create(GstPushSrc* src, GstBuffer** out);
static gboolean gst_pv_shm_src_stop(GstBaseSrc* src);

static void gst_pv_shm_src_class_init(GstPvShmSrcClass* klass)
{
    GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
    GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
    GstBaseSrcClass* basesrc_class = GST_BASE_SRC_CLASS(klass);
    GstPushSrcClass* pushsrc_class = GST_PUSH_SRC_CLASS(klass);

    gobject_class->finalize = gst_pv_shm_src_finalize;
    gobject_class->set_property = gst_pv_shm_src_set_property;
    gobject_class->get_property = gst_pv_shm_src_get_property;

    const auto settings =
        GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
    g_object_class_install_property(gobject_class, PROP_SHARED_MEM_ID,
                                    g_param_spec_string("shared-mem-id", "Shared memory id",
                                                        gst_pv_shm_id_blurb("read"), nullptr,
                                                        settings));
    g_object_class_install_property(
        gobject_class, PROP_NORMALIZE,
        g_param_spec_boolean("normalize", "Normalize",
                             "Output video/x-raw,format=RGB converted as the pvshm library does, "
                             "instead of the frames' own caps",
                             kDefaultNormalize, settings));
    g_object_class_install_property(gobject_class, PROP_MODE,
                                    g_param_spec_enum("mode", "Mode", "Which frames to output",
                                                      GST_TYPE_PV_SHM_SRC_MODE, kDefaultMode,
                                                      settings));
    g_object_class_install_property(
        gobject_class, PROP_TIMEOUT,
        g_param_spec_uint64("timeout", "Timeout",
                            "Nanoseconds to wait for the segment or a new frame before ending "
                            "the stream (0: wait forever)",
                            0, G_MAXUINT64, kDefaultTimeout, settings));
    g_object_class_install_property(gobject_class, PROP_IS_LIVE,
                                    g_param_spec_boolean("is-live", "Is live",
                                                         "Act as a live source", kDefaultIsLive,
                                                         settings));
    g_object_class_install_property(
        gobject_class, PROP_COLOR_SPACE,
        g_param_spec_enum("color-space", "Color space",
                          "Channel order of 3-channel frames written without one (raw arrays), "
                          "for their caps and for normalize=true",
                          GST_TYPE_PV_SHM_SRC_COLOR_SPACE, kDefaultColorSpace, settings));
    g_object_class_install_property(
        gobject_class, PROP_MAX_AGE,
        g_param_spec_uint64("max-age", "Maximum age",
                            "Skip frames captured longer ago than this many nanoseconds, by "
                            "their realtime capture time (0: any age)",
                            0, G_MAXUINT64, kDefaultMaxAge, settings));
    g_object_class_install_property(
        gobject_class, PROP_ALLOW_OTHER_OWNER,
        g_param_spec_boolean("allow-other-owner", "Allow other owner",
                             "Read a segment that belongs to another user (refused by default: "
                             "anyone could have planted it under the id)",
                             kDefaultAllowOtherOwner, settings));
    g_object_class_install_property(
        gobject_class, PROP_SPIN,
        g_param_spec_uint64("spin", "Spin",
                            "Low latency: nanoseconds each wait looks for a new frame in a busy "
                            "loop before it sleeps (0: sleeps at once). A frame interval or more "
                            "keeps a core busy, and takes each frame within microseconds of its "
                            "publication",
                            0, G_MAXUINT64, kDefaultSpin, settings));
    g_object_class_install_property(
        gobject_class, PROP_STATS,
        g_param_spec_boxed("stats", "Statistics",
                           "Frames read, frames dropped (overwritten before they were read, "
                           "in mode=all) and frames skipped as older than max-age "
                           "(frames-too-old)",
                           GST_TYPE_STRUCTURE,
                           GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));
    gst_type_mark_as_plugin_api(GST_TYPE_PV_SHM_SRC_MODE, GstPluginAPIFlags(0));
    gst_type_mark_as_plugin_api(GST_TYPE_PV_SHM_SRC_COLOR_SPACE, GstPluginAPIFlags(0));

    // What pvshmsink writes; normalize=true outputs RGB, one of them.
    g_autoptr(GstCaps) caps = gst_pv_shm_format_all_caps();
    gst_element_class_add_pad_template(
        element_class, gst_pad_template_new("src", GST_PAD_SRC, GST_PAD_ALWAYS, caps));
    gst_element_class_set_static_metadata(element_class, "pvshm source", "Source/Video",
                                          "Reads video frames from a pvshm shared-memory segment",
                                          "pvshm developers");

    basesrc_class->start = GST_DEBUG_FUNCPTR(gst_pv_shm_src_start);
    basesrc_class->get_caps = GST_DEBUG_FUNCPTR(gst_pv_shm_src_get_caps);
    basesrc_class->negotiate = GST_DEBUG_FUNCPTR(gst_pv_shm_src_negotiate);
    basesrc_class->query = GST_DEBUG_FUNCPTR(gst_pv_shm_src_query);
    basesrc_class->unlock = GST_DEBUG_FUNCPTR(gst_pv_shm_src_unlock);
    basesrc_class->unlock_stop = GST_DEBUG_FUNCPTR(gst_pv_shm_src_unlock_stop);
    basesrc_class->stop = GST_DEBUG_FUNCPTR(gst_pv_shm_src_stop);
    pushsrc_class->create = GST_DEBUG_FUNCPTR(gst_pv_shm_src_create);
}

static void gst_pv_shm_src_init(GstPvShmSrc* self)
{
    self->state = new PvShmSrcState;
    gst_base_src_set_format(GST_BASE_SRC(self), GST_FORMAT_TIME);
    gst_base_src_set_live(GST_BASE_SRC(self), kDefaultIsLive);
}

static void gst_pv_shm_src_finalize(GObject* object)
{
    PvShmSrcState* state = GST_PV_SHM_SRC(object)->state;
    gst_caps_replace(&state->caps, nullptr);
    delete state;
    G_OBJECT_CLASS(gst_pv_shm_src_parent_class)->finalize(object);
}

static void gst_pv_shm_src_set_property(GObject* object, guint prop_id, const GValue* value,
                                        GParamSpec* pspec)
{
    GstPvShmSrc* self = GST_PV_SHM_SRC(object);
    PvShmSrcState* state = self->state;
    std::lock_guard lock(state->lock);
    switch (prop_id) {
    case PROP_SHARED_MEM_ID: {
        const gchar* id = g_value_get_string(value);
        state->shared_mem_id = id ? id : "";
        break;
    }
    case PROP_NORMALIZE:
        state->normalize = g_value_get_boolean(value);
        break;
    case PROP_MODE:
        state->mode = GstPvShmSrcMode(g_value_get_enum(value));
        break;
    case PROP_TIMEOUT:
        state->timeout = g_value_get_uint64(value);
        break;
    case PROP_IS_LIVE:
        state->is_live = g_value_get_boolean(value);
        gst_base_src_set_live(GST_BASE_SRC(self), state->is_live);
        break;
    case PROP_COLOR_SPACE:
        state->color_space = GstPvShmSrcColorSpace(g_value_get_enum(value));
        break;
    case PROP_MAX_AGE:
        state->max_age = g_value_get_uint64(value);
        break;
    case PROP_ALLOW_OTHER_OWNER:
        state->allow_other_owner = g_value_get_boolean(value);
        break;
    case PROP_SPIN:
        state->spin = g_value_get_uint64(value);
        break;
    default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
        break;
    }
}

static void gst_pv_shm_src_get_property(GObject* object, guint prop_id, GValue* value,
                                        GParamSpec* pspec)
{
    PvShmSrcState* state = GST_PV_SHM_SRC(object)->state;
    std::lock_guard lock(state->lock);
    switch (prop_id) {
    case PROP_SHARED_MEM_ID:
        g_value_set_string(value,
                           state->shared_mem_id.empty() ? nullptr : state->shared_mem_id.c_str());
        break;
    case PROP_NORMALIZE:
        g_value_set_boolean(value, state->normalize);
        break;
    case PROP_MODE:
        g_value_set_enum(value, state->mode);
        break;
    case PROP_TIMEOUT:
        g_value_set_uint64(value, state->timeout);
        break;
    case PROP_IS_LIVE:
        g_value_set_boolean(value, state->is_live);
        break;
    case PROP_COLOR_SPACE:
        g_value_set_enum(value, state->color_space);
        break;
    case PROP_MAX_AGE:
        g_value_set_uint64(value, state->max_age);
        break;
    case PROP_ALLOW_OTHER_OWNER:
        g_value_set_boolean(value, state->allow_other_owner);
        break;
    case PROP_SPIN:
        g_value_set_uint64(value, state->spin);
        break;
    case PROP_STATS:
        g_value_take_boxed(
            value, gst_structure_new("GstPvShmSrcStats", "frames-read", G_TYPE_UINT64,
                                     state->frames_read.load(), "frames-dropped", G_TYPE_UINT64,
                                     state->frames_dropped.load(), "frames-too-old", G_TYPE_UINT64,
                                     state->frames_too_old.load(), nullptr));
        break;
    default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
        break;
    }
}

static gboolean gst_pv_shm_src_start(GstBaseSrc* src)
{
    GstPvShmSrc* self = GST_PV_SHM_SRC(src);
    PvShmSrcState* state = self->state;
    std::string id;
    pvshm::ReaderOptions options;
    {
        std::lock_guard lock(state->lock);
        id = state->shared_mem_id;
        options.allow_other_owner = state->allow_other_owner;
        options.spin = std::chrono::nanoseconds(
            std::min<guint64>(state->spin, guint64(std::numeric_limits<int64_t>::max())));
    }
    if (id.empty()) {
        GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND, ("No shared-mem-id given"),
                          ("the shared-mem-id property is required"));
        return FALSE;
    }
    try {
        GstPvShmLogScope scope(GST_CAT_DEFAULT, self);
        state->reader = std::make_unique<pvshm::Reader>(id, options);
    } catch (...) {
        gst_pv_shm_post_exception(GST_ELEMENT(self), GstPvShmAccess::Read,
                                  "Could not read shared memory '" + id + "'");
        return FALSE;
    }
    state->frames_read = 0;
    state->frames_dropped = 0;
    state->frames_too_old = 0;
    state->last_pts = GST_CLOCK_TIME_NONE;
    state->clockless_origin_ns.reset();
    state->warned = Absence::None;
    state->warned_left_out_keys = false;
    GST_INFO_OBJECT(self, "reading '%s'", id.c_str());
    return TRUE;
}

// The caps of the latest frames (a new reference), or nullptr before the first frame.
static GstCaps* gst_pv_shm_src_frame_caps(GstPvShmSrc* self)
{
    GST_OBJECT_LOCK(self);
    GstCaps* caps = self->state->caps ? gst_caps_ref(self->state->caps) : nullptr;
    GST_OBJECT_UNLOCK(self);
    return caps;
}

static GstCaps* gst_pv_shm_src_get_caps(GstBaseSrc* src, GstCaps* filter)
{
    g_autoptr(GstCaps) caps = gst_pv_shm_src_frame_caps(GST_PV_SHM_SRC(src));
    if (!caps)
        caps = gst_pad_get_pad_template_caps(GST_BASE_SRC_PAD(src));
    if (!filter)
        return g_steal_pointer(&caps);
    return gst_caps_intersect_full(filter, caps, GST_CAPS_INTERSECT_FIRST);
}

// The caps come from the frames, not from downstream: before the first frame there is nothing
// to negotiate, after it the frame's caps are the only choice.
static gboolean gst_pv_shm_src_negotiate(GstBaseSrc* src)
{
    g_autoptr(GstCaps) caps = gst_pv_shm_src_frame_caps(GST_PV_SHM_SRC(src));
    return !caps || gst_base_src_set_caps(src, caps);
}

static gboolean gst_pv_shm_src_query(GstBaseSrc* src, GstQuery* query)
{
    GstPvShmSrc* self = GST_PV_SHM_SRC(src);
    if (GST_QUERY_TYPE(query) == GST_QUERY_LATENCY) {
        bool is_live;
        {
            std::lock_guard lock(self->state->lock);
            is_live = self->state->is_live;
        }
        // Buffers carry their capture time: whatever latency the writer's pipeline had is
        // already in them, and a frame is output as soon as it is published.
        gst_query_set_latency(query, is_live, 0, GST_CLOCK_TIME_NONE);
        return TRUE;
    }
    return GST_BASE_SRC_CLASS(gst_pv_shm_src_parent_class)->query(src, query);
}

static gboolean gst_pv_shm_src_unlock(GstBaseSrc* src)
{
    GST_PV_SHM_SRC(src)->state->flushing = true;
    return TRUE;
}

static gboolean gst_pv_shm_src_unlock_stop(GstBaseSrc* src)
{
    GST_PV_SHM_SRC(src)->state->flushing = false;
    return TRUE;
}

static bool downstream_takes_video_meta(GstPvShmSrc* self, GstCaps* caps)
{
    g_autoptr(GstQuery) query = gst_query_new_allocation(caps, FALSE);
    return gst_pad_peer_query(GST_BASE_SRC_PAD(self), query) &&
           gst_query_find_allocation_meta(query, GST_VIDEO_META_API_TYPE, nullptr);
}

// What `caps`, accepted downstream, say of every buffer.
static PvShmSrcOutput gst_pv_shm_src_output_of(GstPvShmSrc* self, GstCaps* caps)
{
    PvShmSrcOutput output;
    output.raw_video = gst_pv_shm_format_raw_video_info(caps, &output.video_info);
    output.downstream_video_meta = downstream_takes_video_meta(self, caps);
    gint rate = 0;
    gint scale = 1;
    if (gst_structure_get_fraction(gst_caps_get_structure(caps, 0), "framerate", &rate, &scale) &&
        rate > 0 && scale > 0)
        output.frame_interval = gst_util_uint64_scale_int(GST_SECOND, scale, rate);
    return output;
}

static void gst_pv_shm_src_drop_next(PvShmSrcState* state)
{
    if (state->next.buffer)
        gst_buffer_unref(state->next.buffer);
    state->next = {};
}

// Makes `caps` the output caps unless they already are, and `state->output` what they say.
// False, with an element error posted, when downstream refuses them.
static bool gst_pv_shm_src_use_caps(GstPvShmSrc* self, GstCaps* caps)
{
    PvShmSrcState* state = self->state;
    g_autoptr(GstCaps) current = gst_pad_get_current_caps(GST_BASE_SRC_PAD(self));
    if (current && gst_caps_is_equal(current, caps))
        return true;
    GST_INFO_OBJECT(self, "frames are now %" GST_PTR_FORMAT, caps);
    GST_OBJECT_LOCK(self);
    gst_caps_replace(&state->caps, caps);
    GST_OBJECT_UNLOCK(self);
    if (!gst_base_src_set_caps(GST_BASE_SRC(self), caps)) {
        state->caps_key.reset();
        GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, ("Downstream refused the frames' caps"),
                          (nullptr));
        return false;
    }
    state->output = gst_pv_shm_src_output_of(self, caps);
    gst_pv_shm_src_drop_next(state);
    return true;
}

// The frame normalized to RGB, in caps of its size, negotiated before the buffer is made.
static GstFlowReturn gst_pv_shm_src_frame_normalized(GstPvShmSrc* self,
                                                     const pvshm::FrameView& view,
                                                     pvshm::ColorOrder unordered, GstBuffer** out)
{
    std::unique_ptr<cv::Mat> rgb =
        gst_pv_shm_src_buffer_normalize(GST_ELEMENT(self), view, unordered, self->state->output);
    if (!rgb)
        return kFrameSkipped;
    GstVideoInfo video;
    gst_video_info_set_format(&video, GST_VIDEO_FORMAT_RGB, rgb->cols, rgb->rows);
    g_autoptr(GstCaps) caps = gst_video_info_to_caps(&video);
    if (!gst_pv_shm_src_use_caps(self, caps))
        return GST_FLOW_NOT_NEGOTIATED;
    *out = gst_pv_shm_src_buffer_rgb(GST_ELEMENT(self), std::move(rgb), video);
    return *out ? GST_FLOW_OK : GST_FLOW_ERROR;
}

// The frame in place, in the caps it was stored with: those are negotiated first when they
// changed, since the buffer is made as the output caps say.
static GstFlowReturn gst_pv_shm_src_frame_as_stored(GstPvShmSrc* self, pvshm::FrameView view,
                                                    pvshm::ColorOrder unordered, GstBuffer** out,
                                                    GstPvShmMetas& metas)
{
    PvShmSrcState* state = self->state;
    const pvshm::FrameInfo& info = view.info();
    // Parsing and comparing caps would cost more than the rest of a frame's trip.
    if (!state->caps_key ||
        !gst_pv_shm_format_caps_key_matches(*state->caps_key, info, view.data())) {
        g_autoptr(GstCaps) caps = gst_pv_shm_format_caps_for_frame(info, view.data(), unordered);
        if (!caps) {
            GST_ELEMENT_WARNING(self, STREAM, WRONG_TYPE,
                                ("Skipped a frame whose format has no caps"),
                                ("pixel format %u", unsigned(info.format)));
            return kFrameSkipped;
        }
        if (!gst_pv_shm_src_use_caps(self, caps))
            return GST_FLOW_NOT_NEGOTIATED;
        state->caps_key = gst_pv_shm_format_caps_key(info, view.data());
    }
    *out = gst_pv_shm_src_buffer_wrap(GST_ELEMENT(self), std::move(view), state->output,
                                      state->next, metas);
    return *out ? GST_FLOW_OK : GST_FLOW_ERROR;
}

// The frame's facts on its buffer (see the element's documentation). PTS are the frame's
// CLOCK_MONOTONIC capture time in our running time, placed by gst_pv_shm_place_frame().
// `metas`, when attached already, are filled in.
static void gst_pv_shm_src_stamp(GstPvShmSrc* self, GstBuffer* buffer, const pvshm::FrameInfo& info,
                                 GstPvShmMetas metas)
{
    PvShmSrcState* state = self->state;
    const int64_t capture = info.timestamp_monotonic_ns;
    int64_t running = 0;
    g_autoptr(GstClock) clock = gst_element_get_clock(GST_ELEMENT(self));
    if (clock) {
        running = capture - gst_pv_shm_clock_to_monotonic_offset(clock) -
                  int64_t(gst_element_get_base_time(GST_ELEMENT(self)));
    } else {
        if (!state->clockless_origin_ns)
            state->clockless_origin_ns = capture;
        running = capture - *state->clockless_origin_ns;
    }

    const GstPvShmPlacement placed = gst_pv_shm_place_frame(
        running, state->last_pts,
        info.duration_ns > 0 ? GstClockTime(info.duration_ns) : GST_CLOCK_TIME_NONE,
        state->output.frame_interval);
    GST_BUFFER_PTS(buffer) = placed.pts;
    GST_BUFFER_DURATION(buffer) = placed.duration;
    GST_BUFFER_OFFSET(buffer) = info.sequence;
    GST_BUFFER_OFFSET_END(buffer) = info.sequence + 1;
    state->last_pts = placed.pts;

    if (!metas.unix_time)
        metas = gst_pv_shm_meta_attach(buffer);
    const std::string left_out = gst_pv_shm_meta_fill(metas, info);
    if (!left_out.empty() && !state->warned_left_out_keys) {
        state->warned_left_out_keys = true;
        GST_ELEMENT_WARNING(
            self, STREAM, FORMAT,
            ("Frame metadata keys %s are named like fields of %s and left out of it",
             left_out.c_str(), kGstPvShmFrameMetaName),
            (nullptr));
    }
}

static std::string seconds_text(guint64 ns)
{
    g_autofree gchar* text = g_strdup_printf("%gs", double(ns) / GST_SECOND);
    return text;
}

// Called when a wait found no frame: looks why and warns once per episode when the id has no
// segment or its writer is gone. Returns what it found.
static Absence gst_pv_shm_src_look_for_absence(GstPvShmSrc* self)
{
    PvShmSrcState* state = self->state;
    const std::string& id = state->reader->id();
    Absence absence = Absence::None;
    if (!state->reader->writer_alive())
        absence = state->reader->status() ? Absence::WriterGone : Absence::NoSegment;
    if (absence == Absence::None || absence == state->warned)
        return absence;
    state->warned = absence;
    if (absence == Absence::NoSegment)
        GST_ELEMENT_WARNING(
            self, RESOURCE, NOT_FOUND,
            ("No shared-memory segment '%s' (yet): waiting for its writer", id.c_str()),
            ("no segment named '%s' to read", id.c_str()));
    else
        GST_ELEMENT_WARNING(self, RESOURCE, READ,
                            ("The writer of '%s' is gone: waiting for a new one", id.c_str()),
                            ("segment '%s' has no live writer", id.c_str()));
    return absence;
}

// Says why the stream ends for want of a frame within `timeout`: an element message
// "GstPvShmSrcTimeout" (shared-mem-id, reason, timeout), and a warning unless one was already
// posted for that reason.
static void gst_pv_shm_src_post_timeout(GstPvShmSrc* self, const PvShmSrcSettings& settings,
                                        uint64_t skipped_old)
{
    const Absence absence = gst_pv_shm_src_look_for_absence(self);
    const std::string& id = self->state->reader->id();
    const std::string within = " within " + seconds_text(settings.timeout);
    std::string reason;
    switch (absence) {
    case Absence::NoSegment:
        reason = "no segment '" + id + "'" + within;
        break;
    case Absence::WriterGone:
        reason = "writer of '" + id + "' is gone, no new frame" + within;
        break;
    case Absence::None:
        reason = skipped_old > 0 ? "no frame of '" + id + "' younger than max-age (" +
                                       seconds_text(settings.max_age) + ")" + within
                                 : "no new frame of '" + id + "'" + within;
        break;
    }
    GST_INFO_OBJECT(self, "%s, end of stream", reason.c_str());
    if (absence == Absence::None)
        GST_ELEMENT_WARNING(self, RESOURCE, READ, ("%s, end of stream", reason.c_str()), (nullptr));
    gst_element_post_message(
        GST_ELEMENT(self),
        gst_message_new_element(GST_OBJECT(self),
                                gst_structure_new("GstPvShmSrcTimeout", "shared-mem-id",
                                                  G_TYPE_STRING, id.c_str(), "reason",
                                                  G_TYPE_STRING, reason.c_str(), "timeout",
                                                  G_TYPE_UINT64, settings.timeout, nullptr)));
}

static bool older_than(const pvshm::FrameInfo& info, guint64 max_age)
{
    const int64_t age = info.age_ns();
    return max_age != 0 && age > 0 && guint64(age) > max_age;
}

// Waits for the next frame to output. nullopt with `result` set when there is none: flushing,
// timeout (EOS) or a library error (posted).
static std::optional<pvshm::FrameView> gst_pv_shm_src_next_frame(GstPvShmSrc* self,
                                                                 const PvShmSrcSettings& settings,
                                                                 GstFlowReturn& result)
{
    PvShmSrcState* state = self->state;
    using Clock = std::chrono::steady_clock;
    const guint64 timeout = settings.timeout;
    const auto deadline = Clock::now() + std::chrono::nanoseconds(timeout);
    uint64_t skipped_old = 0;
    GstPvShmLogScope scope(GST_CAT_DEFAULT, self);
    try {
        for (;;) {
            if (state->flushing) {
                result = GST_FLOW_FLUSHING;
                return std::nullopt;
            }
            auto slice = std::chrono::duration_cast<std::chrono::nanoseconds>(kWaitSlice);
            if (timeout != 0)
                slice = std::clamp(
                    std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - Clock::now()),
                    std::chrono::nanoseconds(0), slice);
            // In order, a frame is looked for before any wait: a reader of every frame holds a
            // lossless writer from the moment the segment exists, before its first frame.
            const bool in_order = settings.mode == GST_PV_SHM_SRC_MODE_ALL;
            std::optional<pvshm::FrameView> view;
            if (in_order)
                view = state->reader->view_next();
            if (view || state->reader->wait(slice)) {
                if (!view)
                    view = in_order ? state->reader->view_next() : state->reader->view_latest();
                if (view && !older_than(view->info(), settings.max_age))
                    return view;
                if (view) {
                    ++skipped_old;
                    state->frames_too_old++;
                    GST_LOG_OBJECT(self, "frame %" G_GUINT64_FORMAT " older than max-age, skipped",
                                   view->info().sequence);
                }
            } else {
                gst_pv_shm_src_look_for_absence(self);
            }
            if (timeout != 0 && Clock::now() >= deadline) {
                gst_pv_shm_src_post_timeout(self, settings, skipped_old);
                result = GST_FLOW_EOS;
                return std::nullopt;
            }
        }
    } catch (...) {
        gst_pv_shm_post_exception(GST_ELEMENT(self), GstPvShmAccess::Read,
                                  "Could not read shared memory '" + state->reader->id() + "'");
        result = GST_FLOW_ERROR;
        return std::nullopt;
    }
}

static GstFlowReturn gst_pv_shm_src_create(GstPushSrc* src, GstBuffer** out)
{
    GstPvShmSrc* self = GST_PV_SHM_SRC(src);
    PvShmSrcState* state = self->state;
    PvShmSrcSettings settings;
    {
        std::lock_guard lock(state->lock);
        settings = {state->normalize, state->mode, state->timeout,
                    pvshm::ColorOrder(state->color_space), state->max_age};
    }
    for (;;) {
        if (!settings.normalize && !state->next.buffer)
            state->next = gst_pv_shm_src_buffer_prepare(state->output);
        GstFlowReturn result = GST_FLOW_OK;
        auto view = gst_pv_shm_src_next_frame(self, settings, result);
        if (!view)
            return result;
        state->frames_dropped = state->reader->frames_skipped();
        // Frames come again: a later absence is news.
        state->warned = Absence::None;
        // Keeps the description alive (not a copy of it) while the buffer takes the view.
        const pvshm::FrameView frame = *view;
        GstBuffer* buffer = nullptr;
        GstPvShmMetas metas;
        result = settings.normalize
                     ? gst_pv_shm_src_frame_normalized(self, frame, settings.color_order, &buffer)
                     : gst_pv_shm_src_frame_as_stored(self, std::move(*view), settings.color_order,
                                                      &buffer, metas);
        if (result == kFrameSkipped)
            continue;
        if (result != GST_FLOW_OK)
            return result;
        gst_pv_shm_src_stamp(self, buffer, frame.info(), metas);
        state->frames_read++;
        *out = buffer;
        return GST_FLOW_OK;
    }
}

static gboolean gst_pv_shm_src_stop(GstBaseSrc* src)
{
    GstPvShmSrc* self = GST_PV_SHM_SRC(src);
    self->state->reader.reset();
    self->state->caps_key.reset();
    gst_pv_shm_src_drop_next(self->state);
    GST_OBJECT_LOCK(self);
    gst_caps_replace(&self->state->caps, nullptr);
    GST_OBJECT_UNLOCK(self);
    return TRUE;
}
