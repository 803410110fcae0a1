// SPDX-License-Identifier: LGPL-2.1-or-later
#include <pvshm/reader.hpp>

// The reading side of the protocol in layout.hpp: leases, waiting, following replacements.
#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <poll.h>
#include <random>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <system_error>
#include <thread>
#include <unistd.h>

#include <pvshm/error.hpp>

#include "id.hpp"
#include "layout.hpp"
#include "slot_desc.hpp"
#include "slot_pin.hpp"

namespace pvshm {
namespace detail {
namespace {

using Clock = std::chrono::steady_clock;

// How often a waiting reader looks for a replacement its writer could not announce (it died
// between renaming the new object in and flagging the old one).
constexpr auto kReplacementCheck = std::chrono::milliseconds(200);
// How often wait_any() looks whether an id without a segment has one now (a single reader's
// wait() is told by inotify instead).
constexpr auto kMissingSegmentCheck = std::chrono::milliseconds(50);

// A pin fails only when the writer took the slot between our look and the pin; a reader
// descheduled again and again by a saturated machine needs many tries (seen: more than 16).
constexpr int kPinNewestAttempts = 1000;
// Before that, a few tries at the slot `latest` names, and at the next frame in order: each
// failure means the writer moved on, which a reader keeping up sees rarely.
constexpr int kPinLatestAttempts = 8;
constexpr int kPinNextAttempts = 16;
// Scans for a slot repeated while the writer keeps publishing during them (see
// find_slot_settled()); a writer publishing faster than a scan of 64 slots is not a real one.
constexpr int kSettleAttempts = 16;

// A busy loop's pause: lets the core's other thread run and saves power while spinning.
inline void cpu_relax()
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

int64_t to_ns(Clock::duration duration)
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(duration).count();
}

Clock::time_point deadline_after(std::chrono::nanoseconds timeout)
{
    const auto now = Clock::now();
    if (timeout >= Clock::time_point::max() - now)
        return Clock::time_point::max();
    return now + std::chrono::duration_cast<Clock::duration>(timeout);
}

// Blocks until the object at `path` may have appeared in shm_dir(), or `timeout` passes.
void wait_for_name(const std::string& path, std::chrono::nanoseconds timeout)
{
    const int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (fd < 0)
        return;
    if (inotify_add_watch(fd, shm_dir().c_str(), IN_CREATE | IN_MOVED_TO) >= 0 &&
        access(path.c_str(), F_OK) != 0) {
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count();
        pollfd watched{fd, POLLIN, 0};
        // One event or the timeout: the caller looks at the name again either way.
        poll(&watched, 1, static_cast<int>(std::clamp<int64_t>(ms, 1, 1000)));
        alignas(inotify_event) char events[4096];
        while (read(fd, events, sizeof events) > 0) {
        }
    }
    close(fd);
}

} // namespace

class ReaderCore
{
public:
    ReaderCore(std::string id, ReaderOptions options)
        : id_(std::move(id)), path_(segment_path(id_)), options_(options)
    {
        const char* env = std::getenv("PVSHM_ALLOW_OTHER_OWNERS");
        options_.allow_other_owner |= env && std::strcmp(env, "1") == 0;
    }

    std::optional<FrameView> view_latest()
    {
        return judged([this] { return find_latest(); });
    }

    std::optional<FrameView> view_next()
    {
        // A reader that looked before the id had a frame (or registered before the first frame of
        // a lossless writer) starts at the oldest frame there is, frame 1 if it is still held;
        // any other at the newest frame.
        in_order_ = true;
        if (last_sequence_ == 0 && refresh()) {
            if (const auto end = previous_run_end()) {
                // The newest frame is an earlier writer's: this run's first frame comes next.
                last_sequence_ = *end;
                need_after(last_sequence_);
                return std::nullopt;
            }
        }
        const bool from_first = before_first_frame_ || (need_segment_ && lossless(*need_segment_));
        auto view = last_sequence_ == 0 && !from_first ? view_latest()
                                                       : judged([this] { return find_next(); });
        before_first_frame_ = !view && last_sequence_ == 0;
        if (segment_)
            need_after(view ? view->info().sequence : last_sequence_);
        return view;
    }

