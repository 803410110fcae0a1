// The subcommands of the pvshm tool. Each returns the exit status; failures (an invalid id, a
// missing segment, an unreadable file) are thrown as exceptions that main() reports.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace pvshm::cli {

int list_segments(bool json);
int show_info(const std::string& id, bool json);
int snapshot(const std::string& id, const std::string& file, const std::string& color_space);
int write_image_file(const std::string& id, const std::string& file);
int clear(const std::string& id, bool force);

struct WatchOptions
{
    std::optional<uint64_t> count;  // stop after this many frames seen
    std::optional<double> duration; // stop after this many seconds
    double interval = 0.5;          // seconds between two refreshes of the line
};
int watch(const std::string& id, const WatchOptions& options);

} // namespace pvshm::cli
