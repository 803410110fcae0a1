// SPDX-License-Identifier: LGPL-2.1-or-later
#include <pvshm/writer.hpp>

// The writing side of the protocol in layout.hpp: lending and publishing slots (the id itself is
// owned_id.cpp's).
#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

#include <pvshm/clock.hpp>

#include "id.hpp"
#include "layout.hpp"
#include "log.hpp"
#include "metadata.hpp"
#include "owned_id.hpp"
#include "segment.hpp"
#include "slot_desc.hpp"
#include "stream_copy.hpp"

namespace pvshm {
namespace detail {
namespace {

// The longest a lossless writer sleeps before it looks at its readers' need locks again.
constexpr auto kLosslessRecheck = std::chrono::milliseconds(10);

} // namespace

class WriterCore : public std::enable_shared_from_this<WriterCore>
{
public:
    WriterCore(std::string id, WriterOptions options)
        : owned_(std::move(id), options), options_(std::move(options))
    {
    }

    void take_id()
    {
        segment_ = owned_.take(sequence_);
        run_first_ = sequence_ + 1;
        claim_run();
    }

    std::optional<SlotLoan> loan(uint64_t size, bool count_drop)
    {
        if (size > kMaxPayloadSize)
            throw std::invalid_argument("frame of " + std::to_string(size) +
                                        " bytes is larger than the maximum of " +
                                        std::to_string(kMaxPayloadSize));
        std::unique_lock lock(mutex_);
        keep_published();
        WaitScope waiting(*this);
        // A slot asked for ahead of a frame (a buffer pool) is not lent before the readers
        // awaited came: the frame is copied in by a loan() that waits for them.
        if (!count_drop && options_.wait_for_readers > 0 && !readers_arrived_)
            return std::nullopt;
        // Before a growth: the readers awaited are attached to the segment as it is.
        const bool readers_here = await_readers(lock);
        if (size > segment_->slot_stride() ||
            owned_.slot_count(segment_->slot_stride()) != segment_->slot_count())
            replace_segment(size);
        const auto waited_since = std::chrono::steady_clock::now();
        int fruitless_wakes = 0; // in this wait: a reader may flood the ack word with wakes
        for (; readers_here;) {
            bool needed = false;
            if (auto slot = free_slot(needed)) {
                if (count_drop)
                    layout::store_relaxed(segment_->header().slots_held_since_ns, int64_t{0});
                return lend(*slot);
            }
            if (!needed || !count_drop || flushing_ || cancelled_)
                break;
            wait_for_lossless_readers(lock, waited_since, fruitless_wakes);
        }
        if (count_drop) {
            auto& held_since = segment_->header().slots_held_since_ns;
            if (readers_here && !flushing_ && !cancelled_ && layout::load_relaxed(held_since) == 0)
                layout::store_relaxed(held_since, clock_ns(CLOCK_REALTIME));
            layout::add_relaxed(segment_->header().frames_dropped, uint64_t{1});
            log::debug("'" + id() + "': every slot is pinned by readers, frame dropped");
        }
        return std::nullopt;
    }

    void cancel_wait()
    {
        std::lock_guard lock(mutex_);
        end_wait();
    }

    void set_flushing(bool flushing)
    {
        std::lock_guard lock(mutex_);
        flushing_ = flushing;
        if (flushing)
            end_wait();
    }

