// SPDX-License-Identifier: LGPL-2.1-or-later
#include "segment.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <system_error>
#include <unistd.h>
#include <utility>

#include <pvshm/clock.hpp>
#include <pvshm/error.hpp>

namespace pvshm::detail {
namespace {

std::system_error system_failure(const std::string& what)
{
    return std::system_error(errno, std::generic_category(), what);
}

struct flock lock_request(short type, int64_t byte, int64_t length = 1)
{
    struct flock request
    {
    };
    request.l_type = type;
    request.l_whence = SEEK_SET;
    request.l_start = byte;
    request.l_len = length;
    return request;
}

long futex(const uint32_t* word, int op, uint32_t value, const timespec* timeout)
{
    return syscall(SYS_futex, word, op, value, timeout, nullptr, 0);
}

std::string file_kind(mode_t mode)
{
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISSOCK(mode))
        return "a socket";
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISLNK(mode))
        return "a symbolic link (pvshm never follows one)";
    if (S_ISCHR(mode) || S_ISBLK(mode))
        return "a device";
    return "not a regular file";
}

std::string octal_mode(mode_t mode)
{
    char text[8];
    std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
    return text;
}

std::string mib(uint64_t bytes)
{
    return std::to_string((bytes + (1 << 20) - 1) >> 20) + " MiB";
}

// Why `h` does not describe a usable segment of `object_size` bytes, or "".
std::string header_problem(const layout::SegmentHeader& h, uint64_t object_size)
{
    using namespace layout;
    if (object_size < sizeof(SegmentHeader))
        return "truncated: " + std::to_string(object_size) +
               " bytes, smaller than a segment header";
    if (h.magic != kMagic)
        return "not a pvshm segment (bad magic)";
    if (h.version != kVersion)
        return "segment layout version " + std::to_string(h.version) + ", this build reads " +
               std::to_string(kVersion);
    if (h.header_size != sizeof(SegmentHeader) || h.slot_desc_size != sizeof(SlotDesc) ||
        h.slot_desc_offset != kSlotDescOffset)
        return "corrupt header (record sizes do not match layout version " +
               std::to_string(kVersion) + ")";
    if (h.slot_count < kMinSlots || h.slot_count > kMaxSlots)
        return "corrupt header (slot count " + std::to_string(h.slot_count) + ")";
    if (h.payload_offset != payload_offset_for(h.slot_count))
        return "corrupt header (payload offset)";
    if (h.slot_stride == 0 || h.slot_stride % kPageSize != 0 ||
        h.slot_stride > round_up_to_page(kMaxPayloadSize))
        return "corrupt header (slot size " + std::to_string(h.slot_stride) + ")";
    // Bounded above, so this cannot overflow: 64 slots of at most 1 GiB.
    const uint64_t total = h.payload_offset + uint64_t{h.slot_count} * h.slot_stride;
    if (h.total_size != total)
        return "corrupt header (total size)";
    if (total > object_size)
        return "truncated: header describes " + std::to_string(total) + " bytes, object has " +
               std::to_string(object_size);
    return {};
}

} // namespace

Segment::Segment(std::string path, int fd, Access access)
    : path_(std::move(path)), fd_(fd), access_(access)
{
    struct stat st
    {
    };
    if (fstat(fd_, &st) != 0) {
        auto error = system_failure("fstat " + path_);
        close(fd_);
        throw error;
    }
    inode_ = st.st_ino;
    owner_ = st.st_uid;
    mode_ = st.st_mode;
    size_ = static_cast<uint64_t>(st.st_size);
}

Segment::~Segment()
{
    unmap();
    if (fd_ >= 0)
        close(fd_); // drops every OFD lock this object holds
}

std::unique_ptr<Segment> Segment::open(const std::string& path, Access access,
                                       const std::function<void(const Segment&)>& vet)
{
    auto segment = open_object(path, access);
    if (!segment)
        return nullptr;
    if (vet)
        vet(*segment);
    segment->map_validated();
    return segment;
}

std::unique_ptr<Segment> Segment::open_unvalidated(const std::string& path)
{
    return open_object(path, Access::ReadWrite);
}

