// A buffer pool whose buffers are slots lent by a pvshm::Writer, so that upstream elements fill
// shared memory in place and pvshmsink publishes them without a copy.
#pragma once

#include <cerrno>
#include <memory>
#include <optional>
#include <system_error>

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
// owns, moved out so that the slot is published at most once. nullopt for any other buffer,
// which must be copied.
std::optional<pvshm::SlotLoan> gst_pv_shm_pool_take_loan(GstBuffer* buffer,
                                                         const pvshm::Writer& writer);

// A pvshm::Writer starting in another process may delete the temporary object this one is
// building a segment in (taking it for one a dead writer left), which fails with ENOENT. Nothing
// was published then, so creating a writer or a loan is simply tried again.
template <typename Action> auto gst_pv_shm_retry_vanished(Action&& action)
{
    constexpr int kAttempts = 10;
    for (int attempt = 1;; ++attempt) {
        try {
            return action();
        } catch (const std::system_error& error) {
            if (error.code().value() != ENOENT || attempt == kAttempts)
                throw;
        }
    }
}