    std::optional<uint64_t> publish(SlotLoan& loan, const FrameInfo& info)
    {
        check_storable(info, loan.capacity());
        const std::string metadata = serialize_metadata(info.metadata);
        if (loan.segment_->lost()) {
            // Truncated by another process while the frame was filled in: the frame is gone.
            loan.give_back();
            std::lock_guard lock(mutex_);
            keep_published();
            layout::add_relaxed(segment_->header().frames_dropped, uint64_t{1});
            return std::nullopt;
        }
        std::unique_lock lock(mutex_);
        if (loan.segment_ != segment_) {
            // The segment grew while this loan was out: copy the frame into the new one.
            lock.unlock();
            auto fresh = this->loan(info.payload_size, true);
            if (!fresh)
                return std::nullopt;
            fresh->fill(0, loan.data(), info.payload_size);
            loan.give_back();
            return publish(*fresh, info);
        }
        const uint32_t slot = loan.slot_;
        auto& desc = segment_->desc(slot);
        const bool kept = options_.keep_sequence && info.sequence > sequence_;
        const uint64_t sequence = kept ? info.sequence : sequence_ + 1;
        // A relay's gap in the source's numbers is frames lost on the way: drops of this id too,
        // where its readers look. Counted from this writer's first frame on.
        if (kept && published_any_ && sequence > sequence_ + 1)
            layout::add_relaxed(segment_->header().frames_dropped, sequence - sequence_ - 1);
        published_any_ = true;
        sequence_ = sequence;
        const std::string& camera_id = info.camera_id.empty() ? options_.camera_id : info.camera_id;
        const uint32_t bit_depth = info.bit_depth                          ? info.bit_depth
                                   : info.format == PixelFormat::GRAY16_LE ? options_.bit_depth
                                                                           : 0;
        write_slot_desc(desc, info, camera_id, bit_depth, metadata, sequence);
        // Publication: the descriptor and payload become visible before the seqlock and
        // `latest` say so (release), which is what readers' acquire loads pair with. No system
        // call stands between here and the readers' wake-up (the slot's lock went in lend()).
        layout::store_release(desc.seqlock, layout::load_relaxed(desc.seqlock) + 1);
        auto& header = segment_->header();
        layout::store_release(header.latest, layout::pack_latest(sequence, slot));
        layout::add_relaxed(header.frames_written, uint64_t{1});
        layout::add_relaxed(header.bytes_written, info.payload_size);
        loaned_ &= ~(uint64_t{1} << slot);
        loan.core_.reset(); // published: no longer lent, still mapped while the loan lives
        segment_->wake_readers();
        return sequence;
    }

    void give_back(const std::shared_ptr<Segment>& segment, uint32_t slot)
    {
        std::lock_guard lock(mutex_);
        Segment* owner = segment.get();
        auto& desc = owner->desc(slot);
        // Part of the old frame may be overwritten: the slot holds no frame any more.
        desc.sequence = 0;
        layout::store_release(desc.seqlock, layout::load_relaxed(desc.seqlock) + 1);
        if (owner == segment_.get())
            loaned_ &= ~(uint64_t{1} << slot);
    }

    bool owns(const SlotLoan& loan) const
    {
        std::lock_guard lock(mutex_);
        return loan.core_.get() == this && loan.segment_ == segment_;
    }

    void set_source(const std::string& source)
    {
        std::lock_guard lock(mutex_);
        auto& header = segment_->header();
        char padded[sizeof header.source] = {};
        source.copy(padded, std::min(source.size(), kMaxSourceLength));
        std::memcpy(header.source, padded, sizeof padded);
    }

    void set_source_alive(bool alive)
    {
        std::lock_guard lock(mutex_);
        auto& header = segment_->header();
        if (alive)
            layout::clear_bits_release(header.state_flags, layout::kSegmentSourceDead);
        else
            layout::set_bits_release(header.state_flags, layout::kSegmentSourceDead);
    }

    WriterStats stats() const
    {
        std::lock_guard lock(mutex_);
        const auto& header = segment_->header();
        const int64_t held_since = layout::load_relaxed(header.slots_held_since_ns);
        return {layout::load_relaxed(header.frames_written),
                layout::load_relaxed(header.frames_dropped),
                layout::load_relaxed(header.bytes_written),
                layout::load_relaxed(header.lossless_drops),
                std::chrono::nanoseconds(
                    held_since ? std::max<int64_t>(clock_ns(CLOCK_REALTIME) - held_since, 1) : 0)};
    }

    bool still_published() const
    {
        std::lock_guard lock(mutex_);
        return segment_->still_named();
    }

    void remove()
    {
        std::lock_guard lock(mutex_);
        if (segment_->still_named())
            unlink(owned_.path().c_str());
    }