    bool wait(std::chrono::nanoseconds timeout)
    {
        const auto deadline = deadline_after(timeout);
        const auto spin_until = options_.spin > std::chrono::nanoseconds::zero()
                                    ? std::min(deadline, deadline_after(options_.spin))
                                    : Clock::time_point::min();
        int fruitless_wakes = 0;
        for (;;) {
            const auto now = Clock::now();
            WakeWatch watch;
            if (ready(watch))
                return true;
            if (now >= deadline)
                return false;
            const auto slice = std::min<Clock::duration>(deadline - now, kReplacementCheck);
            if (!watch.segment)
                wait_for_name(path_, slice);
            else if (now < spin_until)
                spin_for_wake(watch, std::min(spin_until, now + slice));
            else if (fruitless_wakes > kMaxFruitlessWakes)
                std::this_thread::sleep_for(std::min<Clock::duration>(slice, kFloodedLookInterval));
            else
                fruitless_wakes += wait_for_any_wake(&watch, 1, to_ns(slice));
        }
    }

    // Watches the wake word in a busy loop until it changes (a publish) or `until`.
    static void spin_for_wake(const WakeWatch& watch, Clock::time_point until)
    {
        const auto& word = watch.segment->header().wake_word;
        for (uint32_t turn = 0;; ++turn) {
            if (layout::load_acquire(word) != watch.seen)
                return;
            // The clock is read now and then: a turn is a fraction of a microsecond.
            if (turn % 64 == 63 && Clock::now() >= until)
                return;
            cpu_relax();
        }
    }

    // One look for wait() and wait_any(): true when a frame newer than the last one returned
    // can be read now. Otherwise `watch` names the wake word to sleep on (no segment: none).
    // The wake word is read before looking for a frame, so that a publish in between changes it
    // and the futex wait returns at once.
    bool ready(WakeWatch& watch)
    {
        if (!refresh()) {
            watch = {};
            return false;
        }
        // A reader of every frame attaches to each segment it opens, before it is woken for a
        // frame: a writer may wait for it before its first one.
        if (in_order_ && need_segment_ != segment_)
            need_after(last_sequence_);
        watch = {segment_, layout::load_acquire(segment_->header().wake_word)};
        return has_readable_new_frame();
    }

    // writer_alive() and status() change nothing of the reader (what wait() reports next, its
    // pins): they look at the object now named by the id, the one this reader reads or one
    // opened for the look.
    bool writer_alive() const
    {
        const auto segment = named_segment();
        return segment && segment->writer_alive();
    }

    std::optional<SegmentStatus> status() const
    {
        const auto segment = named_segment();
        if (!segment)
            return std::nullopt;
        const auto& header = segment->header();
        SegmentStatus status;
        status.id = id_;
        status.slots = segment->slot_count();
        status.slot_size = segment->slot_stride();
        status.total_size = segment->size();
        status.frames_written = layout::load_relaxed(header.frames_written);
        status.frames_dropped = layout::load_relaxed(header.frames_dropped);
        status.slots_held_since_ns = layout::load_relaxed(header.slots_held_since_ns);
        status.bytes_written = layout::load_relaxed(header.bytes_written);
        status.writer_pid = layout::load_relaxed(header.writer_pid);
        status.writer_alive = segment->writer_alive();
        status.source.assign(header.source, strnlen(header.source, sizeof header.source));
        status.owner = segment->owner();
        struct stat st
        {
        };
        if (fstat(segment->fd(), &st) == 0)
            status.mode = st.st_mode & 07777;
        status.latest = newest_description(*segment);
        return status;
    }

    const std::string& id() const { return id_; }
    uint64_t last_sequence() const { return last_sequence_; }
    uint64_t frames_skipped() const { return skipped_; }

private:
    // Makes segment_ the object now named by the id, if any. Returns whether one is open.
    bool refresh()
    {
        if (segment_) {
            const bool superseded =
                layout::load_acquire(segment_->header().state_flags) & layout::kSegmentSuperseded;
            if (segment_->lost()) {
                // Truncated under us (that read may be what noticed): whatever object the name
                // holds now is judged afresh.
                segment_.reset();
                last_sequence_ = 0;
                unreadable_latest_ = 0;
                return open_named();
            }
            // The name is looked up (a system call) only when the segment has nothing new: a
            // segment that is being published to is the one to read.
            if (!superseded && (has_new_frame() || segment_->still_named()))
                return true;
            // A reader of every frame finishes a replaced segment's frames before it follows.
            if (superseded && in_order_ &&
                find_slot(last_sequence_, Pick::Oldest).first != layout::kNoSlot)
                return true;
            segment_.reset();
            unreadable_latest_ = 0;
            // A writer that grew its segment continues its sequence in the new one; any other
            // object under the name (cleared and created again) counts from 1.
            if (!superseded)
                last_sequence_ = 0;
        }
        return open_named();
    }

