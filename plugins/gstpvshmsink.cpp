// SPDX-License-Identifier: LGPL-2.1-or-later
// The example launch lines below stand one per line.
// clang-format off
/**
 * SECTION:element-pvshmsink
 * @title: pvshmsink
 *
 * Writes each buffer as the newest frame of a pvshm shared-memory segment, where any number of
 * processes read it (pvshmsrc, or the pvshm library). Upstream elements that use the proposed
 * buffer pool draw their frames straight into shared memory; other buffers are copied once. The
 * sink never waits for a reader: a frame that finds every slot pinned is dropped and counted.
 * With lossless=true (replaying recorded video through an algorithm) it waits, without polling,
 * until every reader of every frame (pvshmsrc mode=all) has taken a frame before reusing its slot,
 * for at most lossless-timeout per reader that fell behind; readers of the newest frame never
 * make it wait, and a flushing or stopping pipeline ends the wait (the frame is dropped).
 *
 * A frame's capture time is the buffer's running time in CLOCK_MONOTONIC; its realtime capture
 * time comes from a `timestamp/x-unix` #GstReferenceTimestampMeta when the buffer has one. The
 * user fields of a "GstPvShmFrameMeta" custom meta (see pvshmsrc) become the frame's user
 * metadata, its `camera-id` the frame's camera id unless the camera-id property is set, and its
 * `bit-depth` the bit depth of GRAY16_LE frames unless the bit-depth property is set.
 *
 * With wait-for-readers=N, the first frame waits until N readers of every frame are attached (an
 * INFO message on the bus says so when the element starts); after wait-for-readers-timeout the
 * element fails with an error naming how many came. With lossless=true, this replays a recording
 * to readers started after the pipeline, every frame from the first.
 *
 * Property values outside their range (slots, perms, bit-depth, lossless-timeout,
 * wait-for-readers, wait-for-readers-timeout) keep the element from starting.
 *
 * As a URI handler it takes pvshm://ID, the id as the host and any property as a query
 * parameter (pvshm://cam0?slots=8&lossless=true), as pvshmsrc does.
 * A segment that never received a frame is removed when the element stops.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 videotestsrc ! video/x-raw,format=BGR,width=640,height=480 ! pvshmsink shared-mem-id=cam0
 * gst-launch-1.0 v4l2src ! image/jpeg ! pvshmsink shared-mem-id=cam0 camera-id=front persist=false
 * ]|
 */
// clang-format on
#include "gstpvshmsink.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>

#include <gst/video/video.h>

#include <pvshm/clock.hpp>
#include <pvshm/format.hpp>
#include <pvshm/writer.hpp>

#include "gstpvshmclock.h"
#include "gstpvshmerror.h"
#include "gstpvshmformat.h"
#include "gstpvshmlog.h"
#include "gstpvshmmeta.h"
#include "gstpvshmpool.h"
#include "gstpvshmuri.h"
#include "gstpvshmvideo.h"

enum
{
    PROP_0,
    PROP_SHARED_MEM_ID,
    PROP_SLOTS,
    PROP_CAMERA_ID,
    PROP_PERMS,
    PROP_PERSIST,
    PROP_BIT_DEPTH,
    PROP_LOSSLESS,
    PROP_LOSSLESS_TIMEOUT,
    PROP_WAIT_FOR_READERS,
    PROP_WAIT_FOR_READERS_TIMEOUT,
    PROP_SOURCE,
    PROP_SOURCE_ALIVE,
    PROP_STATS,
};

// The library's defaults, not restated.
static const pvshm::WriterOptions kDefaultWriterOptions{};
// The library's limits. GObject would only warn about a value outside a param spec's range and
// keep the previous one, so the specs take any value and start() refuses those out of range.
constexpr guint kMinSlots = pvshm::kMinWriterSlots;
constexpr guint kMaxSlots = pvshm::kMaxWriterSlots;
constexpr guint kMaxPerms = pvshm::kMaxWriterMode;
constexpr guint kMaxBitDepth = pvshm::kMaxBitDepth;
constexpr guint64 kMaxLosslessTimeout = G_MAXINT64;
constexpr guint kMaxWaitForReaders = 1024;
constexpr guint64 kMaxWaitForReadersTimeout = G_MAXINT64;
constexpr gboolean kDefaultPersist = TRUE;
// The element's own default, fixed by its interface; the library chooses from the frame size.
constexpr guint kDefaultSlots = 4;

GST_DEBUG_CATEGORY_STATIC(gst_pv_shm_sink_debug);
#define GST_CAT_DEFAULT gst_pv_shm_sink_debug

struct PvShmSinkState
{
    // Guards the settings and `writer` against property calls from application threads.
    std::mutex lock;
    std::string shared_mem_id;
    guint slots = kDefaultSlots;
    std::string camera_id;
    guint perms = kDefaultWriterOptions.mode;
    bool persist = kDefaultPersist;
    guint bit_depth = kDefaultWriterOptions.bit_depth;
    bool lossless = kDefaultWriterOptions.lossless;
    guint64 lossless_timeout = guint64(kDefaultWriterOptions.lossless_timeout.count());
    guint wait_for_readers = kDefaultWriterOptions.wait_for_readers;
    guint64 wait_for_readers_timeout =
        guint64(kDefaultWriterOptions.wait_for_readers_timeout.count());
    std::string source;
    bool source_alive = true;
    // Shared with the pools handed upstream, which hold it weakly.
    std::shared_ptr<pvshm::Writer> writer;

