// SPDX-License-Identifier: LGPL-2.1-or-later
// Reading the frames of a segment, from any number of processes at once, without ever making the
// writer wait.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

#include <pvshm/export.hpp>
#include <pvshm/frame.hpp>

namespace pvshm {

namespace detail {
class ReaderCore;
}

// What a segment says about itself, for tools and dashboards.
struct SegmentStatus
{
    std::string id;
    uint32_t slots = 0;
    uint64_t slot_size = 0;
    uint64_t total_size = 0;
    uint64_t frames_written = 0;
    uint64_t frames_dropped = 0;
    // CLOCK_REALTIME since when readers hold every slot the writer could write (it drops frames),
    // 0 when they do not (WriterStats::slots_held).
    int64_t slots_held_since_ns = 0;
    uint64_t bytes_written = 0;
    int32_t writer_pid = 0;
    // The writer holds the id and, for a relay, its source still sends (Writer::set_source_alive).
    bool writer_alive = false;
    // Where a relay's frames come from (Writer::set_source), e.g. "srt://host:7001"; "" otherwise.
    std::string source;
    uid_t owner = 0;
    mode_t mode = 0;
    // Description of the newest frame, when there is one (payload not read).
    std::optional<FrameInfo> latest;
};

inline constexpr std::chrono::nanoseconds kWaitForever = std::chrono::nanoseconds::max();

struct ReaderOptions
{
    // Read segments owned by another user. Off by default: another user's object under an id
    // could have been planted. Also turned on by the environment variable
    // PVSHM_ALLOW_OTHER_OWNERS=1, for programs that only use the seed API. A refused segment
    // throws OtherOwnerError.
    bool allow_other_owner = false;
    // Low-latency mode, off by default: how long each wait() looks for a new frame in a busy
    // loop, without a system call, before it sleeps. A frame published meanwhile is seen within
    // a microsecond and by a thread whose caches are warm, instead of after a futex wake-up and
    // the scheduler. Spinning for a frame interval or more keeps a core busy all the time: for a
    // reader with a core of its own. wait_any() does not spin.
    std::chrono::nanoseconds spin{0};
};

class PVSHM_EXPORT Reader
{
public:
    // Never fails for a missing segment: the reader finds it once it appears. Throws
    // std::invalid_argument for an invalid id.
    explicit Reader(const std::string& shared_mem_id, ReaderOptions options = {});
    ~Reader();
    Reader(Reader&&) noexcept;
    Reader& operator=(Reader&&) noexcept;

    // The newest complete frame, in place. nullopt when the id has no segment or no frame yet.
    // Throws SegmentError when the object is not a usable segment (or is another user's, unless
    // allowed).
    std::optional<FrameView> view_latest();
    // The oldest frame newer than the last one this reader returned (every frame in order);
    // frames overwritten before they could be read are added to frames_skipped().
    std::optional<FrameView> view_next();
    // The newest complete frame, copied out.
    std::optional<Frame> read_latest();

    // Waits until a frame newer than the last one returned is available, without polling.
    // Returns false on timeout. A segment that appears, is replaced or re-created is followed.
    bool wait(std::chrono::nanoseconds timeout = kWaitForever);

    // Sequence number of the last frame returned (0 before the first), and how many frames
    // view_next() found already overwritten.
    uint64_t last_sequence() const;
    uint64_t frames_skipped() const;

    // Whether the id's writer is alive, and what its segment says of itself (nullopt when the id
    // has no segment; throws SegmentError for an unusable object). Neither changes what wait()
    // or view_next() report next, nor pins a slot.
    bool writer_alive() const;
    std::optional<SegmentStatus> status() const;
    const std::string& id() const;

private:
    friend std::vector<Reader*> wait_any(const std::vector<Reader*>& readers,
                                         std::chrono::nanoseconds timeout);
    std::unique_ptr<detail::ReaderCore> core_;
};

// Waits until at least one of `readers` has a frame newer than the last one it returned, without
// polling: one sleep on every segment's wake word at once (futex_waitv), woken by whichever
// writer publishes first. Returns those readers (in the order given), empty on timeout. Ids
// without a segment yet are looked at again every 50 ms. Throws what Reader::wait() throws.
PVSHM_EXPORT std::vector<Reader*> wait_any(const std::vector<Reader*>& readers,
                                           std::chrono::nanoseconds timeout = kWaitForever);

// Ids of the segments in the shared-memory directory, sorted; empty when there is none (or no
// directory). Throws std::system_error when the directory cannot be read (file descriptors
// exhausted, no permission): a failed listing is never taken for an empty one.
PVSHM_EXPORT std::vector<std::string> list_segment_ids();

} // namespace pvshm
