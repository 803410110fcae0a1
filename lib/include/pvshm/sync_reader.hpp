// SPDX-License-Identifier: LGPL-2.1-or-later
// Frames of several ids that belong together: the cameras of one inspection station, triggered
// at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <pvshm/export.hpp>
#include <pvshm/frame.hpp>
#include <pvshm/reader.hpp>

namespace pvshm {

struct SyncOptions
{
    // Frames belong together when they carry an equal value of this user-metadata key (a
    // trigger id, say). Empty: when their capture times lie within `tolerance` of each other.
    std::string key;
    std::chrono::nanoseconds tolerance = std::chrono::milliseconds(5);
    // Frames kept per id while waiting for their partners (each pins a slot of its segment, so
    // keep it below the writers' slot count minus one).
    uint32_t pending_per_id = 2;
    ReaderOptions reader;
};

namespace detail {
class SyncReaderCore;
}

class PVSHM_EXPORT SyncReader
{
public:
    // Throws std::invalid_argument for an empty or repeated list, an invalid id or option.
    explicit SyncReader(const std::vector<std::string>& shared_mem_ids, SyncOptions options = {});
    ~SyncReader();
    SyncReader(SyncReader&&) noexcept;
    SyncReader& operator=(SyncReader&&) noexcept;

    // The next set of frames that belong together, one view per id in the order of the ids,
    // newer than the last set returned; nullopt when no set completes within `timeout`. A set
    // is whole or not returned at all: never frames of two triggers. Frames that can no longer
    // complete a set (their partners were never written, or were overwritten) are skipped and
    // counted. Waits without polling (wait_any).
    std::optional<std::vector<FrameView>> next(std::chrono::nanoseconds timeout = kWaitForever);

    // Frames read that were not part of any set returned.
    uint64_t frames_unmatched() const;

    // Why no set came, when matching capture times: the smallest spread (latest minus earliest
    // capture time) of the frames nearest in time across the ids, seen since the last set
    // returned. A spread above the tolerance means frames came from every id, too far apart:
    // the nearest frames of N cameras that run free (not triggered together) at one rate lie
    // up to (N-1)/N of a frame interval apart, so they need a tolerance of that, and then a
    // set pairs frames up to that far apart. nullopt when matching a key, when some id has had no
    // frame since the last set, or right after a set.
    std::optional<std::chrono::nanoseconds> closest_spread() const;

private:
    std::unique_ptr<detail::SyncReaderCore> core_;
};

} // namespace pvshm