    // Streaming thread only: what the current caps say every frame looks like, and the frame
    // being written, assigned from it for every buffer (its strings keep their storage: no
    // allocation per frame).
    std::optional<pvshm::FrameInfo> frame;
    pvshm::FrameInfo current;
    GstVideoInfo video_info{};
    bool raw_video = false;
    bool camera_id_set = false;
    bool bit_depth_set = false;
    bool warned_metadata = false;
    bool warned_held = false; // readers held every slot for more than a second

    std::atomic<uint64_t> frames_written{0};
    std::atomic<uint64_t> bytes_written{0};
    std::atomic<uint64_t> zero_copy_frames{0};
    std::atomic<uint64_t> frames_dropped{0};
    // The segment counts lossless timeouts across its writers; stats count this run's.
    uint64_t lossless_drops_before = 0;
};

struct _GstPvShmSink
{
    GstBaseSink parent;
    PvShmSinkState* state;
};

G_DEFINE_TYPE_WITH_CODE(GstPvShmSink, gst_pv_shm_sink, GST_TYPE_BASE_SINK,
                        G_IMPLEMENT_INTERFACE(GST_TYPE_URI_HANDLER,
                                              gst_pv_shm_uri_sink_handler_init)
                            GST_DEBUG_CATEGORY_INIT(gst_pv_shm_sink_debug, "pvshmsink", 0,
                                                    "pvshm shared-memory sink"));
GST_ELEMENT_REGISTER_DEFINE(pvshmsink, "pvshmsink", GST_RANK_NONE, GST_TYPE_PV_SHM_SINK);

static void gst_pv_shm_sink_finalize(GObject* object);
static void gst_pv_shm_sink_set_property(GObject* object, guint prop_id, const GValue* value,
                                         GParamSpec* pspec);
static void gst_pv_shm_sink_get_property(GObject* object, guint prop_id, GValue* value,
                                         GParamSpec* pspec);
static gboolean gst_pv_shm_sink_start(GstBaseSink* sink);
static gboolean gst_pv_shm_sink_set_caps(GstBaseSink* sink, GstCaps* caps);
static gboolean gst_pv_shm_sink_propose_allocation(GstBaseSink* sink, GstQuery* query);
static GstFlowReturn gst_pv_shm_sink_render(GstBaseSink* sink, GstBuffer* buffer);
static gboolean gst_pv_shm_sink_unlock(GstBaseSink* sink);
static gboolean gst_pv_shm_sink_unlock_stop(GstBaseSink* sink);
static gboolean gst_pv_shm_sink_stop(GstBaseSink* sink);