    const std::string& id() const { return owned_.id(); }

private:
    // Marks a loan() as waiting for readers (for cancel_wait()) while it lives; the mutex is held
    // when it starts and ends.
    class WaitScope
    {
    public:
        explicit WaitScope(WriterCore& core) : core_(core) { core_.waiting_ = true; }
        ~WaitScope()
        {
            core_.waiting_ = false;
            core_.cancelled_ = false;
        }
        WaitScope(const WaitScope&) = delete;
        WaitScope& operator=(const WaitScope&) = delete;

    private:
        WriterCore& core_;
    };

    // WriterOptions::wait_for_readers, before the first frame: sleeps until that many readers of
    // every frame hold their reader locks (layout.hpp); each one that attaches wakes the writer.
    // Returns false when the wait was cancelled; throws when it timed out.
    bool await_readers(std::unique_lock<std::mutex>& lock)
    {
        const uint32_t wanted = options_.wait_for_readers;
        if (readers_arrived_ || wanted == 0)
            return true;
        const auto since = std::chrono::steady_clock::now();
        int fruitless_wakes = 0;
        size_t attached = 0;
        for (bool told = false;; told = true) {
            const auto segment = segment_; // keeps the mapping while the lock is let go
            auto& header = segment->header();
            layout::store_seq_cst(header.writer_waiting, 1u);
            const uint32_t seen = layout::load_relaxed(header.ack_word);
            attached = segment->one_byte_locks_elsewhere(
                layout::kReaderLockBase, layout::kReaderLockBase + layout::kReaderLockSpan - 1,
                wanted);
            const auto waited = std::chrono::steady_clock::now() - since;
            const bool timed_out = options_.wait_for_readers_timeout.count() > 0 &&
                                   waited >= options_.wait_for_readers_timeout;
            if (attached >= wanted || flushing_ || cancelled_ || timed_out) {
                layout::store_seq_cst(header.writer_waiting, 0u);
                break;
            }
            if (!told)
                log::message(LogLevel::Info,
                             "'" + id() + "': waiting for " + std::to_string(wanted) +
                                 " readers of every frame before the first frame (" +
                                 std::to_string(attached) + " attached)");
            sleep_for_ack(lock, *segment, seen, fruitless_wakes);
        }
        if (attached >= wanted) {
            readers_arrived_ = true;
            return true;
        }
        if (flushing_ || cancelled_)
            return false;
        throw std::system_error(
            ETIMEDOUT, std::generic_category(),
            "shared_mem_id '" + id() + "': " + std::to_string(attached) + " of " +
                std::to_string(wanted) + " readers of every frame attached within " +
                std::to_string(
                    std::chrono::duration<double>(options_.wait_for_readers_timeout).count()) +
                " s (wait_for_readers)");
    }

    // With the mutex held: the loan() waiting now, if any, gives up.
    void end_wait()
    {
        if (!waiting_)
            return;
        cancelled_ = true;
        segment_->end_ack_wait();
    }

    // A slot the next frame may be written to: not the newest, not lent, not pinned. The slot
    // written most recently comes first: its memory is the likeliest still in cache, so a writer
    // whose readers keep up alternates between two slots. A frame that a reader of every frame
    // has not taken yet is overwritten only when no other slot is free, and in lossless mode
    // never (then `needed`).
    std::optional<uint32_t> free_slot(bool& needed)
    {
        std::array<uint32_t, layout::kMaxSlots> hottest_first;
        size_t count = 0;
        const uint32_t newest = newest_slot();
        for (uint32_t slot = 0; slot < segment_->slot_count(); ++slot)
            if (slot != newest && !(loaned_ >> slot & 1))
                hottest_first[count++] = slot;
        auto held = [this](uint32_t slot) {
            return layout::load_relaxed(segment_->desc(slot).sequence);
        };
        std::sort(hottest_first.begin(), hottest_first.begin() + count,
                  [&](uint32_t a, uint32_t b) { return held(a) > held(b); });
        std::array<uint32_t, layout::kMaxSlots> still_wanted;
        size_t wanted = 0;
        bool checking = true; // a frame nobody needs means no older frame is needed either
        for (size_t i = 0; i < count; ++i) {
            const uint32_t slot = hottest_first[i];
            if (checking && still_needed(held(slot))) {
                still_wanted[wanted++] = slot;
                continue;
            }
            checking = false;
            if (segment_->try_lock(layout::slot_lock_byte(slot), true))
                return slot;
        }
        if (options_.lossless) {
            needed = wanted > 0;
            return std::nullopt;
        }
        for (size_t i = 0; i < wanted; ++i)
            if (segment_->try_lock(layout::slot_lock_byte(still_wanted[i]), true))
                return still_wanted[i];
        return std::nullopt;
    }

