// SPDX-License-Identifier: LGPL-2.1-or-later
// One open shared-memory object and its mapping: the only place that calls open, mmap and the
// OFD lock operations. The writer maps it read-write, readers read-only.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <sys/types.h>
#include <vector>

#include <pvshm/frame.hpp>

#include "fault_guard.hpp"
#include "layout.hpp"

namespace pvshm::detail {

class Segment
{
public:
    enum class Access
    {
        ReadOnly,
        ReadWrite,
    };

    ~Segment();
    Segment(const Segment&) = delete;
    Segment& operator=(const Segment&) = delete;

    // Opens and validates the object at `path`. Returns nullptr when it does not exist; throws
    // SegmentError when it is not a segment this build understands (not a regular file, not
    // readable, truncated, foreign, other version) and std::system_error when it cannot be opened
    // or mapped. `vet`, when given, judges the open object before anything of it is mapped
    // (throwing to refuse it). Never blocks and never follows a symbolic link.
    static std::unique_ptr<Segment> open(const std::string& path, Access access,
                                         const std::function<void(const Segment&)>& vet = {});

    // Opens `path` for writing without validating it (the writer decides what to do with a
    // foreign object once it holds the writer lock). Returns nullptr when it does not exist;
    // throws SegmentError for what is not a regular file.
    static std::unique_ptr<Segment> open_unvalidated(const std::string& path);

    // Creates a new, zero-filled, initialized object at `path` (O_EXCL), all its pages reserved,
    // with `slot_count` slots of `slot_stride` bytes. Throws std::system_error naming the size
    // needed when the pages cannot be reserved.
    static std::unique_ptr<Segment> create(const std::string& path, mode_t mode,
                                           uint32_t slot_count, uint64_t slot_stride);

    // Validates and maps the whole object (after open_unvalidated). Throws SegmentError.
    void map_validated();

    const layout::SegmentHeader& header() const { return *header_; }
    layout::SegmentHeader& header() { return *header_; }
    const layout::SlotDesc& desc(uint32_t slot) const;
    layout::SlotDesc& desc(uint32_t slot);
    const uint8_t* payload(uint32_t slot) const;
    uint8_t* payload(uint32_t slot);
    // The geometry as validated when the object was opened; never re-read from shared memory,
    // where another process could change it.
    uint32_t slot_count() const { return slot_count_; }
    uint64_t slot_stride() const { return slot_stride_; }

    int fd() const { return fd_; }
    ino_t inode() const { return inode_; }
    uid_t owner() const { return owner_; }
    // True once another process truncated the object under the mapping: what the mapping holds
    // now are zeros (fault_guard.hpp), not the segment.
    bool lost() const { return guard_ && guard_->lost(); }
    uint64_t size() const { return size_; }
    const std::string& path() const { return path_; }
    // True while the object still is the one named by its path.
    bool still_named() const;
    // Records that the object is now named `path` (after link or rename).
    void now_named(std::string path) { path_ = std::move(path); }

    // Non-blocking OFD locks on a lock byte (layout.hpp): false when another process holds a
    // conflicting lock.
    bool try_lock(int64_t byte, bool exclusive);
    void unlock(int64_t byte);
    // True when a process other than this open file holds a write lock on `byte`.
    bool write_locked_elsewhere(int64_t byte) const;
    // True when another open file holds a need lock (layout.hpp: one byte, two while a reader
    // moves it to the next frame) on a byte of [first, last]. A lock over more bytes is no
    // reader's need: it is looked past (what it covers is not seen), so that one lock over the
    // whole range cannot make a writer wait.
    bool need_locked_elsewhere(int64_t first, int64_t last) const;
    // How many such locks (of one or two bytes) other open files hold in [first, last],
    // counted up to `enough` (locks over more bytes are looked past as above).
    size_t one_byte_locks_elsewhere(int64_t first, int64_t last, size_t enough) const;
    // The writer holds its lock, and, if it relays another host's frames, its source still
    // sends (kSegmentSourceDead clear).
    bool writer_alive() const
    {
        return !(layout::load_acquire(header().state_flags) & layout::kSegmentSourceDead) &&
               write_locked_elsewhere(layout::kWriterLockByte);
    }

    // Reader leases: counted per slot in this process, one F_RDLCK per slot on this file.
    bool pin(uint32_t slot);
    void unpin(uint32_t slot);

    // Wakes every reader waiting on the header's wake word.
    void wake_readers();
    // Lossless replay (layout.hpp): a reader wakes the writer waiting for it (read-only is
    // enough); the writer sleeps on ack_word, while it still holds `seen`, until woken or
    // `timeout_ns` passes. Returns true when woken (or the word had moved), false on timeout.
    void wake_writer() const;
    bool wait_for_ack(uint32_t seen, int64_t timeout_ns);
    // The writer ends its own wait from another thread: ack_word moves (only the writer maps
    // it writable), so that a sleep about to start with the old value does not start.
    void end_ack_wait();

private:
    Segment(std::string path, int fd, Access access);
    static std::unique_ptr<Segment> open_object(const std::string& path, Access access);
    void map(uint64_t length);
    void unmap();

    std::string path_;
    int fd_ = -1;
    Access access_;
    ino_t inode_ = 0;
    uid_t owner_ = 0;
    mode_t mode_ = 0;
    uint64_t size_ = 0; // the object's size when opened
    void* map_ = nullptr;
    uint64_t map_length_ = 0;
    std::unique_ptr<FaultGuard> guard_;
    layout::SegmentHeader* header_ = nullptr;
    uint32_t slot_count_ = 0;
    uint64_t slot_stride_ = 0;
    uint64_t payload_offset_ = 0;
    std::mutex pins_mutex_;
    std::array<uint32_t, layout::kMaxSlots> pins_{};
};

// A segment's wake word as a reader last saw it.
struct WakeWatch
{
    std::shared_ptr<const Segment> segment;
    uint32_t seen = 0;
};

// Sleeps until one of the `count` watched wake words differs from what was seen, or
// `timeout_ns` passes (futex_waitv: one system call for any number of segments, up to 128; more are
// watched in turns of a few milliseconds). With no word to watch, sleeps out the timeout. Returns
// false when the timeout passed, true when woken (or a word had already moved).
bool wait_for_any_wake(const WakeWatch* watches, size_t count, int64_t timeout_ns);

// Any process that maps a segment may FUTEX_WAKE its words: read access is enough. A waiter
// woken more than kMaxFruitlessWakes times in one wait without finding what it waits for stops
// sleeping on the word and looks again every kFloodedLookInterval: a flood of wakes then costs it
// one look per interval, not one per wake (and its frames up to an interval of latency).
inline constexpr int kMaxFruitlessWakes = 32;
inline constexpr std::chrono::milliseconds kFloodedLookInterval{1};

} // namespace pvshm::detail