    bool open_named()
    {
        segment_ = open_segment();
        return segment_ != nullptr;
    }

    std::shared_ptr<Segment> open_segment() const
    {
        auto opened = Segment::open(path_, Segment::Access::ReadOnly, [this](const Segment& s) {
            if (s.owner() != geteuid() && !options_.allow_other_owner)
                throw OtherOwnerError(path_, s.owner());
        });
        return std::shared_ptr<Segment>(std::move(opened));
    }

    // The object the id names now: this reader's own while it still is, else opened afresh
    // (nullptr when there is none).
    std::shared_ptr<const Segment> named_segment() const
    {
        if (segment_ && !segment_->lost() &&
            !(layout::load_acquire(segment_->header().state_flags) & layout::kSegmentSuperseded) &&
            segment_->still_named())
            return segment_;
        return open_segment();
    }

    // The newest frame's description, read without a pin: a descriptor copy that its seqlock
    // says is whole is enough when the payload is not read.
    std::optional<FrameInfo> newest_description(const Segment& segment) const
    {
        const uint64_t latest = layout::load_acquire(segment.header().latest);
        if (latest == 0)
            return std::nullopt;
        const uint32_t named = layout::latest_slot(latest);
        if (named >= segment.slot_count())
            throw SegmentError(path_ + ": corrupt header (newest slot " + std::to_string(named) +
                               ")");
        // The slot `latest` names, unless the writer is rewriting it: then the newest whole one.
        layout::SlotDesc copy;
        layout::SlotDesc newest;
        uint32_t newest_slot = layout::kNoSlot;
        for (uint32_t i = 0; i <= segment.slot_count(); ++i) {
            const uint32_t slot = i == 0 ? named : i - 1;
            if (!copy_whole(segment.desc(slot), copy) ||
                (newest_slot != layout::kNoSlot && copy.sequence <= newest.sequence))
                continue;
            std::memcpy(&newest, &copy, sizeof copy);
            newest_slot = slot;
            if (i == 0 && copy.sequence >= layout::latest_sequence(latest))
                break;
        }
        if (newest_slot == layout::kNoSlot)
            return std::nullopt;
        return read_slot_desc(newest, segment.slot_stride(), path_, newest_slot);
    }

    // Copies a descriptor that another process may be rewriting: false when the copy may be torn
    // (the seqlock odd or moved) or the slot holds no frame. Only the bytes in use of the camera
    // id, caps and metadata are copied (the lengths clamped: a hostile copy is judged by
    // read_slot_desc()).
    static bool copy_whole(const layout::SlotDesc& shared, layout::SlotDesc& copy)
    {
        const uint64_t before = layout::load_acquire(shared.seqlock);
        std::memcpy(&copy, &shared, offsetof(layout::SlotDesc, camera_id));
        copy.camera_id_length = std::min<uint16_t>(copy.camera_id_length, layout::kCameraIdBytes);
        std::memcpy(copy.camera_id, shared.camera_id, copy.camera_id_length);
        copy.caps_length = std::min<uint16_t>(copy.caps_length, layout::kCapsBytes);
        std::memcpy(copy.caps, shared.caps, copy.caps_length);
        copy.metadata_length = std::min<uint16_t>(copy.metadata_length, layout::kMetadataBytes);
        std::memcpy(copy.metadata, shared.metadata, copy.metadata_length);
        layout::fence_acquire();
        const uint64_t after = layout::load_relaxed(shared.seqlock);
        return !(before & 1) && before == after && copy.sequence != 0;
    }