static void gst_pv_shm_sink_class_init(GstPvShmSinkClass* klass)
{
    GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
    GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
    GstBaseSinkClass* basesink_class = GST_BASE_SINK_CLASS(klass);

    gobject_class->finalize = gst_pv_shm_sink_finalize;
    gobject_class->set_property = gst_pv_shm_sink_set_property;
    gobject_class->get_property = gst_pv_shm_sink_get_property;

    const auto settings =
        GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
    g_object_class_install_property(gobject_class, PROP_SHARED_MEM_ID,
                                    g_param_spec_string("shared-mem-id", "Shared memory id",
                                                        gst_pv_shm_id_blurb("write"), nullptr,
                                                        settings));
    g_object_class_install_property(
        gobject_class, PROP_SLOTS,
        g_param_spec_uint("slots", "Slots",
                          "Frames the segment holds at once (readers pin them while they read): "
                          "2 to 64",
                          0, G_MAXUINT, kDefaultSlots, settings));
    g_object_class_install_property(gobject_class, PROP_CAMERA_ID,
                                    g_param_spec_string("camera-id", "Camera id",
                                                        "Camera id stored with every frame",
                                                        nullptr, settings));
    g_object_class_install_property(
        gobject_class, PROP_PERMS,
        g_param_spec_uint("perms", "Permissions",
                          "Permission bits of the shared-memory object: 0 to 0777, written in "
                          "octal with a leading 0 (e.g. 0600, 0640)",
                          0, G_MAXUINT, kDefaultWriterOptions.mode, settings));
    g_object_class_install_property(
        gobject_class, PROP_PERSIST,
        g_param_spec_boolean("persist", "Persist",
                             "Keep the segment and its last frame after the element stops "
                             "(false: remove it on stop)",
                             kDefaultPersist, settings));
    g_object_class_install_property(
        gobject_class, PROP_BIT_DEPTH,
        g_param_spec_uint("bit-depth", "Bit depth",
                          "Significant bits of GRAY16_LE frames, 1 to 16 (0: all 16), by which "
                          "readers scale them",
                          0, G_MAXUINT, kDefaultWriterOptions.bit_depth, settings));
    g_object_class_install_property(
        gobject_class, PROP_LOSSLESS,
        g_param_spec_boolean("lossless", "Lossless",
                             "Keep each frame until every reader of every frame (pvshmsrc "
                             "mode=all, the library's view_next) has taken it, waiting for them "
                             "(readers of the newest frame never make it wait)",
                             kDefaultWriterOptions.lossless, settings));
    g_object_class_install_property(
        gobject_class, PROP_LOSSLESS_TIMEOUT,
        g_param_spec_uint64("lossless-timeout", "Lossless timeout",
                            "Nanoseconds a lossless sink waits for a reader that fell behind "
                            "before it drops that reader from the wait, 0 to 2^63-1 (0: as long "
                            "as the reader lives)",
                            0, G_MAXUINT64, guint64(kDefaultWriterOptions.lossless_timeout.count()),
                            settings));
    g_object_class_install_property(
        gobject_class, PROP_WAIT_FOR_READERS,
        g_param_spec_uint("wait-for-readers", "Wait for readers",
                          "Readers of every frame (pvshmsrc mode=all, the library's view_next) "
                          "that must be attached before the first frame is written, 0 to 1024 "
                          "(0: no wait), e.g. to replay a recording to readers started later",
                          0, G_MAXUINT, kDefaultWriterOptions.wait_for_readers, settings));
    g_object_class_install_property(
        gobject_class, PROP_WAIT_FOR_READERS_TIMEOUT,
        g_param_spec_uint64("wait-for-readers-timeout", "Wait for readers timeout",
                            "Nanoseconds the first frame waits for wait-for-readers readers, 0 to "
                            "2^63-1 (0: as long as it takes); then the element fails with an "
                            "error saying how many came",
                            0, G_MAXUINT64,
                            guint64(kDefaultWriterOptions.wait_for_readers_timeout.count()),
                            settings));
    g_object_class_install_property(
        gobject_class, PROP_SOURCE,
        g_param_spec_string(
            "source", "Source",
            "For a relay of another host's frames (pvshm mirror): where they "
            "come from, shown by `pvshm info` (at most 127 bytes)",
            nullptr,
            GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING)));
    g_object_class_install_property(
        gobject_class, PROP_SOURCE_ALIVE,
        g_param_spec_boolean(
            "source-alive", "Source alive",
            "For a relay: whether its source still sends. While false, readers "
            "of the id see its writer as not alive",
            TRUE,
            GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING)));
    // Replaces GstBaseSink's own "stats", which knows nothing of shared memory.
    g_object_class_install_property(
        gobject_class, PROP_STATS,
        g_param_spec_boxed("stats", "Statistics",
                           "Frames and bytes written, frames written in place (zero-copy-frames), "
                           "frames dropped because readers pinned every slot, and lossless waits "
                           "that ran out of lossless-timeout (lossless-drops)",
                           GST_TYPE_STRUCTURE,
                           GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

    g_autoptr(GstCaps) caps = gst_pv_shm_format_all_caps();
    gst_element_class_add_pad_template(
        element_class, gst_pad_template_new("sink", GST_PAD_SINK, GST_PAD_ALWAYS, caps));
    gst_element_class_set_static_metadata(
        element_class, "pvshm sink", "Sink/Video",
        "Writes video frames into a pvshm shared-memory segment for other processes",
        "pvshm developers");

    basesink_class->start = GST_DEBUG_FUNCPTR(gst_pv_shm_sink_start);
    basesink_class->set_caps = GST_DEBUG_FUNCPTR(gst_pv_shm_sink_set_caps);
    basesink_class->propose_allocation = GST_DEBUG_FUNCPTR(gst_pv_shm_sink_propose_allocation);
    basesink_class->render = GST_DEBUG_FUNCPTR(gst_pv_shm_sink_render);
    basesink_class->unlock = GST_DEBUG_FUNCPTR(gst_pv_shm_sink_unlock);
    basesink_class->unlock_stop = GST_DEBUG_FUNCPTR(gst_pv_shm_sink_unlock_stop);
    basesink_class->stop = GST_DEBUG_FUNCPTR(gst_pv_shm_sink_stop);
}

static void gst_pv_shm_sink_init(GstPvShmSink* self)
{
    self->state = new PvShmSinkState;
    // A kept sample could point into a slot the writer has since reused for a newer frame.
    gst_base_sink_set_last_sample_enabled(GST_BASE_SINK(self), FALSE);
}

static void gst_pv_shm_sink_finalize(GObject* object)
{
    delete GST_PV_SHM_SINK(object)->state;
    G_OBJECT_CLASS(gst_pv_shm_sink_parent_class)->finalize(object);
}

static void gst_pv_shm_sink_set_property(GObject* object, guint prop_id, const GValue* value,
                                         GParamSpec* pspec)
{
    PvShmSinkState* state = GST_PV_SHM_SINK(object)->state;
    std::lock_guard lock(state->lock);
    switch (prop_id) {
    case PROP_SHARED_MEM_ID: {
        const gchar* id = g_value_get_string(value);
        state->shared_mem_id = id ? id : "";
        break;
    }
    case PROP_SLOTS:
        state->slots = g_value_get_uint(value);
        break;
    case PROP_CAMERA_ID: {
        const gchar* camera_id = g_value_get_string(value);
        state->camera_id = camera_id ? camera_id : "";
        break;
    }
    case PROP_PERMS:
        state->perms = g_value_get_uint(value);
        break;
    case PROP_PERSIST:
        state->persist = g_value_get_boolean(value);
        break;
    case PROP_BIT_DEPTH:
        state->bit_depth = g_value_get_uint(value);
        break;
    case PROP_LOSSLESS:
        state->lossless = g_value_get_boolean(value);
        break;
    case PROP_LOSSLESS_TIMEOUT:
        state->lossless_timeout = g_value_get_uint64(value);
        break;
    case PROP_WAIT_FOR_READERS:
        state->wait_for_readers = g_value_get_uint(value);
        break;
    case PROP_WAIT_FOR_READERS_TIMEOUT:
        state->wait_for_readers_timeout = g_value_get_uint64(value);
        break;
    case PROP_SOURCE: {
        const gchar* source = g_value_get_string(value);
        state->source = source ? source : "";
        if (state->writer)
            state->writer->set_source(state->source);
        break;
    }
    case PROP_SOURCE_ALIVE:
        state->source_alive = g_value_get_boolean(value);
        if (state->writer)
            state->writer->set_source_alive(state->source_alive);
        break;
    default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
        break;
    }
}

static void gst_pv_shm_sink_get_property(GObject* object, guint prop_id, GValue* value,
                                         GParamSpec* pspec)
{
    PvShmSinkState* state = GST_PV_SHM_SINK(object)->state;
    std::lock_guard lock(state->lock);
    switch (prop_id) {
    case PROP_SHARED_MEM_ID:
        g_value_set_string(value,
                           state->shared_mem_id.empty() ? nullptr : state->shared_mem_id.c_str());
        break;
    case PROP_SLOTS:
        g_value_set_uint(value, state->slots);
        break;
    case PROP_CAMERA_ID:
        g_value_set_string(value, state->camera_id.empty() ? nullptr : state->camera_id.c_str());
        break;
    case PROP_PERMS:
        g_value_set_uint(value, state->perms);
        break;
    case PROP_PERSIST:
        g_value_set_boolean(value, state->persist);
        break;
    case PROP_BIT_DEPTH:
        g_value_set_uint(value, state->bit_depth);
        break;
    case PROP_LOSSLESS:
        g_value_set_boolean(value, state->lossless);
        break;
    case PROP_LOSSLESS_TIMEOUT:
        g_value_set_uint64(value, state->lossless_timeout);
        break;
    case PROP_WAIT_FOR_READERS:
        g_value_set_uint(value, state->wait_for_readers);
        break;
    case PROP_WAIT_FOR_READERS_TIMEOUT:
        g_value_set_uint64(value, state->wait_for_readers_timeout);
        break;
    case PROP_SOURCE:
        g_value_set_string(value, state->source.empty() ? nullptr : state->source.c_str());
        break;
    case PROP_SOURCE_ALIVE:
        g_value_set_boolean(value, state->source_alive);
        break;
    case PROP_STATS:
        g_value_take_boxed(
            value,
            gst_structure_new(
                "GstPvShmSinkStats", "frames-written", G_TYPE_UINT64, state->frames_written.load(),
                "bytes-written", G_TYPE_UINT64, state->bytes_written.load(), "zero-copy-frames",
                G_TYPE_UINT64, state->zero_copy_frames.load(), "frames-dropped", G_TYPE_UINT64,
                state->frames_dropped.load(), "lossless-drops", G_TYPE_UINT64,
                state->writer ? state->writer->stats().lossless_drops - state->lossless_drops_before
                              : 0,
                "slots-held-ns", G_TYPE_UINT64,
                state->writer ? guint64(state->writer->stats().slots_held.count()) : 0, nullptr));
        break;
    default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
        break;
    }
}

static std::shared_ptr<pvshm::Writer> gst_pv_shm_sink_writer(GstPvShmSink* self)
{
    std::lock_guard lock(self->state->lock);
    return self->state->writer;
}

// False, with an element error naming the property and its range, when `value` is outside
// `minimum`..`maximum`. `format` prints a value (kDecimal, or kOctal for permission bits).
static bool gst_pv_shm_sink_in_range(GstPvShmSink* self, const char* property, guint64 value,
                                     guint64 minimum, guint64 maximum, const char* format,
                                     const char* note = "")
{
    if (value >= minimum && value <= maximum)
        return true;
    char text[3][48];
    std::snprintf(text[0], sizeof text[0], format, value);
    std::snprintf(text[1], sizeof text[1], format, minimum);
    std::snprintf(text[2], sizeof text[2], format, maximum);
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
                      ("Property %s is %s, outside its range %s to %s%s", property, text[0],
                       text[1], text[2], note),
                      (nullptr));
    return false;
}

