// SPDX-License-Identifier: LGPL-2.1-or-later
// A buffer pool whose buffers are slots lent by a pvshm::Writer, so that upstream elements fill
// shared memory in place and pvshmsink publishes them without a copy.
#pragma once

#include <memory>

#include <gst/gst.h>

#include <pvshm/writer.hpp>

G_BEGIN_DECLS

#define GST_TYPE_PV_SHM_POOL (gst_pv_shm_pool_get_type())
G_DECLARE_FINAL_TYPE(GstPvShmPool, gst_pv_shm_pool, GST, PV_SHM_POOL, GstBufferPool)

G_END_DECLS

// Every acquire takes a fresh loan and every release gives it back, so no buffer is ever recycled
// with a slot the writer has since published. When readers pin every slot (or the writer is
// gone) the buffer is plain memory instead: the pool never blocks. Library messages go to
// `category`.
GstBufferPool* gst_pv_shm_pool_new(std::weak_ptr<pvshm::Writer> writer, GstDebugCategory* category);

// The unpublished loan behind `buffer` when its only memory is a whole slot that `writer` still
// lends, to be published in place; it stays with the buffer, keeping the memory mapped while the
// buffer lives. nullptr for any other buffer (or one already published), which must be copied.
pvshm::SlotLoan* gst_pv_shm_pool_lent_slot(GstBuffer* buffer, const pvshm::Writer& writer);
