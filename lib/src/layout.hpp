// SPDX-License-Identifier: LGPL-2.1-or-later
// THE segment layout: the only file that knows where anything lies in a pvshm segment.
//
// One id names one POSIX shared-memory object, /dev/shm/pvshm.<id> (shm_open's directory; the
// PVSHM_SHM_DIR environment variable moves it, for tests on a small tmpfs):
//
//   offset 0                 kSlotDescOffset                     payload_offset (page aligned)
//   +------------------------+-----------+-----------+-- ... --+--------------+--------------+--
//   | SegmentHeader (1 KiB)  | SlotDesc 0| SlotDesc 1|         | slot 0 bytes | slot 1 bytes |
//   | magic, version, sizes, | seqlock,  |           |         | slot_stride  | slot_stride  |
//   | latest, wake_word,     | sequence, |           |         | (page        |              |
//   | writer pid, counters   | geometry, |           |         |  multiple)   |              |
//   |                        | camera id,|           |         |              |              |
//   |                        | caps, user|           |         |              |              |
//   |                        | metadata  |           |         |              |              |
//   +------------------------+-----------+-----------+-- ... --+--------------+--------------+--
//
// Every field is fixed width and little-endian (x86-64 and aarch64 alike); reserved bytes are
// zero. A reader trusts nothing here: see header_problem() in segment.cpp and read_slot_desc() in
// slot_desc.cpp.
//
// Layout versions:
//   1  initial layout.
//   2  SlotDesc gains bit_depth and the frame's user metadata (a JSON object, metadata.cpp);
//      the header gains lossless replay (kSegmentLossless, writer_waiting, ack_word,
//      lossless_drops) and its need locks; later, in bytes that were reserved (zero: unknown)
//      run_first_sequence and its run lock, and reader locks (wait for readers); kSegmentSourceDead
//      and source, a relay's liveness and origin; slots_held_since_ns.
//
// Ownership and leases are OFD byte-range locks on the object's file descriptor, not fields: the
// kernel drops them when a process dies, so no dead process can hold anything forever. The locked
// byte offsets name locks, not data (locks may lie beyond the end of the object):
//   byte 0          the writer's lock (F_WRLCK, held for the writer's whole life): "writer alive".
//   byte 1 + i      slot i. Each reader holds F_RDLCK while it reads the slot or keeps a
//                   zero-copy view of it. The writer takes F_WRLCK only to pick the slot (it
//                   fails while a reader pins it) and lets go once the seqlock is odd.
//   kNeedLockBase + n   "frame n is still needed": each reader that reads every frame in
//                   order holds F_RDLCK on the byte of the next frame it has not taken. One
//                   byte (two while it moves on: the new one is taken before the old one is let
//                   go): a lock over more bytes is no reader's need, and the writer looks past
//                   it (any reader may take one; it must not stall the writer).
//   kReaderLockBase + r "a reader of every frame is here": each one holds F_RDLCK on one byte
//                   chosen at random in a 2^40 range of this segment, so that a writer told to
//                   wait for N readers before its first frame counts them (one GETLK per lock).
//   run_lock_byte(f) "the run that starts at frame f is alive": the writer holds F_WRLCK on the
//                   byte of its run_first_sequence, taken after it stored that number.
// Both take their lock without waiting (F_OFD_SETLK), so a reader never blocks the writer: when
// every slot but the newest is pinned the writer drops the frame and counts it.
//
// Lossless replay (kSegmentLossless, set by a writer asked for it): before reusing a slot that
// holds frame n, the writer asks the kernel whether any reader holds a need lock at or below n
// (F_OFD_GETLK over [kNeedLockBase + floor, kNeedLockBase + n]). While one does, the writer sets
// writer_waiting and sleeps on ack_word; a reader that moves its need lock past a frame sees
// writer_waiting and wakes it (FUTEX_WAKE needs no write access, readers map read-only):
//
//   reader:  take frame n --> F_RDLCK need n+1, F_UNLCK need n --> writer_waiting? FUTEX_WAKE
//   writer:  slot holds n --> GETLK need[floor..n] --free--> reuse the slot
//                                                  --held--> writer_waiting = 1, FUTEX_WAIT,
//                                                            look again (in 10 ms at most:
//                                                            a wake can land just before the
//                                                            wait; after many wakes that
//                                                            changed nothing, a flood, every
//                                                            1 ms without sleeping on it)
// A reader that dies drops its locks with its last file descriptor, so it stops counting at
// once. A writer that waited longer than its lossless timeout raises its floor above n: the
// readers still needing n are dropped from the wait (lossless_drops), and count again once they
// took a newer frame. Readers of the newest frame hold no need lock: they never make it wait.
//
// Runs: a writer that takes the id stores in run_first_sequence the number its first frame will
// get, then write-locks run_lock_byte(that number). A reader of every frame whose first look
// finds a live writer (byte 0) that has published nothing yet starts at its run's first frame:
// the previous run's last frame, still the newest, is not new to it. It reads run_first_sequence,
// then asks whether that run's lock is held: if not, the number is a run that is over (the
// writer exited or crashed) and the live writer took the id but has not stored its own yet; its
// frames come after the newest, so the reader starts after the newest too.
//
// Slot states (seqlock even = stable, odd = being written):
//   EMPTY   (sequence 0, even)  --writer: W-lock, seqlock += 1, W-unlock-->    WRITING (odd)
//   READY   (sequence n, even)  --the same (the W-lock fails while pinned)-->   WRITING (odd)
//   WRITING --writer: fill descriptor, seqlock += 1 (release), latest = n-->    READY (sequence n)
//   WRITING --writer: gives the loan back unpublished, sequence = 0-->          EMPTY
//   WRITING --writer dies: seqlock stays odd-->  readers skip it; the next writer resets it to
//                                                EMPTY
//   READY   --reader: R-lock slot, seqlock even and unchanged-->  PINNED (READY, writer skips it)
// A reader that R-locks a WRITING slot finds the seqlock odd and lets go: the writer set it odd
// before it let go of its W-lock, and the kernel's lock orders the two.
// The writer never writes the slot `latest` points at, so the newest complete frame stays
// readable while the next one is written.
//
// Slot choice: of the slots it may write, the writer takes the one holding the newest frame
// (the one written last, its memory the likeliest still in cache), so that with readers keeping
// up it alternates between two slots. A slot whose frame a reader of every frame still needs
// (a need lock at or below it) is taken last, so that a reader briefly behind loses nothing
// while another slot is free; in lossless mode it is not taken at all.
//
// Segment replacement: when a frame no longer fits slot_stride (or the slot count changes), the
// writer builds a new object under a temporary name, renames it over pvshm.<id>, then sets
// kSegmentSuperseded in the old header and wakes its readers, who reopen the name. Mappings of
// the old object stay valid for views still pinning it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace pvshm::layout {