static gboolean gst_pv_shm_sink_start(GstBaseSink* sink)
{
    GstPvShmSink* self = GST_PV_SHM_SINK(sink);
    PvShmSinkState* state = self->state;
    std::string id;
    pvshm::WriterOptions options;
    guint perms = 0;
    guint64 lossless_timeout = 0;
    guint64 wait_for_readers_timeout = 0;
    {
        std::lock_guard lock(state->lock);
        id = state->shared_mem_id;
        options.slots = state->slots;
        perms = state->perms;
        options.camera_id = state->camera_id;
        options.bit_depth = state->bit_depth;
        options.lossless = state->lossless;
        // Frames relayed from another segment (pvshmsrc, pvshmdepay) keep their numbers.
        options.keep_sequence = true;
        lossless_timeout = state->lossless_timeout;
        options.wait_for_readers = state->wait_for_readers;
        wait_for_readers_timeout = state->wait_for_readers_timeout;
    }
    if (id.empty()) {
        GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND, ("No shared-mem-id given"),
                          ("the shared-mem-id property is required"));
        return FALSE;
    }
    // A decimal 644 is 01204: not permission bits.
    constexpr const char* kDecimal = "%" G_GUINT64_FORMAT;
    constexpr const char* kOctal = "%#" G_GINT64_MODIFIER "o";
    if (!gst_pv_shm_sink_in_range(self, "slots", options.slots, kMinSlots, kMaxSlots, kDecimal) ||
        !gst_pv_shm_sink_in_range(self, "perms", perms, 0, kMaxPerms, kOctal,
                                  " (octal: write perms=0644, not perms=644)") ||
        !gst_pv_shm_sink_in_range(self, "bit-depth", options.bit_depth, 0, kMaxBitDepth, kDecimal,
                                  " (0: all 16 bits)") ||
        !gst_pv_shm_sink_in_range(self, "lossless-timeout", lossless_timeout, 0,
                                  kMaxLosslessTimeout, kDecimal) ||
        !gst_pv_shm_sink_in_range(self, "wait-for-readers", options.wait_for_readers, 0,
                                  kMaxWaitForReaders, kDecimal) ||
        !gst_pv_shm_sink_in_range(self, "wait-for-readers-timeout", wait_for_readers_timeout, 0,
                                  kMaxWaitForReadersTimeout, kDecimal))
        return FALSE;
    options.wait_for_readers_timeout = std::chrono::nanoseconds(int64_t(wait_for_readers_timeout));
    options.mode = perms;
    options.lossless_timeout = std::chrono::nanoseconds(int64_t(lossless_timeout));
    std::shared_ptr<pvshm::Writer> writer;
    try {
        GstPvShmLogScope scope(GST_CAT_DEFAULT, self);
        writer = std::make_shared<pvshm::Writer>(id, options);
    } catch (...) {
        gst_pv_shm_post_exception(GST_ELEMENT(self), GstPvShmAccess::Write,
                                  "Could not open shared memory '" + id + "' for writing");
        return FALSE;
    }
    GST_INFO_OBJECT(self, "writing '%s' with %u slots", id.c_str(), options.slots);
    if (options.wait_for_readers > 0)
        GST_ELEMENT_INFO(self, RESOURCE, BUSY,
                         ("The first frame of '%s' waits for %u readers of every frame", id.c_str(),
                          options.wait_for_readers),
                         ("wait-for-readers-timeout %" G_GUINT64_FORMAT " ns (0: no limit)",
                          wait_for_readers_timeout));
    state->frames_written = 0;
    state->bytes_written = 0;
    state->zero_copy_frames = 0;
    state->frames_dropped = 0;
    state->warned_metadata = false;
    state->camera_id_set = !options.camera_id.empty();
    state->bit_depth_set = options.bit_depth != 0;
    std::lock_guard lock(state->lock);
    state->lossless_drops_before = writer->stats().lossless_drops;
    if (!state->source.empty())
        writer->set_source(state->source);
    writer->set_source_alive(state->source_alive);
    state->writer = std::move(writer);
    return TRUE;
}

