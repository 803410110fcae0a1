// SPDX-License-Identifier: LGPL-2.1-or-later
// The subcommands of the pvshm tool. Each returns the exit status; failures (an invalid id, a
// missing segment, an unreadable file) are thrown as exceptions that main() reports.
#pragma once

#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include <pvshm/reader.hpp>

namespace pvshm::cli {

// The options of every reading command: --allow-other-owner.
ReaderOptions reader_options(bool allow_other_owner);
// What `error` says, and for a segment of another user how to allow it (`allow_with`).
std::string error_text(const std::exception& error,
                       const std::string& allow_with = "--allow-other-owner");

int list_segments(bool json, const ReaderOptions& options);
int show_info(const std::string& id, bool json, const ReaderOptions& options);
int snapshot(const std::string& id, const std::string& file, const std::string& color_space,
             bool raw, const ReaderOptions& options);
int write_image_file(const std::string& id, const std::string& file);
// Removes each id's segment unless its writer is alive (then refused, unless `force`); an id
// without a segment is an error (said on stderr, exit status 1), the others are removed.
int clear(const std::vector<std::string>& ids, bool force);
// Removes every segment whose writer is gone.
int clear_dead();

struct WatchOptions
{
    std::optional<uint64_t> count;  // stop after this many frames seen
    std::optional<double> duration; // stop after this many seconds
    double interval = 0.5;          // seconds between two refreshes of the line
    ReaderOptions reader;
};
int watch(const std::string& id, const WatchOptions& options);

} // namespace pvshm::cli