    // Whether a reader of every frame still needs frame `sequence` or an older one: in this
    // segment, or in one it replaced, where readers finish the frames it held before they
    // follow (their need locks move with them). A replaced segment nobody needs anything of
    // any more is let go. The replaced segments are looked at first, oldest first, and this one
    // last: a reader takes its need lock in the newer segment before it lets go of the older one,
    // so a look in this order cannot miss it in the middle of its move (looking here first
    // could see it in neither, and a lossless writer overwrite a frame it needed).
    bool still_needed(uint64_t sequence)
    {
        if (sequence < lossless_floor_)
            return false;
        const int64_t first = layout::need_lock_byte(lossless_floor_);
        const int64_t last = layout::need_lock_byte(sequence);
        bool needed = false;
        for (auto it = replaced_.begin(); it != replaced_.end();) {
            if ((*it)->need_locked_elsewhere(first, layout::need_lock_byte(UINT64_MAX >> 2))) {
                needed = needed || (*it)->need_locked_elsewhere(first, last);
                ++it;
            } else {
                it = replaced_.erase(it);
            }
        }
        return needed || segment_->need_locked_elsewhere(first, last);
    }

    // `slot` comes locked from free_slot(): no reader pins it. Marked odd, it can let go of the
    // lock at once: a reader that pins it from now on sees it being written and lets go, and
    // publish() needs no system call before it wakes readers.
    SlotLoan lend(uint32_t slot)
    {
        auto& desc = segment_->desc(slot);
        layout::store_release(desc.seqlock, layout::load_relaxed(desc.seqlock) | 1);
        segment_->unlock(layout::slot_lock_byte(slot));
        loaned_ |= uint64_t{1} << slot;
        return SlotLoan(shared_from_this(), segment_, slot, segment_->payload(slot),
                        segment_->slot_stride());
    }

    // One sleep until a reader of every frame took one (it wakes us), at most kLosslessRecheck
    // (a wake that lands between our look and our sleep is not lost for longer). Past the
    // lossless timeout the readers still behind are dropped from the wait: the floor rises
    // above every frame written so far.
    void wait_for_lossless_readers(std::unique_lock<std::mutex>& lock,
                                   std::chrono::steady_clock::time_point since,
                                   int& fruitless_wakes)
    {
        const auto segment = segment_; // keeps the mapping while the lock is let go
        auto& header = segment->header();
        if (options_.lossless_timeout.count() > 0 &&
            std::chrono::steady_clock::now() - since >= options_.lossless_timeout) {
            lossless_floor_ = sequence_ + 1;
            layout::add_relaxed(header.lossless_drops, uint64_t{1});
            log::debug("'" + id() + "': a reader of every frame fell behind by more than the " +
                       "lossless timeout; dropped from the wait");
            return;
        }
        layout::store_seq_cst(header.writer_waiting, 1u);
        // Read with the lock held: a cancel_wait() from now on moves the word, so that the sleep
        // below does not start or ends at once.
        const uint32_t seen = layout::load_relaxed(header.ack_word);
        bool needed = false;
        if (!free_slot_exists(needed) && needed) {
            // Asleep without the lock: stats() and other calls need not wait for our readers.
            sleep_for_ack(lock, *segment, seen, fruitless_wakes);
        }
        layout::store_seq_cst(header.writer_waiting, 0u);
    }