inline constexpr uint64_t kMagic = 0x31304d4853565050; // "PPVSHM01" read as little-endian bytes
inline constexpr uint32_t kVersion = 2;
inline constexpr uint32_t kMinSlots = 1;
inline constexpr uint32_t kMaxSlots = 64;
// A slot index no segment has: "no slot" wherever one is looked for.
inline constexpr uint32_t kNoSlot = UINT32_MAX;
inline constexpr uint64_t kPageSize = 4096;
inline constexpr size_t kCameraIdBytes = 128;
inline constexpr size_t kCapsBytes = 1024;
inline constexpr size_t kMetadataBytes = 4096;

// SegmentHeader::state_flags
inline constexpr uint32_t kSegmentSuperseded = 1u << 0;
inline constexpr uint32_t kSegmentLossless = 1u << 1;
// A relay's source stopped sending (Writer::set_source_alive(false)): readers take the writer
// for dead, as they would a writer whose lock is gone.
inline constexpr uint32_t kSegmentSourceDead = 1u << 2;

// Lock byte offsets (see above).
inline constexpr int64_t kWriterLockByte = 0;
inline constexpr int64_t slot_lock_byte(uint32_t slot)
{
    return 1 + int64_t{slot};
}
inline constexpr int64_t kNeedLockBase = int64_t{1} << 32;
inline constexpr int64_t need_lock_byte(uint64_t sequence)
{
    return kNeedLockBase + static_cast<int64_t>(sequence & ((uint64_t{1} << 62) - 1));
}
inline constexpr int64_t kReaderLockBase = (int64_t{1} << 62) + (int64_t{1} << 33);
inline constexpr int64_t kReaderLockSpan = int64_t{1} << 40;
static_assert(need_lock_byte(UINT64_MAX) < kReaderLockBase);
// Below the need locks: a read lock from a need byte to the end of the object (any reader can
// take one) never covers a run's lock.
inline constexpr int64_t kRunLockBase = int64_t{1} << 31;
inline constexpr int64_t run_lock_byte(uint64_t first_sequence)
{
    return kRunLockBase + static_cast<int64_t>(first_sequence & ((uint64_t{1} << 30) - 1));
}
static_assert(slot_lock_byte(kMaxSlots) < kRunLockBase);
static_assert(run_lock_byte(UINT64_MAX) < kNeedLockBase);

