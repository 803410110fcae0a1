// SPDX-License-Identifier: LGPL-2.1-or-later
#include "owned_id.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <dirent.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/statvfs.h>
#include <system_error>
#include <unistd.h>

#include <pvshm/clock.hpp>
#include <pvshm/error.hpp>

#include "id.hpp"
#include "layout.hpp"
#include "log.hpp"

namespace pvshm::detail {
namespace {

// How often a writer looks whether its segment is still the one named by its id.
constexpr auto kNameCheckInterval = std::chrono::milliseconds(250);

// <shm_dir>/pvshm~<pid>~<64 random bits>: no other user can plant the name ahead of us (a
// counter could be guessed, and a planted name failed the writer's start or growth).
std::string temporary_path()
{
    uint64_t random = 0;
    if (getrandom(&random, sizeof random, 0) != sizeof random)
        throw std::system_error(errno, std::generic_category(), "getrandom");
    char suffix[17];
    std::snprintf(suffix, sizeof suffix, "%016llx", static_cast<unsigned long long>(random));
    return shm_dir() + "/" + kTemporaryPrefix + std::to_string(getpid()) + "~" + suffix;
}

// Half-built replacements whose writer died (nobody holds their writer lock) are removed.
void remove_abandoned_temporaries()
{
    DIR* dir = opendir(shm_dir().c_str());
    if (!dir)
        return;
    const size_t prefix_length = std::strlen(kTemporaryPrefix);
    while (const dirent* entry = readdir(dir)) {
        if (std::strncmp(entry->d_name, kTemporaryPrefix, prefix_length) != 0)
            continue;
        // A writer that is alive may be building this one right now.
        const pid_t builder = static_cast<pid_t>(std::atol(entry->d_name + prefix_length));
        if (builder > 0 && (kill(builder, 0) == 0 || errno == EPERM))
            continue;
        const std::string path = shm_dir() + "/" + entry->d_name;
        try {
            auto segment = Segment::open_unvalidated(path);
            if (segment && segment->owner() == geteuid() &&
                segment->try_lock(layout::kWriterLockByte, true))
                unlink(path.c_str());
        } catch (const std::exception&) {
            // Not ours to judge: leave it.
        }
    }
    closedir(dir);
}

std::shared_ptr<Segment> share(std::unique_ptr<Segment> segment)
{
    return std::shared_ptr<Segment>(std::move(segment));
}

int32_t live_writer_pid(const Segment& segment)
{
    if (segment.size() < sizeof(layout::SegmentHeader))
        return -1;
    try {
        auto readable = Segment::open(segment.path(), Segment::Access::ReadOnly);
        return readable ? layout::load_relaxed(readable->header().writer_pid) : -1;
    } catch (const std::exception&) {
        return -1;
    }
}

void copy_counters(const layout::SegmentHeader& from, layout::SegmentHeader& to)
{
    to.frames_written = layout::load_relaxed(from.frames_written);
    to.frames_dropped = layout::load_relaxed(from.frames_dropped);
    to.bytes_written = layout::load_relaxed(from.bytes_written);
    to.lossless_drops = layout::load_relaxed(from.lossless_drops);
    to.run_first_sequence = layout::load_relaxed(from.run_first_sequence);
    std::memcpy(to.source, from.source, sizeof to.source);
    if (layout::load_relaxed(from.state_flags) & layout::kSegmentSourceDead)
        layout::set_bits_release(to.state_flags, layout::kSegmentSourceDead);
}

// kAutoSlotsBudget, or a 16th of the filesystem holding the segments where that is less (a
// container's 64 MiB /dev/shm gives 4 MiB), so that a few ids cannot fill it with slots.
uint64_t auto_slots_budget()
{
    struct statvfs filesystem = {};
    if (statvfs(shm_dir().c_str(), &filesystem) != 0 || filesystem.f_blocks == 0)
        return kAutoSlotsBudget;
    const uint64_t size = uint64_t{filesystem.f_blocks} * filesystem.f_frsize;
    return std::min(kAutoSlotsBudget, size / 16);
}

} // namespace

OwnedId::OwnedId(std::string id, WriterOptions options)
    : id_(std::move(id)), path_(segment_path(id_)), options_(std::move(options)),
      auto_slots_budget_(auto_slots_budget())
{
}

uint32_t OwnedId::slot_count(uint64_t slot_stride) const
{
    if (options_.slots != kAutoSlots)
        return options_.slots;
    const uint64_t fitting = auto_slots_budget_ / std::max<uint64_t>(slot_stride, 1);
    return static_cast<uint32_t>(std::clamp<uint64_t>(fitting, kMinAutoSlots, kMaxWriterSlots));
}

std::shared_ptr<Segment> OwnedId::take(uint64_t& newest_sequence)
{
    remove_abandoned_temporaries();
    for (int attempt = 0; attempt < 100; ++attempt) {
        auto existing = Segment::open_unvalidated(path_);
        if (!existing) {
            if (auto created = create_and_link(initial_stride()))
                return created;
            continue; // another writer linked first: judge its segment
        }
        const bool locked = existing->try_lock(layout::kWriterLockByte, true);
        // A live writer is a write lock on its byte, which readers cannot take. Read locks alone
        // hold it when a reader took one as the writer went (any user with read permission can
        // queue one for that moment): no writer is alive, and the object is replaced under the
        // id rather than adopted.
        if (!locked && existing->write_locked_elsewhere(layout::kWriterLockByte))
            throw std::system_error(EBUSY, std::generic_category(),
                                    "shared_mem_id '" + id_ + "' already has a live writer (pid " +
                                        std::to_string(live_writer_pid(*existing)) + ")");
        if (!existing->still_named())
            continue; // replaced between our open and our lock
        if (existing->owner() != geteuid())
            throw SegmentError(path_ + " belongs to uid " + std::to_string(existing->owner()) +
                               "; refusing to write into another user's segment");
        if (!locked)
            return replace_held(std::move(existing), newest_sequence);
        return adopt_or_replace(std::move(existing), newest_sequence);
    }
    throw std::system_error(EAGAIN, std::generic_category(),
                            "shared_mem_id '" + id_ + "' keeps changing owner");
}

std::shared_ptr<Segment> OwnedId::keep_published(const std::shared_ptr<Segment>& current)
{
    if (current->lost()) {
        log::warning("'" + id_ + "': the segment was truncated by another process; creating " +
                     "it again");
        return replace(current, current->slot_stride(), false);
    }
    const auto now = std::chrono::steady_clock::now();
    if (name_taken_ || now < next_name_check_)
        return nullptr;
    next_name_check_ = now + kNameCheckInterval;
    if (current->still_named())
        return nullptr;
    auto fresh = create_and_link(current->slot_stride());
    if (!fresh) {
        name_taken_ = true;
        log::warning("'" + id_ + "': the segment was removed and another writer took the " +
                     "id; frames from this writer reach no reader");
        return nullptr;
    }
    copy_counters(current->header(), fresh->header());
    // Readers still on the removed object follow at once, keeping their place in the sequence.
    layout::set_bits_release(current->header().state_flags, layout::kSegmentSuperseded);
    current->wake_readers();
    log::warning("'" + id_ + "': the segment was removed while this writer was alive; " +
                 "created it again");
    return fresh;
}

std::unique_ptr<Segment> OwnedId::create_temporary(uint64_t slot_stride)
{
    std::unique_ptr<Segment> segment;
    try {
        // A random name taken already (by chance, or planted) is tried again under another.
        for (int attempt = 0; !segment; ++attempt) {
            try {
                segment = Segment::create(temporary_path(), options_.mode, slot_count(slot_stride),
                                          slot_stride);
            } catch (const std::system_error& error) {
                if (error.code().value() != EEXIST || attempt == 7)
                    throw;
            }
        }
    } catch (const std::system_error& error) {
        // Name the id rather than the temporary path; system_error appends the errno text.
        std::string what = error.what();
        const std::string errno_text = ": " + error.code().message();
        if (what.size() >= errno_text.size() &&
            what.compare(what.size() - errno_text.size(), errno_text.size(), errno_text) == 0)
            what.resize(what.size() - errno_text.size());
        throw std::system_error(error.code(), "shared_mem_id '" + id_ + "': " + what);
    }
    auto& header = segment->header();
    layout::store_relaxed(header.writer_pid, static_cast<int32_t>(getpid()));
    layout::store_relaxed(header.writer_started_ns, clock_ns(CLOCK_REALTIME));
    mark_lossless(header);
    return segment;
}

// Returns nullptr when another writer linked an object under the id first.
std::shared_ptr<Segment> OwnedId::create_and_link(uint64_t slot_stride)
{
    auto fresh = create_temporary(slot_stride);
    const bool linked = link(fresh->path().c_str(), path_.c_str()) == 0;
    const int link_errno = errno;
    unlink(fresh->path().c_str());
    if (!linked) {
        if (link_errno == EEXIST)
            return nullptr;
        throw std::system_error(link_errno, std::generic_category(), "publish segment " + path_);
    }
    fresh->now_named(path_);
    log::debug("'" + id_ + "': created segment " + path_);
    return share(std::move(fresh));
}

std::shared_ptr<Segment> OwnedId::adopt_or_replace(std::unique_ptr<Segment> existing,
                                                   uint64_t& newest_sequence)
{
    try {
        existing->map_validated();
    } catch (const SegmentError& error) {
        log::warning(std::string("replacing unusable segment: ") + error.what());
        return replace(share(std::move(existing)), 0, false);
    }
    auto segment = share(std::move(existing));
    auto& header = segment->header();
    // Slots a dead writer left half-written hold no frame.
    for (uint32_t slot = 0; slot < segment->slot_count(); ++slot) {
        auto& desc = segment->desc(slot);
        if (layout::load_relaxed(desc.seqlock) & 1) {
            desc.sequence = 0;
            layout::store_release(desc.seqlock, layout::load_relaxed(desc.seqlock) + 1);
        }
    }
    newest_sequence = layout::latest_sequence(layout::load_relaxed(header.latest));
    // What a relay said of its source was its own.
    std::memset(header.source, 0, sizeof header.source);
    layout::clear_bits_release(header.state_flags, layout::kSegmentSourceDead);
    layout::store_relaxed(header.writer_pid, static_cast<int32_t>(getpid()));
    layout::store_relaxed(header.writer_started_ns, clock_ns(CLOCK_REALTIME));
    mark_lossless(header);
    log::debug("'" + id_ + "': took over the segment of a writer that is gone");
    return segment;
}

std::shared_ptr<Segment> OwnedId::replace_held(std::unique_ptr<Segment> existing,
                                               uint64_t& newest_sequence)
{
    log::warning("'" + id_ + "': a reader holds the lock of the writer that is gone; replacing " +
                 "the segment (its last frame is not carried over)");
    try {
        existing->map_validated();
    } catch (const SegmentError&) {
        return replace(share(std::move(existing)), 0, false);
    }
    // The sequence goes on, so that readers that follow see no frame twice.
    newest_sequence = layout::latest_sequence(layout::load_relaxed(existing->header().latest));
    const uint64_t stride = existing->slot_stride();
    return replace(share(std::move(existing)), stride, true);
}

std::shared_ptr<Segment> OwnedId::replace(const std::shared_ptr<Segment>& current, uint64_t size,
                                          bool current_is_valid)
{
    const uint64_t stride =
        layout::round_up_to_page(std::max({size, initial_stride(), uint64_t{1}}));
    auto fresh = create_temporary(stride);
    if (current_is_valid)
        copy_counters(current->header(), fresh->header());
    if (rename(fresh->path().c_str(), path_.c_str()) != 0) {
        const int error = errno;
        unlink(fresh->path().c_str());
        throw std::system_error(error, std::generic_category(), "replace segment " + path_);
    }
    fresh->now_named(path_);
    if (current_is_valid) {
        layout::set_bits_release(current->header().state_flags, layout::kSegmentSuperseded);
        current->wake_readers();
    }
    log::debug("'" + id_ + "': segment replaced, " + std::to_string(fresh->slot_count()) +
               " slots of " + std::to_string(stride) + " bytes");
    return share(std::move(fresh));
}

void OwnedId::mark_lossless(layout::SegmentHeader& header) const
{
    if (options_.lossless)
        layout::set_bits_release(header.state_flags, layout::kSegmentLossless);
    else
        layout::clear_bits_release(header.state_flags, layout::kSegmentLossless);
}

uint64_t OwnedId::initial_stride() const
{
    return layout::round_up_to_page(std::max<uint64_t>(options_.initial_slot_size, 1));
}

} // namespace pvshm::detail