    // Sleeps, without the writer's lock, until a reader moves the ack word from `seen` or for
    // kLosslessRecheck; after kMaxFruitlessWakes wakes that changed nothing (a flood), it looks
    // every kFloodedLookInterval instead.
    static void sleep_for_ack(std::unique_lock<std::mutex>& lock, Segment& segment, uint32_t seen,
                              int& fruitless_wakes)
    {
        lock.unlock();
        if (fruitless_wakes > kMaxFruitlessWakes)
            std::this_thread::sleep_for(kFloodedLookInterval);
        else
            fruitless_wakes +=
                segment.wait_for_ack(seen, std::chrono::nanoseconds(kLosslessRecheck).count());
        lock.lock();
    }

    bool free_slot_exists(bool& needed)
    {
        auto slot = free_slot(needed);
        if (slot)
            segment_->unlock(layout::slot_lock_byte(*slot));
        return slot.has_value();
    }

    uint32_t newest_slot() const
    {
        const uint64_t latest = layout::load_relaxed(segment_->header().latest);
        return latest == 0 ? layout::kNoSlot : layout::latest_slot(latest);
    }

    // Stores where this writer's run starts in the segment, then holds that run's lock there
    // (layout.hpp, runs): readers see the run's number only with the run alive. A reader with
    // read permission that read-locks the byte first keeps the lock from being taken: readers of
    // every frame starting then skip the newest frame they find, as for a writer that has
    // published nothing yet; nothing waits.
    void claim_run()
    {
        layout::store_release(segment_->header().run_first_sequence, run_first_);
        segment_->try_lock(layout::run_lock_byte(run_first_), true);
    }

    void keep_published()
    {
        if (auto fresh = owned_.keep_published(segment_)) {
            segment_ = std::move(fresh);
            loaned_ = 0;
            claim_run();
        }
    }

    // The old segment is marked superseded so that its readers reopen the name; the writer
    // keeps it while readers of every frame still need frames of it, or the frames after its
    // last (the first frame grows the segment made when the id was taken): until they follow,
    // their need locks are there, and the frames they will want in the new segment are
    // overwritten last (a lossless writer: not at all). A reader mapping a large new segment
    // under load took long enough for the writer to reuse two of its slots over and over.
    void replace_segment(uint64_t size)
    {
        auto old = std::exchange(segment_, owned_.replace(segment_, size, true));
        loaned_ = 0;
        claim_run();
        replaced_.push_back(std::move(old));
    }