struct SegmentHeader
{
    uint64_t magic;               // kMagic
    uint32_t version;             // kVersion
    uint32_t header_size;         // sizeof(SegmentHeader)
    uint32_t slot_desc_size;      // sizeof(SlotDesc)
    uint32_t slot_count;          // kMinSlots..kMaxSlots
    uint64_t slot_desc_offset;    // kSlotDescOffset
    uint64_t payload_offset;      // page multiple, after the last SlotDesc
    uint64_t slot_stride;         // bytes per slot payload, page multiple
    uint64_t total_size;          // payload_offset + slot_count * slot_stride
    int32_t writer_pid;           // atomic; pid of the last writer (liveness is the lock)
    uint32_t state_flags;         // atomic; kSegment* flags
    uint32_t wake_word;           // atomic; futex word, incremented after each publish
    uint32_t reserved0;           //
    uint64_t latest;              // atomic; (sequence << 8) | slot of the newest frame, 0: none
    uint64_t frames_written;      // atomic counters, kept across writers of the id
    uint64_t frames_dropped;      //
    uint64_t bytes_written;       //
    int64_t created_realtime_ns;  // when this object was created
    int64_t writer_started_ns;    // atomic; CLOCK_REALTIME when the current writer took over
    uint32_t writer_waiting;      // atomic; 1 while a lossless writer sleeps on ack_word
    uint32_t ack_word;            // futex word a lossless writer sleeps on
    uint64_t lossless_drops;      // atomic; readers dropped from a lossless wait (timeout)
    uint64_t run_first_sequence;  // atomic; the first frame of the current writer's run, 0: unknown
    char source[128];             // where a relay's frames come from, NUL-padded; "": this host
    int64_t slots_held_since_ns;  // atomic; CLOCK_REALTIME since readers hold every slot, 0: not
    uint8_t reserved[1024 - 280]; // zero
};

struct SlotDesc
{
    uint64_t seqlock;               // atomic; even: stable, odd: being written
    uint64_t sequence;              // frame sequence number, 0: slot holds no frame
    uint32_t width;                 //
    uint32_t height;                //
    uint32_t format;                // pvshm::PixelFormat
    uint8_t matrix;                 // pvshm::ColorMatrix
    uint8_t range;                  // pvshm::ColorRange
    uint8_t plane_count;            // 0..kMaxPlanes
    uint8_t bit_depth;              // significant bits of 16-bit samples, 0: all
    uint32_t strides[4];            // bytes per row of each plane
    uint64_t plane_offsets[4];      // from the start of the slot's payload
    uint64_t payload_size;          // bytes used in the slot, <= slot_stride
    int64_t timestamp_realtime_ns;  // capture time, CLOCK_REALTIME
    int64_t timestamp_monotonic_ns; // capture time, CLOCK_MONOTONIC
    int64_t duration_ns;            // -1: unknown
    uint16_t camera_id_length;      // < kCameraIdBytes
    uint16_t caps_length;           // < kCapsBytes
    uint16_t metadata_length;       // <= kMetadataBytes, 0: none
    uint8_t reserved1[10];          //
    char camera_id[kCameraIdBytes]; // NUL-padded
    char caps[kCapsBytes];          // GStreamer caps string, NUL-padded
    char metadata[kMetadataBytes];  // user metadata, JSON; only metadata_length bytes are read
};