    // A reader of every frame holds the need lock of the frame after the one it took
    // (layout.hpp): a lossless writer waits for it, and wakes when it moves on; any other writer
    // overwrites the frames it still needs last.
    void need_after(uint64_t taken)
    {
        const int64_t byte = layout::need_lock_byte(taken + 1);
        if (need_segment_ == segment_ && need_byte_ == byte)
            return;
        const bool locked = segment_->try_lock(byte, false);
        // Once per segment, the reader lock that a writer waiting for readers counts (its
        // byte at random: each reader its own), held until the segment is let go. After the
        // need lock: a writer that counts this reader finds the frames it needs kept for it.
        if (need_segment_ != segment_)
            segment_->try_lock(layout::kReaderLockBase + random_() % layout::kReaderLockSpan,
                               false);
        if (need_segment_)
            need_segment_->unlock(need_byte_);
        need_segment_ = locked ? segment_ : nullptr;
        need_byte_ = byte;
        // A writer waits for this lock when lossless, for the reader lock before its first frame.
        if (layout::load_acquire(segment_->header().writer_waiting))
            segment_->wake_writer();
    }

    // When the segment's newest frame comes from an earlier writer's run and its current writer,
    // alive, has published nothing yet (layout.hpp, runs): the number its frames come after.
    // The run that stored run_first_sequence is looked at first: once its lock is gone, a writer
    // holding the id is another one, even one that crashed a moment ago had no time to store
    // its own run.
    std::optional<uint64_t> previous_run_end() const
    {
        const auto& header = segment_->header();
        const uint64_t first = layout::load_acquire(header.run_first_sequence);
        const uint64_t newest = layout::latest_sequence(layout::load_acquire(header.latest));
        if (newest == 0)
            return std::nullopt;
        if (segment_->write_locked_elsewhere(layout::run_lock_byte(first))) {
            if (first > newest)
                return first - 1;
            return std::nullopt;
        }
        if (segment_->write_locked_elsewhere(layout::kWriterLockByte))
            return newest;
        return std::nullopt;
    }

    static bool lossless(const Segment& segment)
    {
        return layout::load_acquire(segment.header().state_flags) & layout::kSegmentLossless;
    }

    // Runs one of the find_* below. When it yields no frame (or throws), the segment's `latest`
    // as it was before is remembered as unreadable, so that wait() does not report it as new
    // again and again: a segment whose counters name no readable frame must not make a reader
    // spin.
    template <typename Find> std::optional<FrameView> judged(Find find)
    {
        if (!refresh())
            return std::nullopt;
        const uint64_t latest = layout::load_acquire(segment_->header().latest);
        try {
            auto view = find();
            if (segment_->lost()) {
                segment_.reset();
                last_sequence_ = 0;
                unreadable_latest_ = 0;
                throw SegmentError(path_ + ": truncated by another process while it was read");
            }
            if (!view)
                unreadable_latest_ = latest;
            return view;
        } catch (...) {
            if (segment_)
                unreadable_latest_ = latest;
            throw;
        }
    }

    std::optional<FrameView> find_latest()
    {
        const auto& header = segment_->header();
        for (int attempt = 0; attempt < kPinLatestAttempts; ++attempt) {
            const uint64_t latest = layout::load_acquire(header.latest);
            if (latest == 0)
                return std::nullopt;
            const uint32_t slot = layout::latest_slot(latest);
            if (slot >= segment_->slot_count())
                throw SegmentError(path_ + ": corrupt header (newest slot " + std::to_string(slot) +
                                   ")");
            // The writer may have reused the slot between our look at `latest` and the pin; a
            // frame at least as new as the one we looked for is as good.
            auto pin = pin_frame(slot);
            if (pin && pin->info().sequence >= layout::latest_sequence(latest))
                return accept(std::move(pin));
        }
        // A writer lapping us again and again (we were descheduled): take the newest frame that
        // can be pinned.
        return pin_newest();
    }

    std::optional<FrameView> find_next()
    {
        for (int attempt = 0; attempt < kPinNextAttempts; ++attempt) {
            const auto [slot, sequence] = find_slot_settled(last_sequence_, Pick::Oldest);
            if (slot == layout::kNoSlot)
                return std::nullopt;
            auto pin = pin_frame(slot);
            if (!pin || pin->info().sequence != sequence)
                continue;
            if (sequence > last_sequence_ + 1)
                skipped_ += sequence - last_sequence_ - 1;
            return accept(std::move(pin));
        }
        return std::nullopt;
    }