static gboolean gst_pv_shm_sink_set_caps(GstBaseSink* sink, GstCaps* caps)
{
    GstPvShmSink* self = GST_PV_SHM_SINK(sink);
    PvShmSinkState* state = self->state;
    std::string error;
    auto frame = gst_pv_shm_format_frame_info(caps, error);
    if (!frame) {
        GST_ERROR_OBJECT(self, "cannot write %" GST_PTR_FORMAT ": %s", caps, error.c_str());
        // Caps the template accepts can still describe frames over the size limit.
        GST_ELEMENT_ERROR(self, STREAM, FORMAT,
                          ("Cannot write frames of these caps: %s", error.c_str()),
                          ("%" GST_PTR_FORMAT, caps));
        return FALSE;
    }
    g_autofree gchar* text = gst_caps_to_string(caps);
    if (strlen(text) <= pvshm::kMaxCapsLength)
        frame->caps = text;
    else
        GST_WARNING_OBJECT(self, "caps too long to store, readers derive them from the format");
    state->raw_video = gst_pv_shm_format_raw_video_info(caps, &state->video_info);
    state->frame = std::move(frame);
    GST_DEBUG_OBJECT(self, "frames are %" GST_PTR_FORMAT, caps);
    return TRUE;
}

static gboolean gst_pv_shm_sink_propose_allocation(GstBaseSink* sink, GstQuery* query)
{
    GstPvShmSink* self = GST_PV_SHM_SINK(sink);
    GstCaps* caps = nullptr;
    gboolean need_pool = FALSE;
    gst_query_parse_allocation(query, &caps, &need_pool);
    gst_query_add_allocation_meta(query, GST_VIDEO_META_API_TYPE, nullptr);

    std::string error;
    const auto frame = caps ? gst_pv_shm_format_frame_info(caps, error) : std::nullopt;
    // Encoded images differ in size from buffer to buffer: no slot size to offer.
    if (!frame || pvshm::is_encoded(frame->format))
        return TRUE;
    const auto size = guint(frame->payload_size);
    auto writer = gst_pv_shm_sink_writer(self);
    if (!need_pool || !writer) {
        gst_query_add_allocation_pool(query, nullptr, size, 0, 0);
        return TRUE;
    }
    g_autoptr(GstBufferPool) pool = gst_pv_shm_pool_new(writer, GST_CAT_DEFAULT);
    GstStructure* config = gst_buffer_pool_get_config(pool);
    gst_buffer_pool_config_set_params(config, caps, size, 0, 0);
    if (gst_structure_has_name(gst_caps_get_structure(caps, 0), "video/x-raw"))
        gst_buffer_pool_config_add_option(config, GST_BUFFER_POOL_OPTION_VIDEO_META);
    if (!gst_buffer_pool_set_config(pool, config)) {
        GST_WARNING_OBJECT(self, "the slot pool refused its configuration");
        return TRUE;
    }
    gst_query_add_allocation_pool(query, pool, size, 0, 0);
    return TRUE;
}

