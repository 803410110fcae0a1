// SPDX-License-Identifier: LGPL-2.1-or-later
// The one writer of a segment: stores frames as the newest of its id, either copied in
// (write) or filled in place (loan, then publish).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <sys/types.h>

#include <pvshm/export.hpp>
#include <pvshm/frame.hpp>

namespace pvshm {

// What WriterOptions accept.
inline constexpr uint32_t kMinWriterSlots = 2;
inline constexpr uint32_t kMaxWriterSlots = 64;
// WriterOptions::slots left to the library (the default): as many slots of the frame's size as
// kAutoSlotsBudget bytes hold (a 16th of the shared-memory filesystem's size where that is less),
// at least kMinAutoSlots, at most kMaxWriterSlots.
inline constexpr uint32_t kAutoSlots = 0;
inline constexpr uint64_t kAutoSlotsBudget = uint64_t{64} << 20;
inline constexpr uint32_t kMinAutoSlots = 4;
inline constexpr mode_t kMaxWriterMode = 0777; // permission bits only
inline constexpr uint32_t kMaxBitDepth = 16;
inline constexpr size_t kMaxSourceLength = 127;

struct WriterOptions
{
    // Frames held at once: kMinWriterSlots..kMaxWriterSlots, or kAutoSlots: chosen from the
    // slot size when the segment is made (again when a larger frame grows it), so that small
    // frames get more. A reader of every frame that has taken the newest frame and then stalls
    // for up to slots - 2 frame intervals loses none (more slots, more time: 640x480 BGR gets 64,
    // 1.2 s at 50 frames/s; 1920x1080 BGR 10, 160 ms at 50 frames/s, 270 ms at 30). The memory
    // is reserved when the segment is made.
    uint32_t slots = kAutoSlots;
    mode_t mode = 0600;    // permissions of the shared-memory object, up to kMaxWriterMode
    std::string camera_id; // stored with every frame whose FrameInfo names none
    // Bytes reserved per slot when the segment is created; frames that do not fit grow it.
    uint64_t initial_slot_size = 0;
    // Significant bits stored with every GRAY16_LE frame whose FrameInfo says 0 (0: all 16).
    uint32_t bit_depth = 0;
    // Lossless replay (recorded video through an algorithm): keep every frame until each reader
    // that reads every frame (Reader::view_next, pvshmsrc mode=all) took it, waiting for them
    // without polling. Readers of the newest frame never make the writer wait; a reader that
    // dies stops counting at once. Off (the default for cameras): the writer never waits.
    // Needs at least 3 slots; with several readers of every frame, readers + 2, as each one
    // pins the frame it is taking (a frame that finds every other slot pinned is dropped).
    bool lossless = false;
    // How long a lossless writer waits for readers that fell behind before it drops them from
    // the wait (counted in WriterStats::lossless_drops); 0: as long as they live.
    std::chrono::nanoseconds lossless_timeout{0};
    // Replaying a recording to readers that start later: the first frame waits until this many
    // readers of every frame (Reader::view_next, pvshmsrc mode=all) are attached, without
    // polling (0: no wait). Frames the readers would otherwise miss are kept for them from the
    // first one. cancel_wait() and set_flushing() end the wait (the frame is dropped).
    uint32_t wait_for_readers = 0;
    // How long that wait lasts at most (0: as long as it takes); then loan() and write() throw
    // std::system_error with ETIMEDOUT, naming how many readers came.
    std::chrono::nanoseconds wait_for_readers_timeout{0};
    // A frame whose FrameInfo::sequence is above the last one published keeps that number (a
    // mirror of another host's segment, a relay: readers see the source's numbers, and a gap
    // counts a frame lost anywhere on the way: the gaps after this writer's first frame are added
    // to the id's dropped frames). Other frames get the next number.
    bool keep_sequence = false;
};

struct WriterStats
{
    uint64_t frames_written = 0; // of this id, across every writer it had
    uint64_t frames_dropped = 0; // frames that found every slot pinned by readers, and a relay's
                                 // gaps in its source's numbers (keep_sequence)
    uint64_t bytes_written = 0;
    uint64_t lossless_drops = 0; // lossless waits that ran out of time and dropped readers
    // How long readers have held every slot the next frame could go to (frames are dropped
    // meanwhile), 0 while a slot is free. Any reader with read permission can do it; OFD locks do
    // not name their holder (F_OFD_GETLK reports pid -1).
    std::chrono::nanoseconds slots_held{0};
};

namespace detail {
class Segment; // lib/src/segment.hpp: one mapped shared-memory object
class WriterCore;
} // namespace detail

// A slot lent by the writer, to be filled in place and published. Gives the slot back unpublished
// when destroyed. Keeps its memory mapped while it lives, even after it was published or the
// writer grew the segment, so that whatever still points into it (a GStreamer buffer kept
// downstream) never points at unmapped memory; once published, the writer may reuse the slot.
class PVSHM_EXPORT SlotLoan
{
public:
    SlotLoan(const SlotLoan&) = delete;
    SlotLoan& operator=(const SlotLoan&) = delete;
    SlotLoan(SlotLoan&& other) noexcept;
    SlotLoan& operator=(SlotLoan&& other) noexcept;
    ~SlotLoan();