    // A frame newer than the last one returned that a view could be made of: `latest` moved
    // since the last return, not to a value already found unreadable, and some complete slot
    // holds a newer frame.
    bool has_readable_new_frame() const
    {
        const uint64_t latest = layout::load_acquire(segment_->header().latest);
        if (latest == unreadable_latest_ || !has_new_frame())
            return false;
        return find_slot(last_sequence_, Pick::Newest).first != layout::kNoSlot;
    }

    bool has_new_frame() const
    {
        const uint64_t latest =
            layout::latest_sequence(layout::load_acquire(segment_->header().latest));
        return latest != 0 && latest != last_sequence_;
    }

    enum class Pick
    {
        Oldest,
        Newest,
    };

    // The slot holding the oldest or newest complete frame newer than `after`, with its sequence
    // number; layout::kNoSlot when there is none. Sequence numbers are only hints until pinned.
    std::pair<uint32_t, uint64_t> find_slot(uint64_t after, Pick pick) const
    {
        uint32_t found = layout::kNoSlot;
        uint64_t found_sequence = 0;
        for (uint32_t slot = 0; slot < segment_->slot_count(); ++slot) {
            const auto& desc = segment_->desc(slot);
            if (layout::load_acquire(desc.seqlock) & 1)
                continue;
            const uint64_t sequence = layout::load_relaxed(desc.sequence);
            const bool better =
                found == layout::kNoSlot ||
                (pick == Pick::Oldest ? sequence < found_sequence : sequence > found_sequence);
            if (sequence > after && better) {
                found = slot;
                found_sequence = sequence;
            }
        }
        return {found, found_sequence};
    }

    // find_slot() is not one atomic look: a writer publishing during the scan can be filling
    // each slot just when it is looked at. Its "none" counts only when `latest` stayed put.
    std::pair<uint32_t, uint64_t> find_slot_settled(uint64_t after, Pick pick) const
    {
        const auto& latest = segment_->header().latest;
        for (int attempt = 0; attempt < kSettleAttempts; ++attempt) {
            const uint64_t before = layout::load_acquire(latest);
            const auto found = find_slot(after, pick);
            if (found.first != layout::kNoSlot || layout::load_acquire(latest) == before)
                return found;
        }
        return {layout::kNoSlot, 0};
    }

    std::optional<FrameView> pin_newest()
    {
        for (int attempt = 0; attempt < kPinNewestAttempts; ++attempt) {
            const auto [slot, sequence] = find_slot_settled(0, Pick::Newest);
            if (slot == layout::kNoSlot)
                return std::nullopt;
            if (auto pin = pin_frame(slot); pin && pin->info().sequence >= sequence)
                return accept(std::move(pin));
        }
        return std::nullopt;
    }

    std::shared_ptr<const SlotPin> pin_frame(uint32_t slot)
    {
        if (!segment_->pin(slot))
            return nullptr; // the writer is taking it
        layout::SlotDesc copy;
        if (!copy_whole(segment_->desc(slot), copy)) {
            segment_->unpin(slot);
            return nullptr;
        }
        try {
            auto info = read_slot_desc(copy, segment_->slot_stride(), path_, slot);
            return std::make_shared<const SlotPin>(segment_, slot, std::move(info));
        } catch (...) {
            segment_->unpin(slot);
            throw;
        }
    }

    FrameView accept(std::shared_ptr<const SlotPin> pin)
    {
        last_sequence_ = pin->info().sequence;
        return FrameView(std::move(pin));
    }

    const std::string id_;
    const std::string path_;
    ReaderOptions options_;
    std::shared_ptr<Segment> segment_;
    uint64_t last_sequence_ = 0;
    uint64_t unreadable_latest_ = 0;
    uint64_t skipped_ = 0;
    // The need lock held for lossless replay, if any.
    std::shared_ptr<Segment> need_segment_;
    int64_t need_byte_ = 0;
    bool in_order_ = false; // view_next() was used: frames of a replaced segment are finished
    bool before_first_frame_ = false; // view_next() found the id without a frame
    std::minstd_rand random_{std::random_device{}()};
};

} // namespace detail