// Readers in other processes share CLOCK_MONOTONIC, not our pipeline clock: the capture time is
// the buffer's clock time (base time + running time) in CLOCK_MONOTONIC, or the time it reached
// us when it has none.
static void gst_pv_shm_sink_stamp(GstPvShmSink* self, GstBuffer* buffer, pvshm::FrameInfo& frame)
{
    const int64_t now_monotonic = pvshm::clock_ns(CLOCK_MONOTONIC);
    const int64_t now_realtime = pvshm::clock_ns(CLOCK_REALTIME);
    int64_t monotonic = now_monotonic;
    g_autoptr(GstClock) clock = gst_element_get_clock(GST_ELEMENT(self));
    if (clock) {
        const GstClockTime running = gst_segment_to_running_time(
            &GST_BASE_SINK(self)->segment, GST_FORMAT_TIME, GST_BUFFER_PTS(buffer));
        if (GST_CLOCK_TIME_IS_VALID(running))
            monotonic = int64_t(gst_element_get_base_time(GST_ELEMENT(self)) + running) +
                        gst_pv_shm_clock_to_monotonic_offset(clock);
    }
    frame.timestamp_monotonic_ns = monotonic;
    frame.timestamp_realtime_ns =
        gst_pv_shm_meta_unix_time(buffer).value_or(now_realtime - (now_monotonic - monotonic));
    if (GST_BUFFER_DURATION_IS_VALID(buffer))
        frame.duration_ns = int64_t(GST_BUFFER_DURATION(buffer));
}

// The camera id, bit depth and user metadata a GstPvShmFrameMeta brings (pvshmsrc upstream, or
// the application); the camera-id and bit-depth properties win over the meta's.
static void gst_pv_shm_sink_take_frame_meta(GstPvShmSink* self, GstBuffer* buffer,
                                            pvshm::FrameInfo& frame)
{
    PvShmSinkState* state = self->state;
    auto meta = gst_pv_shm_meta_read(buffer);
    if (!meta)
        return;
    frame.sequence = meta->sequence.value_or(0);
    if (!state->camera_id_set && meta->camera_id.size() <= pvshm::kMaxCameraIdLength)
        frame.camera_id = std::move(meta->camera_id);
    if (!state->bit_depth_set && frame.format == pvshm::PixelFormat::GRAY16_LE)
        frame.bit_depth = meta->bit_depth;
    frame.metadata = std::move(meta->metadata);
    if (!meta->skipped.empty() && !state->warned_metadata) {
        state->warned_metadata = true;
        GST_ELEMENT_WARNING(self, STREAM, FORMAT,
                            ("Fields %s of %s hold what a frame cannot keep (not a string or a "
                             "number, or a bit depth outside 1 to 16): not stored with the frame",
                             meta->skipped.c_str(), kGstPvShmFrameMetaName),
                            (nullptr));
    }
}

// Publishes `frame`, or, when its user metadata is what the writer refuses (too large, not
// UTF-8, ...), the frame without it and a warning once.
static std::optional<uint64_t> gst_pv_shm_sink_publish(GstPvShmSink* self, pvshm::Writer& writer,
                                                       pvshm::SlotLoan& slot,
                                                       pvshm::FrameInfo& frame)
{
    if (frame.metadata.empty())
        return writer.publish(slot, frame);
    try {
        return writer.publish(slot, frame);
    } catch (const std::invalid_argument& error) {
        frame.metadata.clear();
        auto sequence = writer.publish(slot, frame);
        if (!self->state->warned_metadata) {
            self->state->warned_metadata = true;
            GST_ELEMENT_WARNING(self, STREAM, FORMAT,
                                ("Frames written without their metadata: %s", error.what()),
                                (nullptr));
        }
        return sequence;
    }
}