std::unique_ptr<Segment> Segment::open_object(const std::string& path, Access access)
{
    // O_NONBLOCK: a FIFO planted under the name would block open() until a writer came. What is
    // not a regular file is refused before anything else touches it.
    const int flags = (access == Access::ReadOnly ? O_RDONLY : O_RDWR) | O_NOFOLLOW | O_CLOEXEC |
                      O_NONBLOCK | O_NOCTTY;
    const int fd = ::open(path.c_str(), flags);
    if (fd < 0) {
        const int error = errno;
        struct stat st
        {
        };
        const bool exists = lstat(path.c_str(), &st) == 0;
        if (error == ENOENT)
            return nullptr;
        if (exists && !S_ISREG(st.st_mode))
            throw SegmentError(path + " is " + file_kind(st.st_mode) +
                               ", not a shared-memory segment");
        if (error == EACCES && exists)
            throw SegmentError(path + ": permission denied (owned by uid " +
                               std::to_string(st.st_uid) + ", mode " + octal_mode(st.st_mode) +
                               "); its owner must share it");
        errno = error;
        throw system_failure("open " + path);
    }
    std::unique_ptr<Segment> segment(new Segment(path, fd, access));
    if (!S_ISREG(segment->mode_))
        throw SegmentError(path + " is " + file_kind(segment->mode_) +
                           ", not a shared-memory segment");
    return segment;
}

std::unique_ptr<Segment> Segment::create(const std::string& path, mode_t mode, uint32_t slot_count,
                                         uint64_t slot_stride)
{
    const uint64_t payload_offset = layout::payload_offset_for(slot_count);
    const uint64_t total = payload_offset + uint64_t{slot_count} * slot_stride;
    // Created 0600 and given its mode once locked: no other user opens it before the writer
    // holds its lock.
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        throw system_failure("create " + path);
    std::unique_ptr<Segment> segment;
    try {
        segment.reset(new Segment(path, fd, Access::ReadWrite));
    } catch (...) {
        unlink(path.c_str());
        throw;
    }
    // The writer lock from the first moment: an unlocked half-built object counts as abandoned.
    segment->try_lock(layout::kWriterLockByte, true);
    // The umask may have cleared bits of `mode`; the caller's mode is the one that counts.
    if (fchmod(fd, mode) != 0 || ftruncate(fd, static_cast<off_t>(total)) != 0) {
        auto error = system_failure("size " + path + " to " + std::to_string(total) + " bytes");
        unlink(path.c_str());
        throw error;
    }
    // Reserve every page now, so that a full /dev/shm fails here with a clear message and not
    // with SIGBUS at the first write into the mapping.
    if (const int rc = posix_fallocate(fd, 0, static_cast<off_t>(total)); rc != 0) {
        unlink(path.c_str());
        throw std::system_error(rc, std::generic_category(),
                                "reserve " + mib(total) + " (" + std::to_string(total) +
                                    " bytes) for " + path + ": " + std::to_string(slot_count) +
                                    " slots of " + std::to_string(slot_stride) +
                                    " bytes; free space in its directory or use fewer slots");
    }
    segment->size_ = total;
    segment->map(total);
    segment->slot_count_ = slot_count;
    segment->slot_stride_ = slot_stride;
    segment->payload_offset_ = payload_offset;
    auto& h = segment->header();
    h.version = layout::kVersion;
    h.header_size = sizeof(layout::SegmentHeader);
    h.slot_desc_size = sizeof(layout::SlotDesc);
    h.slot_count = slot_count;
    h.slot_desc_offset = layout::kSlotDescOffset;
    h.payload_offset = payload_offset;
    h.slot_stride = slot_stride;
    h.total_size = total;
    h.created_realtime_ns = clock_ns(CLOCK_REALTIME);
    for (uint32_t i = 0; i < slot_count; ++i)
        segment->desc(i).duration_ns = -1;
    // The magic goes last: a reader that sees it sees an initialized header.
    layout::store_release(h.magic, layout::kMagic);
    return segment;
}

void Segment::map(uint64_t length)
{
    const int prot = access_ == Access::ReadOnly ? PROT_READ : PROT_READ | PROT_WRITE;
    void* address = mmap(nullptr, length, prot, MAP_SHARED | MAP_POPULATE, fd_, 0);
    if (address == MAP_FAILED)
        throw system_failure("mmap " + std::to_string(length) + " bytes of " + path_);
    map_ = address;
    map_length_ = length;
    header_ = static_cast<layout::SegmentHeader*>(address);
    guard_ = std::make_unique<FaultGuard>(address, length, prot);
}

