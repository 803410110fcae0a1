// SPDX-License-Identifier: LGPL-2.1-or-later
#include <pvshm/sync_reader.hpp>

// Matching frames of several ids: a few pending frames per id, matched oldest first.
#include <algorithm>
#include <cstdint>
#include <deque>
#include <limits>
#include <set>
#include <stdexcept>

namespace pvshm {
namespace detail {
namespace {

// How far apart two capture times are. Unsigned: the difference of any two int64_t fits in
// uint64_t, where a signed difference overflows (INT64_MIN and INT64_MAX made a gap of 1 ns and
// were matched as one set).
uint64_t distance(int64_t a, int64_t b)
{
    return a > b ? uint64_t(a) - uint64_t(b) : uint64_t(b) - uint64_t(a);
}

int64_t capture_time(const FrameView& frame)
{
    return frame.info().timestamp_realtime_ns;
}

} // namespace

class SyncReaderCore
{
public:
    SyncReaderCore(const std::vector<std::string>& ids, SyncOptions options)
        : options_(std::move(options))
    {
        if (ids.empty())
            throw std::invalid_argument("SyncReader: no ids given");
        if (std::set<std::string>(ids.begin(), ids.end()).size() != ids.size())
            throw std::invalid_argument("SyncReader: an id is given twice");
        if (options_.pending_per_id == 0)
            throw std::invalid_argument("SyncReader: pending_per_id must be at least 1");
        if (options_.tolerance.count() < 0)
            throw std::invalid_argument("SyncReader: tolerance must not be negative");
        for (const auto& id : ids)
            streams_.push_back({std::make_unique<Reader>(id, options_.reader), {}});
    }

    std::optional<std::vector<FrameView>> next(std::chrono::nanoseconds timeout)
    {
        using Clock = std::chrono::steady_clock;
        const auto start = Clock::now();
        for (;;) {
            take_new_frames();
            if (auto set = match())
                return set;
            if (made_room_) {
                made_room_ = false;
                continue;
            }
            const auto waited = Clock::now() - start;
            if (waited >= timeout)
                return std::nullopt;
            wait_any(readers_with_room(),
                     timeout - std::chrono::duration_cast<std::chrono::nanoseconds>(waited));
        }
    }

    uint64_t frames_unmatched() const { return unmatched_; }

    std::optional<std::chrono::nanoseconds> closest_spread() const
    {
        if (!closest_spread_)
            return std::nullopt;
        constexpr auto kMax = uint64_t(std::numeric_limits<int64_t>::max());
        return std::chrono::nanoseconds(int64_t(std::min(*closest_spread_, kMax)));
    }

private:
    struct Stream
    {
        std::unique_ptr<Reader> reader;
        std::deque<FrameView> pending; // oldest first
    };

    // The readers of the ids whose frames take_new_frames() would take. One with a full window
    // may have frames waiting in its segment: wait_any would return at once, again and again,
    // while another id's frame is missing. Some id has room whenever next() waits: with every
    // window full, give_up_hopeless() makes room.
    std::vector<Reader*> readers_with_room() const
    {
        std::vector<Reader*> readers;
        for (const auto& stream : streams_)
            if (stream.pending.size() < options_.pending_per_id)
                readers.push_back(stream.reader.get());
        return readers;
    }

    // New frames, up to pending_per_id per id: the rest wait in their segment (where a lossless
    // writer keeps them for us).
    void take_new_frames()
    {
        for (auto& stream : streams_) {
            while (stream.pending.size() < options_.pending_per_id) {
                auto view = stream.reader->view_next();
                if (!view)
                    break;
                if (!options_.key.empty() && !view->info().metadata.count(options_.key)) {
                    ++unmatched_; // cannot belong to any set
                    continue;
                }
                stream.pending.push_back(std::move(*view));
            }
        }
    }

    bool belong_together(const FrameView& a, const FrameView& b) const
    {
        if (!options_.key.empty())
            return a.info().metadata.at(options_.key) == b.info().metadata.at(options_.key);
        return within_tolerance(distance(capture_time(a), capture_time(b)));
    }

    bool within_tolerance(uint64_t gap) const
    {
        return gap <= uint64_t(options_.tolerance.count());
    }

    // The oldest set of pending frames that belong together, if any; the frames before it
    // are given up. With capture times, every frame of a set lies within the tolerance of the
    // first id's frame, so of each other.
    std::optional<std::vector<FrameView>> match()
    {
        if (options_.key.empty())
            note_closest_spread();
        for (size_t first = 0; first < streams_[0].pending.size(); ++first) {
            const FrameView& anchor = streams_[0].pending[first];
            std::vector<size_t> chosen{first};
            for (size_t i = 1; i < streams_.size(); ++i) {
                const auto& pending = streams_[i].pending;
                auto partner =
                    std::find_if(pending.begin(), pending.end(),
                                 [&](const FrameView& v) { return belong_together(anchor, v); });
                if (partner == pending.end())
                    break;
                chosen.push_back(static_cast<size_t>(partner - pending.begin()));
            }
            if (chosen.size() == streams_.size() &&
                (options_.key.empty() ? within_tolerance(spread(chosen)) : true)) {
                closest_spread_.reset();
                return take(chosen);
            }
        }
        give_up_hopeless();
        return std::nullopt;
    }