// The layout of a buffer filled in place: its GstVideoMeta when upstream set one.
static void gst_pv_shm_sink_describe_in_place(GstBuffer* buffer, pvshm::FrameInfo& frame)
{
    if (const GstVideoMeta* meta = gst_buffer_get_video_meta(buffer)) {
        for (guint i = 0; i < meta->n_planes && i < pvshm::kMaxPlanes; ++i) {
            frame.strides[i] = meta->stride[i];
            frame.plane_offsets[i] = meta->offset[i];
        }
    }
    frame.payload_size = gst_buffer_get_size(buffer);
}

// Copies the first `size` bytes of `buffer` into `slot`, memory by memory, with the library's
// copy (which bypasses the cache for a large frame). Returns the bytes copied: fewer when the
// buffer is shorter or a memory cannot be mapped.
static uint64_t gst_pv_shm_sink_fill(GstBuffer* buffer, const pvshm::SlotLoan& slot, uint64_t size)
{
    uint64_t done = 0;
    for (guint i = 0; i < gst_buffer_n_memory(buffer) && done < size; ++i) {
        GstMemory* memory = gst_buffer_peek_memory(buffer, i);
        GstMapInfo map;
        if (!gst_memory_map(memory, &map, GST_MAP_READ))
            break;
        const uint64_t part = std::min<uint64_t>(map.size, size - done);
        slot.fill(done, map.data, part);
        gst_memory_unmap(memory, &map);
        done += part;
    }
    return done;
}

// Copies `buffer` into `slot` in the layout of the caps (in one piece when its planes already lie
// so). Returns the bytes used, or 0 (with an element error posted) when the buffer is smaller
// than its caps say or cannot be mapped as they say.
static uint64_t gst_pv_shm_sink_copy(GstPvShmSink* self, GstBuffer* buffer,
                                     const pvshm::SlotLoan& slot, uint64_t size)
{
    PvShmSinkState* state = self->state;
    if (!state->raw_video || gst_pv_shm_video_has_caps_layout(buffer, state->video_info)) {
        const uint64_t copied = gst_pv_shm_sink_fill(buffer, slot, size);
        if (copied == size)
            return size;
        GST_ELEMENT_ERROR(self, STREAM, FORMAT, ("Could not read the whole buffer"),
                          ("%" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
                           " bytes read: the buffer is smaller than its caps say, or a memory of "
                           "it cannot be mapped",
                           copied, size));
        return 0;
    }
    g_autoptr(GstBuffer) target = gst_buffer_new_wrapped_full(
        GstMemoryFlags(0), slot.data(), slot.capacity(), 0, size, nullptr, nullptr);
    return gst_pv_shm_video_copy(GST_ELEMENT(self), state->video_info, buffer, target) ? size : 0;
}

// Readers holding every slot for more than a second get one bus warning per stretch.
static void gst_pv_shm_sink_warn_held(GstPvShmSink* self, pvshm::Writer& writer)
{
    const auto held = writer.stats().slots_held;
    if (self->state->warned_held || held < std::chrono::seconds(1))
        return;
    self->state->warned_held = true;
    GST_ELEMENT_WARNING(self, RESOURCE, BUSY,
                        ("Readers have held every slot of '%s' for %.1f s: frames are dropped",
                         writer.id().c_str(), std::chrono::duration<double>(held).count()),
                        ("any process with read permission on the segment can hold its slots; "
                         "their locks do not name the process (see pvshm info)"));
}

// Counts a frame published, or dropped by the writer (`sequence` nullopt).
static void gst_pv_shm_sink_count(GstPvShmSink* self, std::optional<uint64_t> sequence,
                                  const pvshm::FrameInfo& frame, bool in_place)
{
    PvShmSinkState* state = self->state;
    if (!sequence) {
        state->frames_dropped++;
        return;
    }
    state->frames_written++;
    state->bytes_written += frame.payload_size;
    if (in_place)
        state->zero_copy_frames++;
    GST_LOG_OBJECT(self, "frame %" G_GUINT64_FORMAT " written%s", *sequence,
                   in_place ? " in place" : "");
}

// The slot of our pool that `buffer` was filled in, when the frame can be published where it
// lies; `frame` then describes its layout. nullptr for a buffer to copy.
static pvshm::SlotLoan* gst_pv_shm_sink_slot_in_place(GstBuffer* buffer,
                                                      const pvshm::Writer& writer,
                                                      const pvshm::FrameInfo& as_caps_say,
                                                      pvshm::FrameInfo& frame)
{
    pvshm::SlotLoan* lent = gst_pv_shm_pool_lent_slot(buffer, writer);
    if (!lent)
        return nullptr;
    gst_pv_shm_sink_describe_in_place(buffer, frame);
    if (pvshm::frame_geometry_problem(frame).empty() && frame.payload_size <= lent->capacity())
        return lent;
    frame = as_caps_say;
    return nullptr;
}

// Publishes the frame upstream drew straight into `slot`: no copy.
static GstFlowReturn gst_pv_shm_sink_publish_in_place(GstPvShmSink* self, pvshm::Writer& writer,
                                                      pvshm::SlotLoan& slot,
                                                      pvshm::FrameInfo& frame)
{
    gst_pv_shm_sink_count(self, gst_pv_shm_sink_publish(self, writer, slot, frame), frame, true);
    return GST_FLOW_OK;
}

