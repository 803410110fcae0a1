// SPDX-License-Identifier: LGPL-2.1-or-later
// `pvshm web`'s /metrics: every id's counters, newest frame age, frame rate and writer, as
// Prometheus text.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include <pvshm/reader.hpp>

namespace pvshm::cli {

// Frames written per second by each id's writer, from its frames-written counter read once a
// second (sample()) over the last few seconds.
class FrameRates
{
public:
    explicit FrameRates(ReaderOptions options) : options_(std::move(options)) {}

    void sample();
    // nullopt until two samples of the id were taken.
    std::optional<double> rate(const std::string& id) const;

private:
    using Clock = std::chrono::steady_clock;
    const ReaderOptions options_;
    std::map<std::string, std::deque<std::pair<Clock::time_point, uint64_t>>> samples_;
};

// The exposition text (format 0.0.4) of every usable segment.
std::string prometheus_metrics(const ReaderOptions& options, const FrameRates& rates);

} // namespace pvshm::cli
