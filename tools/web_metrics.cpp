// SPDX-License-Identifier: LGPL-2.1-or-later
#include "web_metrics.hpp"

#include <cstdio>
#include <exception>
#include <vector>

#include "segment_lookup.hpp"

namespace pvshm::cli {
namespace {

// Samples kept per id: the rate is taken over the last five seconds.
constexpr size_t kSamples = 6;

std::optional<SegmentStatus> usable_status(const std::string& id, const ReaderOptions& options)
{
    try {
        return Reader(id, options).status();
    } catch (const std::exception&) {
        return std::nullopt; // `pvshm list` says why; a metric has no place for it
    }
}

// A label value with the three characters the format escapes escaped.
std::string label_value(const std::string& text)
{
    std::string out;
    for (char c : text) {
        if (c == '\\' || c == '"')
            out += '\\';
        if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

using Value = std::optional<double> (*)(const SegmentStatus&, const FrameRates&);

struct Family
{
    const char* name;
    const char* type;
    const char* help;
    Value value; // nullopt: no sample for this id
};

const Family kFamilies[] = {
    {"pvshm_frames_written_total", "counter", "Frames the writers of the id published.",
     [](const SegmentStatus& s, const FrameRates&) -> std::optional<double> {
         return double(s.frames_written);
     }},
    {"pvshm_frames_dropped_total", "counter",
     "Frames the writers of the id dropped because readers held every slot.",
     [](const SegmentStatus& s, const FrameRates&) -> std::optional<double> {
         return double(s.frames_dropped);
     }},
    {"pvshm_frame_age_seconds", "gauge",
     "Age of the newest frame of the id (now minus its capture time).",
     [](const SegmentStatus& s, const FrameRates&) -> std::optional<double> {
         if (!s.latest)
             return std::nullopt;
         return frame_age_ms(*s.latest) / 1e3;
     }},
    {"pvshm_frame_rate", "gauge", "Frames per second written to the id over the last seconds.",
     [](const SegmentStatus& s, const FrameRates& rates) { return rates.rate(s.id); }},
    {"pvshm_writer_alive", "gauge", "1 when the process that writes the id is alive, else 0.",
     [](const SegmentStatus& s, const FrameRates&) -> std::optional<double> {
         return s.writer_alive ? 1.0 : 0.0;
     }},
};

std::string number(double value)
{
    char text[40];
    std::snprintf(text, sizeof text, "%.9g", value);
    return text;
}

} // namespace

void FrameRates::sample()
{
    const auto now = Clock::now();
    std::map<std::string, std::deque<std::pair<Clock::time_point, uint64_t>>> kept;
    for (const std::string& id : list_segment_ids()) {
        const auto status = usable_status(id, options_);
        if (!status)
            continue;
        auto& samples = kept[id];
        samples = std::move(samples_[id]);
        // A writer that restarted counts from zero again: its old samples mean nothing.
        if (!samples.empty() && samples.back().second > status->frames_written)
            samples.clear();
        samples.emplace_back(now, status->frames_written);
        while (samples.size() > kSamples)
            samples.pop_front();
    }
    samples_ = std::move(kept);
}

std::optional<double> FrameRates::rate(const std::string& id) const
{
    const auto found = samples_.find(id);
    if (found == samples_.end() || found->second.size() < 2)
        return std::nullopt;
    const auto& [first_time, first_frames] = found->second.front();
    const auto& [last_time, last_frames] = found->second.back();
    const double seconds = std::chrono::duration<double>(last_time - first_time).count();
    return seconds > 0 ? double(last_frames - first_frames) / seconds : 0.0;
}

std::string prometheus_metrics(const ReaderOptions& options, const FrameRates& rates)
{
    std::vector<SegmentStatus> statuses;
    for (const std::string& id : list_segment_ids())
        if (auto status = usable_status(id, options))
            statuses.push_back(std::move(*status));

    std::string out;
    for (const Family& family : kFamilies) {
        out += std::string("# HELP ") + family.name + " " + family.help + "\n# TYPE " +
               family.name + " " + family.type + "\n";
        for (const SegmentStatus& status : statuses)
            if (const auto value = family.value(status, rates))
                out += std::string(family.name) + "{id=\"" + label_value(status.id) + "\"} " +
                       number(*value) + "\n";
    }
    return out;
}

} // namespace pvshm::cli