// Publishes a copy of `buffer` in a slot lent for it. An encoded image's size is the buffer's.
static GstFlowReturn gst_pv_shm_sink_publish_copy(GstPvShmSink* self, pvshm::Writer& writer,
                                                  GstBuffer* buffer, pvshm::FrameInfo& frame)
{
    if (pvshm::is_encoded(frame.format)) {
        frame.payload_size = gst_buffer_get_size(buffer);
        if (frame.payload_size == 0) {
            GST_WARNING_OBJECT(self, "empty image buffer skipped");
            return GST_FLOW_OK;
        }
        if (frame.payload_size > pvshm::kMaxPayloadSize) {
            GST_ELEMENT_ERROR(self, STREAM, FORMAT,
                              ("Frame of %" G_GUINT64_FORMAT
                               " bytes, more than the limit of %" G_GUINT64_FORMAT
                               " bytes per frame",
                               frame.payload_size, pvshm::kMaxPayloadSize),
                              (nullptr));
            return GST_FLOW_ERROR;
        }
    }
    auto slot = writer.loan(frame.payload_size);
    if (!slot) {
        self->state->frames_dropped++;
        GST_DEBUG_OBJECT(self, "readers pin every slot, frame dropped");
        gst_pv_shm_sink_warn_held(self, writer);
        return GST_FLOW_OK;
    }
    self->state->warned_held = false;
    if (gst_pv_shm_sink_copy(self, buffer, *slot, frame.payload_size) == 0)
        return GST_FLOW_ERROR;
    gst_pv_shm_sink_count(self, gst_pv_shm_sink_publish(self, writer, *slot, frame), frame, false);
    return GST_FLOW_OK;
}

static GstFlowReturn gst_pv_shm_sink_render(GstBaseSink* sink, GstBuffer* buffer)
{
    GstPvShmSink* self = GST_PV_SHM_SINK(sink);
    PvShmSinkState* state = self->state;
    auto writer = gst_pv_shm_sink_writer(self);
    if (!writer || !state->frame) {
        GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, ("Buffer before caps"), (nullptr));
        return GST_FLOW_NOT_NEGOTIATED;
    }
    // A frame painted in place arrives right after its painting evicted the caches: every byte
    // touched before the readers are woken delays them: the frame's description is copied into
    // one kept for it, whose strings keep their buffers; one meta lookup.
    pvshm::FrameInfo& frame = state->current;
    frame = *state->frame;
    GstPvShmLogScope scope(GST_CAT_DEFAULT, self);
    try {
        pvshm::SlotLoan* slot =
            gst_pv_shm_sink_slot_in_place(buffer, *writer, *state->frame, frame);
        gst_pv_shm_sink_stamp(self, buffer, frame);
        gst_pv_shm_sink_take_frame_meta(self, buffer, frame);
        if (slot)
            return gst_pv_shm_sink_publish_in_place(self, *writer, *slot, frame);
        return gst_pv_shm_sink_publish_copy(self, *writer, buffer, frame);
    } catch (...) {
        gst_pv_shm_post_exception(GST_ELEMENT(self), GstPvShmAccess::Write,
                                  "Could not write a frame");
        return GST_FLOW_ERROR;
    }
}

// A lossless sink waiting for its readers gives up the frame, and waits no more until
// unlock_stop: the pipeline is flushing or stopping.
static gboolean gst_pv_shm_sink_unlock(GstBaseSink* sink)
{
    if (auto writer = gst_pv_shm_sink_writer(GST_PV_SHM_SINK(sink)))
        writer->set_flushing(true);
    return TRUE;
}

// The flush is over: the next frame waits for lossless readers again.
static gboolean gst_pv_shm_sink_unlock_stop(GstBaseSink* sink)
{
    if (auto writer = gst_pv_shm_sink_writer(GST_PV_SHM_SINK(sink)))
        writer->set_flushing(false);
    return TRUE;
}

static gboolean gst_pv_shm_sink_stop(GstBaseSink* sink)
{
    GstPvShmSink* self = GST_PV_SHM_SINK(sink);
    PvShmSinkState* state = self->state;
    std::shared_ptr<pvshm::Writer> writer;
    bool persist = true;
    {
        std::lock_guard lock(state->lock);
        writer = std::move(state->writer);
        persist = state->persist;
    }
    state->frame.reset();
    if (!writer)
        return TRUE;
    GstPvShmLogScope scope(GST_CAT_DEFAULT, self);
    // A segment without a frame (the first one failed: too large, memory full) is of no use to
    // anyone; one whose last frame stays readable is what persist=true keeps.
    const bool empty = writer->stats().frames_written == 0;
    if (!persist || empty) {
        try {
            writer->remove();
            GST_INFO_OBJECT(self, "removed %s segment '%s'", empty ? "empty" : "the",
                            writer->id().c_str());
        } catch (...) {
            gst_pv_shm_post_exception(GST_ELEMENT(self), GstPvShmAccess::Write,
                                      "Could not remove shared memory");
            return FALSE;
        }
    }
    return TRUE;
}