    uint8_t* data() const { return data_; }
    // Bytes available from data(): at least the size asked for, a multiple of the page size.
    uint64_t capacity() const { return capacity_; }
    // Copies `size` bytes to data() + offset as Writer::write copies a frame in: a large copy
    // bypasses the cache (the slot is for readers; the writer's own data keeps the cache).
    // Throws std::out_of_range when the bytes would end past capacity().
    void fill(uint64_t offset, const uint8_t* bytes, uint64_t size) const;

private:
    friend class detail::WriterCore;
    friend class Writer;
    PVSHM_LOCAL SlotLoan(std::shared_ptr<detail::WriterCore> core,
                         std::shared_ptr<detail::Segment> segment, uint32_t slot, uint8_t* data,
                         uint64_t capacity);
    PVSHM_LOCAL void give_back();

    std::shared_ptr<detail::WriterCore> core_;
    std::shared_ptr<detail::Segment> segment_;
    uint32_t slot_ = 0;
    uint8_t* data_ = nullptr;
    uint64_t capacity_ = 0;
};

class PVSHM_EXPORT Writer
{
public:
    // Takes the id: creates its segment, or adopts the one a dead writer left (keeping its last
    // frame readable). Throws std::invalid_argument for an invalid id or options,
    // std::system_error with EBUSY when another writer of the id is alive, SegmentError for an
    // object of another user, and std::system_error naming the size when memory is short.
    explicit Writer(const std::string& shared_mem_id, WriterOptions options = {});
    ~Writer();
    Writer(Writer&&) noexcept;
    Writer& operator=(Writer&&) noexcept;

    // Copies one frame in and publishes it. `info` describes `payload` (payload_size bytes);
    // its sequence is ignored unless WriterOptions::keep_sequence. Returns the frame's sequence
    // number, or nullopt when readers pin every slot and the frame was dropped (and counted).
    std::optional<uint64_t> write(const FrameInfo& info, const uint8_t* payload);

    // Lends a slot of at least `size` bytes for the next frame, growing the segment first if
    // needed (readers notice and remap). Returns nullopt when readers pin every other slot: the
    // frame is counted as dropped. Never waits for a reader, except in lossless mode for readers
    // of every frame.
    std::optional<SlotLoan> loan(uint64_t size);
    // As loan(), for a slot asked for ahead of any frame (a buffer pool): nullopt drops nothing.
    std::optional<SlotLoan> try_loan(uint64_t size);

    // Publishes a filled loan as the newest frame; the loan no longer lends the slot afterwards.
    // Returns the frame's sequence number, or nullopt when it was dropped (the loan predates a
    // growth of the segment and no slot was free to copy it to). Throws std::invalid_argument
    // when `info` does not fit the loan.
    std::optional<uint64_t> publish(SlotLoan& loan, const FrameInfo& info);

    // True while `loan` lends a slot of this writer's current segment, unpublished (used to
    // recognise frames filled in place).
    bool owns(const SlotLoan& loan) const;

    WriterStats stats() const;
    const std::string& id() const;
    // False once the segment's name was removed or taken by another object (e.g. `pvshm clear`):
    // frames written from then on reach no reader.
    bool still_published() const;
    // Removes the segment's name now (the "persist=false" behaviour); readers keep what they map.
    void remove();
    // For a relay (pvshm mirror): where its frames come from, shown by `pvshm info` (at most
    // kMaxSourceLength bytes; longer is cut). Cleared when another writer takes the id over.
    void set_source(const std::string& source);
    // For a relay: whether its source still sends. While not, readers see the writer as not
    // alive (Reader::writer_alive, SegmentStatus, FrameView), as if it had died; true again when
    // frames flow. Cleared when another writer takes the id over.
    void set_source_alive(bool alive);
    // Makes a loan() that is waiting for readers now give up (its frame is dropped). A loan()
    // that is not waiting at that moment is not affected: to be sure that no wait starts after
    // the call either, use set_flushing(). Safe from any thread.
    void cancel_wait();
    // While flushing, every loan() that would wait for readers gives up at once (its frame is
    // dropped), the one waiting when flushing starts included; set_flushing(false) lets loans
    // wait again (GstBaseSink's unlock and unlock_stop). Safe from any thread.
    void set_flushing(bool flushing);

private:
    std::shared_ptr<detail::WriterCore> core_;
};

} // namespace pvshm