void Segment::unmap()
{
    // Unguarded first: the address range may be reused as soon as it is unmapped.
    guard_.reset();
    if (map_)
        munmap(map_, map_length_);
    map_ = nullptr;
    header_ = nullptr;
}

void Segment::map_validated()
{
    if (size_ < sizeof(layout::SegmentHeader))
        throw SegmentError(path_ + ": " + header_problem(layout::SegmentHeader{}, size_));
    if (!map_)
        map(sizeof(layout::SegmentHeader));
    // Only a private copy of the header is judged and used: the shared one may change under us.
    layout::SegmentHeader copy;
    std::memcpy(&copy, header_, sizeof copy);
    if (const auto problem = header_problem(copy, size_); !problem.empty())
        throw SegmentError(path_ + ": " + problem);
    if (copy.total_size != map_length_) {
        unmap();
        map(copy.total_size);
    }
    slot_count_ = copy.slot_count;
    slot_stride_ = copy.slot_stride;
    payload_offset_ = copy.payload_offset;
}

const layout::SlotDesc& Segment::desc(uint32_t slot) const
{
    auto* base = reinterpret_cast<const uint8_t*>(header_) + layout::kSlotDescOffset;
    return reinterpret_cast<const layout::SlotDesc*>(base)[slot];
}

layout::SlotDesc& Segment::desc(uint32_t slot)
{
    return const_cast<layout::SlotDesc&>(std::as_const(*this).desc(slot));
}

const uint8_t* Segment::payload(uint32_t slot) const
{
    return reinterpret_cast<const uint8_t*>(header_) + payload_offset_ +
           uint64_t{slot} * slot_stride_;
}

uint8_t* Segment::payload(uint32_t slot)
{
    return const_cast<uint8_t*>(std::as_const(*this).payload(slot));
}

bool Segment::still_named() const
{
    // Readers ask once per frame they wait for. An object unlinked, or replaced by a rename over
    // its name, has no link left, which fstat tells without walking the path; only an object
    // with more than its one link is looked up by name. (A link made by hand that outlives the
    // name makes a reader keep the old object: it reads no new frames, never a wrong one.)
    struct stat st
    {
    };
    if (fstat(fd_, &st) != 0 || st.st_nlink == 0)
        return false;
    if (st.st_nlink == 1)
        return true;
    return lstat(path_.c_str(), &st) == 0 && st.st_ino == inode_;
}

bool Segment::try_lock(int64_t byte, bool exclusive)
{
    auto request = lock_request(exclusive ? F_WRLCK : F_RDLCK, byte);
    if (fcntl(fd_, F_OFD_SETLK, &request) == 0)
        return true;
    if (errno == EAGAIN || errno == EACCES)
        return false;
    throw system_failure("lock byte " + std::to_string(byte) + " of " + path_);
}

void Segment::unlock(int64_t byte)
{
    auto request = lock_request(F_UNLCK, byte);
    fcntl(fd_, F_OFD_SETLK, &request);
}

bool Segment::write_locked_elsewhere(int64_t byte) const
{
    auto request = lock_request(F_WRLCK, byte);
    if (fcntl(fd_, F_OFD_GETLK, &request) != 0)
        throw system_failure("query lock byte " + std::to_string(byte) + " of " + path_);
    return request.l_type == F_WRLCK;
}

bool Segment::need_locked_elsewhere(int64_t first, int64_t last) const
{
    return one_byte_locks_elsewhere(first, last, 1) > 0;
}

size_t Segment::one_byte_locks_elsewhere(int64_t first, int64_t last, size_t enough) const
{
    // GETLK names one conflicting lock; the ranges on both sides of it are asked again, a bounded
    // number of times (a reader could plant many locks).
    const size_t max_looks = 64 + 2 * enough;
    std::vector<std::pair<int64_t, int64_t>> ranges{{first, last}};
    size_t found = 0;
    for (size_t look = 0; look < max_looks && !ranges.empty() && found < enough; ++look) {
        const auto [from, to] = ranges.back();
        ranges.pop_back();
        auto request = lock_request(F_WRLCK, from, to - from + 1);
        if (fcntl(fd_, F_OFD_GETLK, &request) != 0)
            throw system_failure("query lock bytes " + std::to_string(from) + ".." +
                                 std::to_string(to) + " of " + path_);
        if (request.l_type == F_UNLCK)
            continue;
        // A reader moving its need lock to the next frame takes the new byte before it lets go
        // of the old one: the kernel merges the two into one lock of two bytes meanwhile.
        found += request.l_len == 1 || request.l_len == 2;
        const int64_t start = request.l_start;
        const int64_t end = request.l_len == 0 ? INT64_MAX : start + request.l_len - 1;
        if (start > from)
            ranges.emplace_back(from, start - 1);
        if (end < to)
            ranges.emplace_back(end + 1, to);
    }
    return found;
}