inline constexpr uint64_t kSlotDescOffset = sizeof(SegmentHeader);

static_assert(sizeof(SegmentHeader) == 1024);
static_assert(sizeof(SlotDesc) == 5376);
static_assert(offsetof(SegmentHeader, wake_word) == 64);
static_assert(offsetof(SegmentHeader, latest) == 72);
static_assert(offsetof(SegmentHeader, writer_started_ns) == 112);
static_assert(offsetof(SegmentHeader, ack_word) == 124);
static_assert(offsetof(SegmentHeader, run_first_sequence) == 136);
static_assert(offsetof(SegmentHeader, source) == 144);
static_assert(offsetof(SegmentHeader, slots_held_since_ns) == 272);
static_assert(offsetof(SlotDesc, payload_size) == 80);
static_assert(offsetof(SlotDesc, camera_id) == 128);
static_assert(offsetof(SlotDesc, caps) == 256);
static_assert(offsetof(SlotDesc, metadata) == 1280);
static_assert(std::is_standard_layout_v<SegmentHeader> &&
              std::is_trivially_copyable_v<SegmentHeader>);
static_assert(std::is_standard_layout_v<SlotDesc> && std::is_trivially_copyable_v<SlotDesc>);
static_assert(__atomic_always_lock_free(sizeof(uint64_t), nullptr));
static_assert(__atomic_always_lock_free(sizeof(uint32_t), nullptr));

inline constexpr uint64_t round_up_to_page(uint64_t n)
{
    return (n + kPageSize - 1) & ~(kPageSize - 1);
}

inline constexpr uint64_t payload_offset_for(uint32_t slot_count)
{
    return round_up_to_page(kSlotDescOffset + uint64_t{slot_count} * sizeof(SlotDesc));
}

inline constexpr uint64_t pack_latest(uint64_t sequence, uint32_t slot)
{
    return (sequence << 8) | slot;
}
inline constexpr uint64_t latest_sequence(uint64_t latest)
{
    return latest >> 8;
}
inline constexpr uint32_t latest_slot(uint64_t latest)
{
    return static_cast<uint32_t>(latest & 0xff);
}

// Fields marked atomic are shared with other processes and touched only through these. The
// writer publishes with release (descriptor and payload become visible before `latest` and the
// seqlock say so); readers load the peer's words with acquire before touching what they guard.
template <typename T> inline T load_acquire(const T& field)
{
    return __atomic_load_n(&field, __ATOMIC_ACQUIRE);
}
template <typename T> inline T load_relaxed(const T& field)
{
    return __atomic_load_n(&field, __ATOMIC_RELAXED);
}
template <typename T> inline void store_release(T& field, T value)
{
    __atomic_store_n(&field, value, __ATOMIC_RELEASE);
}
template <typename T> inline void store_relaxed(T& field, T value)
{
    __atomic_store_n(&field, value, __ATOMIC_RELAXED);
}
template <typename T> inline void add_relaxed(T& field, T value)
{
    __atomic_fetch_add(&field, value, __ATOMIC_RELAXED);
}
template <typename T> inline void set_bits_release(T& field, T bits)
{
    __atomic_fetch_or(&field, bits, __ATOMIC_RELEASE);
}
template <typename T> inline void clear_bits_release(T& field, T bits)
{
    __atomic_fetch_and(&field, static_cast<T>(~bits), __ATOMIC_RELEASE);
}
// A store and a fence ordered with every other seq_cst operation: the writer_waiting handshake
// and the wake after a publish, where a later load must not move before the store.
template <typename T> inline void store_seq_cst(T& field, T value)
{
    __atomic_store_n(&field, value, __ATOMIC_SEQ_CST);
}
inline void fence_seq_cst()
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}
inline void fence_acquire()
{
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
}

} // namespace pvshm::layout
