// SPDX-License-Identifier: LGPL-2.1-or-later
// `pvshm list` and `pvshm info`: what segments exist and what they hold.
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <exception>
#include <string>
#include <variant>
#include <vector>

#include <pvshm/clock.hpp>
#include <pvshm/format.hpp>
#include <pvshm/reader.hpp>

#include "commands.hpp"
#include "json.hpp"
#include "segment_lookup.hpp"
#include "status_json.hpp"

namespace pvshm::cli {
namespace {

std::string octal_mode(mode_t mode)
{
    char text[8];
    std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
    return text;
}

// The frame's user metadata as a JSON object of strings and numbers.
nlohmann::ordered_json metadata_json(const UserMetadata& metadata)
{
    nlohmann::ordered_json object = nlohmann::ordered_json::object();
    for (const auto& [key, value] : metadata)
        std::visit([&object, &key = key](const auto& v) { object[key] = v; }, value);
    return object;
}

// How long readers have held every slot the writer could write, 0 when they do not.
int64_t slots_held_ms(const SegmentStatus& status)
{
    if (status.slots_held_since_ns == 0)
        return 0;
    return std::max<int64_t>(clock_ns(CLOCK_REALTIME) - status.slots_held_since_ns, 0) / 1000000;
}

// The keys CONTRACT section 6 promises, then details; frame keys are null without a frame.
JsonObject segment_object(const SegmentStatus& status)
{
    JsonObject object;
    object.add("id", status.id);
    const FrameInfo* frame = status.latest ? &*status.latest : nullptr;
    if (frame) {
        object.add("format", format_name(frame->format))
            .add("width", frame->width)
            .add("height", frame->height);
    } else {
        object.add_null("format").add_null("width").add_null("height");
    }
    object.add("slots", status.slots)
        .add("frames_written", status.frames_written)
        .add("writer_pid", status.writer_pid)
        .add("writer_alive", status.writer_alive);
    if (frame)
        object.add("last_frame_age_ms", frame_age_ms(*frame));
    else
        object.add_null("last_frame_age_ms");
    if (!status.source.empty())
        object.add("mirrored_from", status.source);
    object.add("frames_dropped", status.frames_dropped)
        .add("slots_held_ms", slots_held_ms(status))
        .add("bytes_written", status.bytes_written)
        .add("slot_size", status.slot_size)
        .add("total_size", status.total_size)
        .add("owner_uid", static_cast<uint32_t>(status.owner))
        .add("mode", octal_mode(status.mode));
    if (frame) {
        // The capture times under FrameInfo's names (as Python's info dicts), and under the
        // names the first releases printed, which scripts may read.
        object.add("sequence", frame->sequence)
            .add("timestamp_realtime_ns", frame->timestamp_realtime_ns)
            .add("timestamp_monotonic_ns", frame->timestamp_monotonic_ns)
            .add("timestamp_ns", frame->timestamp_realtime_ns)
            .add("monotonic_ns", frame->timestamp_monotonic_ns)
            .add("payload_size", frame->payload_size)
            .add("camera_id", frame->camera_id)
            .add("caps", frame->caps)
            .add("metadata", metadata_json(frame->metadata));
    } else {
        object.add_null("sequence")
            .add_null("timestamp_realtime_ns")
            .add_null("timestamp_monotonic_ns")
            .add_null("timestamp_ns")
            .add_null("monotonic_ns")
            .add_null("payload_size")
            .add_null("camera_id")
            .add_null("caps")
            .add_null("metadata");
    }
    return object;
}

// A segment found in the directory: its status, or why it cannot be read.
struct Listed
{
    std::string id;
    std::optional<SegmentStatus> status;
    std::string error;
};

// One entry that cannot be read (a FIFO, another user's segment, a truncated file...) is listed
// with the reason and never stops the others from being listed.
std::vector<Listed> list_all(const ReaderOptions& options)
{
    std::vector<Listed> listed;
    for (const std::string& id : list_segment_ids()) {
        try {
            Reader reader(id, options);
            if (auto status = reader.status())
                listed.push_back({id, std::move(status), {}});
            // nullopt: removed since the directory was read
        } catch (const std::exception& error) {
            listed.push_back({id, std::nullopt, error_text(error)});
        }
    }
    return listed;
}

std::string writer_text(const SegmentStatus& status)
{
    if (status.writer_pid == 0)
        return "-";
    return std::to_string(status.writer_pid) + (status.writer_alive ? " alive" : " dead");
}

} // namespace

std::string segment_json(const SegmentStatus& status)
{
    return segment_object(status).str();
}

std::string segment_list_json(const ReaderOptions& options)
{
    std::string out = "[";
    for (const Listed& entry : list_all(options)) {
        if (out.size() > 1)
            out += ",\n ";
        if (entry.status) {
            out += segment_json(*entry.status);
        } else {
            JsonObject object;
            object.add("id", entry.id).add("error", entry.error);
            for (const char* key : {"format", "width", "height", "slots", "frames_written",
                                    "writer_pid", "writer_alive", "last_frame_age_ms"})
                object.add_null(key);
            out += object.str();
        }
    }
    return out + "]";
}

int list_segments(bool json, const ReaderOptions& options)
{
    if (json) {
        std::printf("%s\n", segment_list_json(options).c_str());
        return 0;
    }
    const std::vector<Listed> listed = list_all(options);
    if (listed.empty()) {
        std::printf("no segments\n");
        return 0;
    }
    size_t id_width = 2;
    for (const Listed& entry : listed)
        id_width = std::max(id_width, entry.id.size());
    const int w = static_cast<int>(id_width);
    std::printf("%-*s  %-12s  %11s  %5s  %10s  %-13s  %s\n", w, "ID", "FORMAT", "SIZE", "SLOTS",
                "FRAMES", "WRITER", "NEWEST FRAME");
    for (const Listed& entry : listed) {
        if (!entry.status) {
            std::printf("%-*s  unusable: %s\n", w, entry.id.c_str(),
                        displayable(entry.error).c_str());
            continue;
        }
        const SegmentStatus& status = *entry.status;
        const FrameInfo* frame = status.latest ? &*status.latest : nullptr;
        std::printf("%-*s  %-12s  %11s  %5u  %10llu  %-13s  %s\n", w, entry.id.c_str(),
                    frame ? std::string(format_name(frame->format)).c_str() : "-",
                    frame ? frame_size_text(*frame).c_str() : "-", status.slots,
                    static_cast<unsigned long long>(status.frames_written),
                    writer_text(status).c_str(),
                    frame ? (duration_text(frame_age_ms(*frame)) + " ago").c_str() : "none");
    }
    return 0;
}

int show_info(const std::string& id, bool json, const ReaderOptions& options)
{
    Reader reader(id, options);
    const SegmentStatus status = require_segment(reader);
    if (json) {
        std::printf("%s\n", segment_json(status).c_str());
        return 0;
    }
    std::printf("id:              %s\n", status.id.c_str());
    std::printf("slots:           %u of %llu bytes (%llu bytes in all)\n", status.slots,
                static_cast<unsigned long long>(status.slot_size),
                static_cast<unsigned long long>(status.total_size));
    std::printf("frames written:  %llu (%llu bytes), dropped %llu\n",
                static_cast<unsigned long long>(status.frames_written),
                static_cast<unsigned long long>(status.bytes_written),
                static_cast<unsigned long long>(status.frames_dropped));
    std::printf("writer:          %s\n", writer_text(status).c_str());
    if (!status.source.empty())
        std::printf("mirrored from:   %s\n", status.source.c_str());
    if (const int64_t held = slots_held_ms(status))
        std::printf("slots held:      readers have held every slot for %.1f s (frames are dropped; "
                    "their locks do not name the process)\n",
                    double(held) / 1000);
    std::printf("owner:           uid %u, mode %04o\n", static_cast<unsigned>(status.owner),
                static_cast<unsigned>(status.mode));
    if (!status.latest) {
        std::printf("newest frame:    none\n");
        return 0;
    }
    const FrameInfo& frame = *status.latest;
    std::printf("newest frame:    #%llu, %s ago\n", static_cast<unsigned long long>(frame.sequence),
                duration_text(frame_age_ms(frame)).c_str());
    std::printf("format:          %s\n", std::string(format_name(frame.format)).c_str());
    std::printf("size:            %s (%llu bytes)\n", frame_size_text(frame).c_str(),
                static_cast<unsigned long long>(frame.payload_size));
    if (!frame.camera_id.empty())
        std::printf("camera:          %s\n", displayable(frame.camera_id).c_str());
    if (!frame.caps.empty())
        std::printf("caps:            %s\n", displayable(frame.caps).c_str());
    return 0;
}

} // namespace pvshm::cli