    // Latest minus earliest capture time of the pending frames `chosen`, one per id.
    uint64_t spread(const std::vector<size_t>& chosen) const
    {
        int64_t lowest = std::numeric_limits<int64_t>::max();
        int64_t highest = std::numeric_limits<int64_t>::min();
        for (size_t i = 0; i < streams_.size(); ++i) {
            const int64_t t = capture_time(streams_[i].pending[chosen[i]]);
            lowest = std::min(lowest, t);
            highest = std::max(highest, t);
        }
        return distance(highest, lowest);
    }

    // What the user reads when no set comes (cameras that are not triggered together are up to
    // a frame interval apart): for each pending frame of the first id, the spread of it and the
    // nearest pending frame of every other id; the smallest since the last set returned.
    void note_closest_spread()
    {
        for (const auto& stream : streams_)
            if (stream.pending.empty())
                return;
        for (size_t first = 0; first < streams_[0].pending.size(); ++first) {
            const int64_t anchor = capture_time(streams_[0].pending[first]);
            std::vector<size_t> nearest{first};
            for (size_t i = 1; i < streams_.size(); ++i) {
                const auto& pending = streams_[i].pending;
                const auto best = std::min_element(pending.begin(), pending.end(),
                                                   [&](const FrameView& a, const FrameView& b) {
                                                       return distance(capture_time(a), anchor) <
                                                              distance(capture_time(b), anchor);
                                                   });
                nearest.push_back(static_cast<size_t>(best - pending.begin()));
            }
            const uint64_t found = spread(nearest);
            if (!closest_spread_ || found < *closest_spread_)
                closest_spread_ = found;
        }
    }

    std::vector<FrameView> take(const std::vector<size_t>& chosen)
    {
        std::vector<FrameView> set;
        for (size_t i = 0; i < streams_.size(); ++i) {
            auto& pending = streams_[i].pending;
            set.push_back(std::move(pending[chosen[i]]));
            unmatched_ += chosen[i];
            pending.erase(pending.begin(),
                          pending.begin() + static_cast<std::ptrdiff_t>(chosen[i]) + 1);
        }
        return set;
    }

    // Frames that can no longer be part of a set make room for newer ones. With capture times:
    // a frame whose partner in some id should already have come (that id has a frame captured
    // later than the tolerance allows) and is not there never will. In any mode, when every id
    // has a full window and nothing matches, the oldest frame of them all goes.
    void give_up_hopeless()
    {
        if (options_.key.empty()) {
            for (size_t i = 0; i < streams_.size(); ++i) {
                auto& pending = streams_[i].pending;
                while (!pending.empty() && hopeless(pending.front(), i)) {
                    pending.pop_front();
                    ++unmatched_;
                    made_room_ = true;
                }
            }
        }
        const bool stuck = std::all_of(streams_.begin(), streams_.end(), [&](const Stream& s) {
            return s.pending.size() >= options_.pending_per_id;
        });
        if (!stuck)
            return;
        auto oldest = std::min_element(
            streams_.begin(), streams_.end(), [](const Stream& a, const Stream& b) {
                return capture_time(a.pending.front()) < capture_time(b.pending.front());
            });
        oldest->pending.pop_front();
        ++unmatched_;
        made_room_ = true;
    }

    bool hopeless(const FrameView& frame, size_t own) const
    {
        for (size_t j = 0; j < streams_.size(); ++j) {
            const auto& other = streams_[j].pending;
            if (j == own || other.empty())
                continue;
            const bool partner = std::any_of(other.begin(), other.end(), [&](const FrameView& v) {
                return belong_together(frame, v);
            });
            const bool passed =
                capture_time(other.back()) > capture_time(frame) &&
                !within_tolerance(distance(capture_time(other.back()), capture_time(frame)));
            if (!partner && passed)
                return true;
        }
        return false;
    }

    SyncOptions options_;
    std::vector<Stream> streams_;
    uint64_t unmatched_ = 0;
    std::optional<uint64_t> closest_spread_; // ns, since the last set returned
    bool made_room_ = false; // frames were given up: look for new ones before sleeping
};

} // namespace detail

SyncReader::SyncReader(const std::vector<std::string>& shared_mem_ids, SyncOptions options)
    : core_(std::make_unique<detail::SyncReaderCore>(shared_mem_ids, std::move(options)))
{
}

SyncReader::~SyncReader() = default;
SyncReader::SyncReader(SyncReader&&) noexcept = default;
SyncReader& SyncReader::operator=(SyncReader&&) noexcept = default;

std::optional<std::vector<FrameView>> SyncReader::next(std::chrono::nanoseconds timeout)
{
    return core_->next(timeout);
}

uint64_t SyncReader::frames_unmatched() const
{
    return core_->frames_unmatched();
}

std::optional<std::chrono::nanoseconds> SyncReader::closest_spread() const
{
    return core_->closest_spread();
}

} // namespace pvshm