    OwnedId owned_;
    const WriterOptions options_;
    mutable std::mutex mutex_;
    std::shared_ptr<Segment> segment_;
    uint64_t sequence_ = 0;
    uint64_t run_first_ = 0; // the number of this writer's first frame
    bool published_any_ = false;
    uint64_t loaned_ = 0; // slots of segment_ lent out, one bit each
    // Guarded by mutex_: a loan() is waiting for readers; cancel_wait() ended that wait;
    // set_flushing(true) holds.
    bool waiting_ = false;
    bool cancelled_ = false;
    bool flushing_ = false;
    bool readers_arrived_ = false; // WriterOptions::wait_for_readers is met
    uint64_t lossless_floor_ = 1;  // need locks below it no longer make the writer wait
    // Segments this writer replaced while readers of every frame still hold need locks there.
    std::vector<std::shared_ptr<Segment>> replaced_;
};

} // namespace detail

SlotLoan::SlotLoan(std::shared_ptr<detail::WriterCore> core,
                   std::shared_ptr<detail::Segment> segment, uint32_t slot, uint8_t* data,
                   uint64_t capacity)
    : core_(std::move(core)), segment_(std::move(segment)), slot_(slot), data_(data),
      capacity_(capacity)
{
}

SlotLoan::SlotLoan(SlotLoan&& other) noexcept
    : core_(std::move(other.core_)), segment_(std::move(other.segment_)), slot_(other.slot_),
      data_(other.data_), capacity_(other.capacity_)
{
}

SlotLoan& SlotLoan::operator=(SlotLoan&& other) noexcept
{
    if (this != &other) {
        give_back();
        core_ = std::move(other.core_);
        segment_ = std::move(other.segment_);
        slot_ = other.slot_;
        data_ = other.data_;
        capacity_ = other.capacity_;
    }
    return *this;
}

SlotLoan::~SlotLoan()
{
    give_back();
}

void SlotLoan::give_back()
{
    // The mapping stays held until the loan is destroyed: its memory may still be in use.
    if (core_ && segment_)
        core_->give_back(segment_, slot_);
    core_.reset();
}

void SlotLoan::fill(uint64_t offset, const uint8_t* bytes, uint64_t size) const
{
    if (offset > capacity_ || size > capacity_ - offset)
        throw std::out_of_range(std::to_string(size) + " bytes at offset " +
                                std::to_string(offset) + " do not fit a slot of " +
                                std::to_string(capacity_));
    detail::copy_past_cache(data_ + offset, bytes, size);
}

Writer::Writer(const std::string& shared_mem_id, WriterOptions options)
{
    validate_id(shared_mem_id);
    static_assert(kMaxWriterSlots <= layout::kMaxSlots);
    if (options.slots != kAutoSlots &&
        (options.slots < kMinWriterSlots || options.slots > kMaxWriterSlots))
        throw std::invalid_argument("slots must be " + std::to_string(kMinWriterSlots) + " to " +
                                    std::to_string(kMaxWriterSlots) + " (or 0: chosen from the " +
                                    "frame size), not " + std::to_string(options.slots));
    if (options.mode & ~kMaxWriterMode)
        throw std::invalid_argument("mode must be permission bits (0 to 0777)");
    if (options.camera_id.size() > kMaxCameraIdLength)
        throw std::invalid_argument("camera_id is longer than " +
                                    std::to_string(kMaxCameraIdLength) + " characters");
    if (options.initial_slot_size > kMaxPayloadSize)
        throw std::invalid_argument("initial_slot_size is larger than the maximum frame size");
    static_assert(kMinAutoSlots >= 3, "automatic slots serve lossless replay");
    if (options.lossless && options.slots != kAutoSlots && options.slots < 3)
        throw std::invalid_argument("lossless replay needs at least 3 slots (the newest frame, the "
                                    "one a reader is taking, one to write), not " +
                                    std::to_string(options.slots));
    if (options.lossless_timeout.count() < 0)
        throw std::invalid_argument("lossless_timeout must not be negative");
    if (options.wait_for_readers_timeout.count() < 0)
        throw std::invalid_argument("wait_for_readers_timeout must not be negative");
    if (options.bit_depth > kMaxBitDepth)
        throw std::invalid_argument("bit_depth must be 0 (all) or 1 to 16, not " +
                                    std::to_string(options.bit_depth));
    core_ = std::make_shared<detail::WriterCore>(shared_mem_id, std::move(options));
    core_->take_id();
}

Writer::~Writer() = default;
Writer::Writer(Writer&&) noexcept = default;
Writer& Writer::operator=(Writer&&) noexcept = default;

std::optional<uint64_t> Writer::write(const FrameInfo& info, const uint8_t* payload)
{
    auto slot = core_->loan(info.payload_size, true);
    if (!slot)
        return std::nullopt;
    slot->fill(0, payload, info.payload_size);
    return publish(*slot, info);
}

std::optional<SlotLoan> Writer::loan(uint64_t size)
{
    return core_->loan(size, true);
}

std::optional<SlotLoan> Writer::try_loan(uint64_t size)
{
    return core_->loan(size, false);
}

std::optional<uint64_t> Writer::publish(SlotLoan& loan, const FrameInfo& info)
{
    if (loan.core_ != core_)
        throw std::invalid_argument(
            "publish: the loan does not come from this writer or was already published");
    return core_->publish(loan, info);
}

bool Writer::owns(const SlotLoan& loan) const
{
    return core_->owns(loan);
}

WriterStats Writer::stats() const
{
    return core_->stats();
}

const std::string& Writer::id() const
{
    return core_->id();
}

bool Writer::still_published() const
{
    return core_->still_published();
}

void Writer::remove()
{
    core_->remove();
}

void Writer::set_source(const std::string& source)
{
    core_->set_source(source);
}

void Writer::set_source_alive(bool alive)
{
    core_->set_source_alive(alive);
}

void Writer::cancel_wait()
{
    core_->cancel_wait();
}

void Writer::set_flushing(bool flushing)
{
    core_->set_flushing(flushing);
}

} // namespace pvshm