Reader::Reader(const std::string& shared_mem_id, ReaderOptions options)
{
    validate_id(shared_mem_id);
    core_ = std::make_unique<detail::ReaderCore>(shared_mem_id, options);
}

Reader::~Reader() = default;
Reader::Reader(Reader&&) noexcept = default;
Reader& Reader::operator=(Reader&&) noexcept = default;

std::optional<FrameView> Reader::view_latest()
{
    return core_->view_latest();
}

std::optional<FrameView> Reader::view_next()
{
    return core_->view_next();
}

std::optional<Frame> Reader::read_latest()
{
    auto view = core_->view_latest();
    if (!view)
        return std::nullopt;
    Frame frame{view->info(), std::vector<uint8_t>(view->data(), view->data() + view->size())};
    if (view->lost())
        throw SegmentError("'" + id() + "': the segment was truncated while its frame was copied");
    return frame;
}

bool Reader::wait(std::chrono::nanoseconds timeout)
{
    return core_->wait(timeout);
}

uint64_t Reader::last_sequence() const
{
    return core_->last_sequence();
}

uint64_t Reader::frames_skipped() const
{
    return core_->frames_skipped();
}

bool Reader::writer_alive() const
{
    return core_->writer_alive();
}

std::optional<SegmentStatus> Reader::status() const
{
    return core_->status();
}

const std::string& Reader::id() const
{
    return core_->id();
}

std::vector<Reader*> wait_any(const std::vector<Reader*>& readers, std::chrono::nanoseconds timeout)
{
    for (const Reader* reader : readers)
        if (!reader)
            throw std::invalid_argument("wait_any: a reader is null");
    const auto deadline = detail::deadline_after(timeout);
    std::vector<detail::WakeWatch> watches;
    int fruitless_wakes = 0;
    for (;;) {
        const auto remaining = deadline - detail::Clock::now();
        std::vector<Reader*> ready;
        watches.clear();
        bool some_without_segment = false;
        for (Reader* reader : readers) {
            detail::WakeWatch watch;
            if (reader->core_->ready(watch))
                ready.push_back(reader);
            else if (watch.segment)
                watches.push_back(watch);
            else
                some_without_segment = true;
        }
        if (!ready.empty() || remaining <= detail::Clock::duration::zero())
            return ready;
        // An id without a segment yet is looked at again after a short while; the others wake
        // the wait as soon as their writer publishes.
        const auto slice = std::min<detail::Clock::duration>(
            remaining,
            some_without_segment ? detail::kMissingSegmentCheck : detail::kReplacementCheck);
        if (fruitless_wakes > detail::kMaxFruitlessWakes)
            std::this_thread::sleep_for(
                std::min<detail::Clock::duration>(slice, detail::kFloodedLookInterval));
        else
            fruitless_wakes +=
                detail::wait_for_any_wake(watches.data(), watches.size(), detail::to_ns(slice));
    }
}

std::vector<std::string> list_segment_ids()
{
    std::vector<std::string> ids;
    DIR* dir = opendir(shm_dir().c_str());
    if (!dir) {
        // No directory, no segment; any other failure (descriptors exhausted) says nothing of
        // what the directory holds.
        if (errno == ENOENT)
            return ids;
        throw std::system_error(errno, std::generic_category(), "cannot list " + shm_dir());
    }
    const size_t prefix_length = std::strlen(kSegmentPrefix);
    for (;;) {
        errno = 0;
        const dirent* entry = readdir(dir);
        if (!entry) {
            const int error = errno;
            closedir(dir);
            if (error != 0)
                throw std::system_error(error, std::generic_category(), "cannot list " + shm_dir());
            break;
        }
        if (std::strncmp(entry->d_name, kSegmentPrefix, prefix_length) != 0)
            continue;
        std::string id = entry->d_name + prefix_length;
        try {
            validate_id(id);
            ids.push_back(std::move(id));
        } catch (const std::invalid_argument&) {
            // Not a name pvshm would create.
        }
    }
    std::sort(ids.begin(), ids.end());
    return ids;
}

} // namespace pvshm
