// SPDX-License-Identifier: LGPL-2.1-or-later
#include "gstpvshmpool.h"

#include <exception>

#include <gst/video/gstvideometa.h>
#include <gst/video/gstvideopool.h>
#include <gst/video/video.h>

#include "gstpvshmformat.h"
#include "gstpvshmlog.h"

struct PvShmPoolState
{
    std::weak_ptr<pvshm::Writer> writer;
    GstDebugCategory* category = nullptr;
    GstVideoInfo video_info{};
    bool raw_video = false;
    bool add_video_meta = false;
    guint size = 0;
};

struct _GstPvShmPool
{
    GstBufferPool parent;
    PvShmPoolState* state;
};

#define GST_CAT_DEFAULT (GST_PV_SHM_POOL(pool)->state->category)

G_DEFINE_TYPE(GstPvShmPool, gst_pv_shm_pool, GST_TYPE_BUFFER_POOL)

static GQuark loan_quark()
{
    static GQuark quark = g_quark_from_static_string("GstPvShmSlotLoan");
    return quark;
}

static void delete_loan(gpointer loan)
{
    delete static_cast<pvshm::SlotLoan*>(loan);
}

static const gchar** gst_pv_shm_pool_get_options(GstBufferPool*)
{
    static const gchar* options[] = {GST_BUFFER_POOL_OPTION_VIDEO_META, nullptr};
    return options;
}

static gboolean gst_pv_shm_pool_set_config(GstBufferPool* pool, GstStructure* config)
{
    PvShmPoolState* state = GST_PV_SHM_POOL(pool)->state;
    GstCaps* caps = nullptr;
    guint size = 0;
    guint min = 0;
    guint max = 0;
    if (!gst_buffer_pool_config_get_params(config, &caps, &size, &min, &max) || !caps) {
        GST_WARNING_OBJECT(pool, "config without caps");
        return FALSE;
    }
    state->raw_video = gst_pv_shm_format_raw_video_info(caps, &state->video_info);
    state->size = state->raw_video ? MAX(size, GST_VIDEO_INFO_SIZE(&state->video_info)) : size;
    state->add_video_meta = state->raw_video && gst_buffer_pool_config_has_option(
                                                    config, GST_BUFFER_POOL_OPTION_VIDEO_META);
    gst_buffer_pool_config_set_params(config, caps, state->size, min, max);
    return GST_BUFFER_POOL_CLASS(gst_pv_shm_pool_parent_class)->set_config(pool, config);
}

// Preallocated buffers would sit in the queue holding slots: buffers are made on demand only.
static gboolean gst_pv_shm_pool_start(GstBufferPool*)
{
    return TRUE;
}

static GstFlowReturn gst_pv_shm_pool_alloc_buffer(GstBufferPool* pool, GstBuffer** out,
                                                  GstBufferPoolAcquireParams*)
{
    PvShmPoolState* state = GST_PV_SHM_POOL(pool)->state;
    std::optional<pvshm::SlotLoan> loan;
    if (auto writer = state->writer.lock()) {
        GstPvShmLogScope scope(state->category, pool);
        try {
            loan = writer->try_loan(state->size);
        } catch (const std::exception& error) {
            // The sink copies such a buffer at render, where the same error is reported.
            GST_WARNING_OBJECT(pool, "no slot for a buffer of %u bytes: %s", state->size,
                               error.what());
        }
    }
    GstBuffer* buffer;
    if (loan) {
        auto* held = new pvshm::SlotLoan(std::move(*loan));
        GstMemory* memory = gst_memory_new_wrapped(
            GstMemoryFlags(0), held->data(), held->capacity(), 0, state->size, held, delete_loan);
        gst_mini_object_set_qdata(GST_MINI_OBJECT_CAST(memory), loan_quark(), held, nullptr);
        buffer = gst_buffer_new();
        gst_buffer_append_memory(buffer, memory);
    } else {
        GST_LOG_OBJECT(pool, "every slot is taken, buffer in system memory");
        buffer = gst_buffer_new_allocate(nullptr, state->size, nullptr);
        if (!buffer)
            return GST_FLOW_ERROR;
    }
    if (state->add_video_meta) {
        GstVideoInfo* info = &state->video_info;
        gst_buffer_add_video_meta_full(buffer, GST_VIDEO_FRAME_FLAG_NONE,
                                       GST_VIDEO_INFO_FORMAT(info), GST_VIDEO_INFO_WIDTH(info),
                                       GST_VIDEO_INFO_HEIGHT(info), GST_VIDEO_INFO_N_PLANES(info),
                                       info->offset, info->stride);
    }
    *out = buffer;
    return GST_FLOW_OK;
}

static GstFlowReturn gst_pv_shm_pool_acquire_buffer(GstBufferPool* pool, GstBuffer** buffer,
                                                    GstBufferPoolAcquireParams* params)
{
    if (GST_BUFFER_POOL_IS_FLUSHING(pool))
        return GST_FLOW_FLUSHING;
    return gst_pv_shm_pool_alloc_buffer(pool, buffer, params);
}

// Dropping the buffer gives its loan back (or frees the slot of a published frame's buffer).
static void gst_pv_shm_pool_release_buffer(GstBufferPool*, GstBuffer* buffer)
{
    gst_buffer_unref(buffer);
}

static void gst_pv_shm_pool_finalize(GObject* object)
{
    delete GST_PV_SHM_POOL(object)->state;
    G_OBJECT_CLASS(gst_pv_shm_pool_parent_class)->finalize(object);
}

static void gst_pv_shm_pool_class_init(GstPvShmPoolClass* klass)
{
    GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
    GstBufferPoolClass* pool_class = GST_BUFFER_POOL_CLASS(klass);
    gobject_class->finalize = gst_pv_shm_pool_finalize;
    pool_class->get_options = gst_pv_shm_pool_get_options;
    pool_class->set_config = gst_pv_shm_pool_set_config;
    pool_class->start = gst_pv_shm_pool_start;
    pool_class->alloc_buffer = gst_pv_shm_pool_alloc_buffer;
    pool_class->acquire_buffer = gst_pv_shm_pool_acquire_buffer;
    pool_class->release_buffer = gst_pv_shm_pool_release_buffer;
}

static void gst_pv_shm_pool_init(GstPvShmPool* pool)
{
    pool->state = new PvShmPoolState;
}

GstBufferPool* gst_pv_shm_pool_new(std::weak_ptr<pvshm::Writer> writer, GstDebugCategory* category)
{
    auto* pool = GST_PV_SHM_POOL(g_object_new(GST_TYPE_PV_SHM_POOL, nullptr));
    gst_object_ref_sink(pool);
    pool->state->writer = std::move(writer);
    pool->state->category = category;
    return GST_BUFFER_POOL(pool);
}

pvshm::SlotLoan* gst_pv_shm_pool_lent_slot(GstBuffer* buffer, const pvshm::Writer& writer)
{
    if (gst_buffer_n_memory(buffer) != 1)
        return nullptr;
    GstMemory* memory = gst_buffer_peek_memory(buffer, 0);
    auto* held = static_cast<pvshm::SlotLoan*>(
        gst_mini_object_get_qdata(GST_MINI_OBJECT_CAST(memory), loan_quark()));
    // Readers take a frame's planes from the start of its slot. A published loan lends nothing.
    if (!held || memory->offset != 0 || !writer.owns(*held))
        return nullptr;
    return held;
}