bool Segment::pin(uint32_t slot)
{
    std::lock_guard lock(pins_mutex_);
    if (pins_[slot] == 0 && !try_lock(layout::slot_lock_byte(slot), false))
        return false;
    ++pins_[slot];
    return true;
}

void Segment::unpin(uint32_t slot)
{
    std::lock_guard lock(pins_mutex_);
    if (--pins_[slot] == 0)
        unlock(layout::slot_lock_byte(slot));
}

void Segment::wake_readers()
{
    layout::add_relaxed(header_->wake_word, 1u);
    layout::fence_seq_cst();
    futex(&header_->wake_word, FUTEX_WAKE, INT_MAX, nullptr);
}

void Segment::wake_writer() const
{
    futex(&header_->ack_word, FUTEX_WAKE, INT_MAX, nullptr);
}

bool Segment::wait_for_ack(uint32_t seen, int64_t timeout_ns)
{
    timespec timeout{static_cast<time_t>(timeout_ns / 1000000000),
                     static_cast<long>(timeout_ns % 1000000000)};
    return futex(&header_->ack_word, FUTEX_WAIT, seen, &timeout) == 0 || errno != ETIMEDOUT;
}

void Segment::end_ack_wait()
{
    layout::add_relaxed(header_->ack_word, 1u);
    layout::fence_seq_cst();
    futex(&header_->ack_word, FUTEX_WAKE, INT_MAX, nullptr);
}

bool wait_for_any_wake(const WakeWatch* watches, size_t count, int64_t timeout_ns)
{
    timespec timeout{static_cast<time_t>(timeout_ns / 1000000000),
                     static_cast<long>(timeout_ns % 1000000000)};
    if (count == 0) {
        // futex_waitv refuses an empty list at once (EINVAL): a caller looping on it would spin.
        nanosleep(&timeout, nullptr);
        return false;
    }
    if (count == 1) {
        // EAGAIN (the word already moved), EINTR and ETIMEDOUT all mean: look again.
        return futex(&watches[0].segment->header().wake_word, FUTEX_WAIT, watches[0].seen,
                     &timeout) == 0 ||
               errno != ETIMEDOUT;
    }
    // More words than one wait can hold: each turn watches a share, briefly.
    constexpr size_t kMaxWaiters = FUTEX_WAITV_MAX;
    constexpr int64_t kTurnNs = 5000000;
    if (count > kMaxWaiters)
        timeout_ns = std::min(timeout_ns, kTurnNs);
    std::array<futex_waitv, kMaxWaiters> waiters{};
    const size_t watched = std::min(count, kMaxWaiters);
    static thread_local size_t first = 0;
    for (size_t i = 0; i < watched; ++i) {
        const WakeWatch& watch = watches[(first + i) % count];
        waiters[i].val = watch.seen;
        waiters[i].uaddr = reinterpret_cast<uintptr_t>(&watch.segment->header().wake_word);
        waiters[i].flags = FUTEX_32; // shared between processes: not FUTEX_PRIVATE_FLAG
    }
    first += watched;
    const int64_t end = clock_ns(CLOCK_MONOTONIC) + timeout_ns;
    timeout = {static_cast<time_t>(end / 1000000000), static_cast<long>(end % 1000000000)};
    if (syscall(SYS_futex_waitv, waiters.data(), watched, 0, &timeout, CLOCK_MONOTONIC) >= 0)
        return true;
    if (errno != ENOSYS)
        return errno != ETIMEDOUT;
    // A kernel older than 5.16: sleep on the first word, for a short turn.
    timeout_ns = std::min(timeout_ns, kTurnNs);
    timeout = {0, static_cast<long>(timeout_ns)};
    return futex(&watches[0].segment->header().wake_word, FUTEX_WAIT, watches[0].seen, &timeout) ==
               0 ||
           errno != ETIMEDOUT;
}

} // namespace pvshm::detail
