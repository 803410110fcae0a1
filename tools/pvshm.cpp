// SPDX-License-Identifier: LGPL-2.1-or-later
// pvshm: look at, read and write the shared-memory segments of pvshm from the command line.
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <string>
#include <vector>

#include <pvshm/shared_mem_id.hpp>

#include "command_suggestion.hpp"
#include "commands.hpp"
#include "rtsp_command.hpp"
#include "srt_commands.hpp"
#include "web_command.hpp"

namespace {

const std::string kIdHelp = std::string("Shared-memory id: ") + pvshm::kIdRule;
constexpr const char* kAllowOtherOwnerHelp =
    "Read segments owned by another user (refused by default: they could have been planted)";

constexpr unsigned long long kMaxFrameCount = 1'000'000'000'000;

// -n/--count of watch: a whole number of frames. watch(1) users may expect -n to be the refresh
// interval, so a refusal says where that is.
CLI::Validator frame_count()
{
    return CLI::Validator(
        [](std::string& input) -> std::string {
            const bool digits =
                !input.empty() && input.find_first_not_of("0123456789") == std::string::npos;
            // At most 13 digits: strtoull cannot overflow, and kMaxFrameCount bounds the rest.
            const unsigned long long count =
                digits && input.size() <= 13 ? std::strtoull(input.c_str(), nullptr, 10) : 0;
            if (count >= 1 && count <= kMaxFrameCount)
                return {};
            return "expected a whole number of frames from 1 to " + std::to_string(kMaxFrameCount) +
                   ", got '" + input + "' (seconds between refreshes are -i/--interval)";
        },
        "FRAMES");
}

// A number of seconds from `low` to `high`; NaN, infinities and trailing junk are refused.
CLI::Validator seconds(double low, double high)
{
    return CLI::Validator(
        [low, high](std::string& input) -> std::string {
            char* end = nullptr;
            const double value = std::strtod(input.c_str(), &end);
            if (!input.empty() && *end == '\0' && std::isfinite(value) && value >= low &&
                value <= high)
                return {};
            char range[64];
            std::snprintf(range, sizeof range, "from %.10g to %.10g", low, high);
            return std::string("expected seconds ") + range + ", got '" + input + "'";
        },
        "SECONDS");
}

} // namespace

int main(int argc, char** argv)
{
    CLI::App app{"Inspect, read and write pvshm shared-memory segments (camera frames shared "
                 "between processes).",
                 "pvshm"};
    app.require_subcommand(1);
    app.footer("Exit status: 0 on success, 1 on any error (invalid id, missing segment, "
               "unreadable file, bad usage).\nSegments live in /dev/shm (or $PVSHM_SHM_DIR) as "
               "pvshm.<id>.");

    bool json = false;
    bool force = false;
    bool raw = false;
    bool dead = false;
    bool allow_other_owner = false;
    std::string id;
    std::vector<std::string> ids;
    std::string file;
    std::string color_space = "RGB";
    pvshm::cli::WatchOptions watch_options;
    // Each subcommand sets what main() runs once parsing succeeded.
    std::function<int()> run;
    const auto reader_options = [&] { return pvshm::cli::reader_options(allow_other_owner); };

    auto* list = app.add_subcommand("list", "List the segments: format, size, slots, frames "
                                            "written, writer and age of the newest frame; "
                                            "objects that are not usable segments with why");
    list->add_flag("--json", json, "Print a JSON array of objects");
    list->add_flag("--allow-other-owner", allow_other_owner, kAllowOtherOwnerHelp);
    list->callback(
        [&] { run = [&] { return pvshm::cli::list_segments(json, reader_options()); }; });

    auto* info = app.add_subcommand("info", "Show everything a segment says about itself");
    info->add_option("ID", id, kIdHelp)->required();
    info->add_flag("--json", json, "Print a JSON object");
    info->add_flag("--allow-other-owner", allow_other_owner, kAllowOtherOwnerHelp);
    info->callback(
        [&] { run = [&] { return pvshm::cli::show_info(id, json, reader_options()); }; });

    auto* snapshot = app.add_subcommand(
        "snapshot", "Save the newest frame, converted to RGB as the library reads it, as an image");
    snapshot->add_option("ID", id, kIdHelp)->required();
    snapshot->add_option("FILE", file, "Image file to write; its extension picks the format (.png)")
        ->required();
    snapshot
        ->add_option("--color-space", color_space,
                     "Channel order of frames written as raw 3-channel arrays")
        ->check(CLI::IsMember({"RGB", "BGR"}, CLI::ignore_case))
        ->capture_default_str();
    snapshot->add_flag("--allow-other-owner", allow_other_owner, kAllowOtherOwnerHelp);
    snapshot->add_flag("--raw", raw,
                       "16-bit gray frames as 16-bit PNG, their samples as stored (others as "
                       "without it)");
    snapshot->callback([&] {
        run = [&] { return pvshm::cli::snapshot(id, file, color_space, raw, reader_options()); };
    });

    auto* write = app.add_subcommand(
        "write", "Store an image file's bytes (PNG, JPEG, ...) as the newest frame (dev helper)");
    write->add_option("ID", id, kIdHelp)->required();
    write->add_option("IMAGE_FILE", file, "Regular file to store as it is")->required();
    write->callback([&] { run = [&] { return pvshm::cli::write_image_file(id, file); }; });

    auto* clear = app.add_subcommand(
        "clear", "Remove segments (readers keep what they mapped); an id without one is an "
                 "error, the others are removed all the same");
    auto* clear_ids = clear->add_option("ID", ids, kIdHelp);
    auto* clear_force = clear->add_flag("-f,--force", force,
                                        "Also remove segments whose writer "
                                        "is alive");
    clear->add_flag("--dead", dead, "Remove every segment whose writer is gone, and no other")
        ->excludes(clear_ids)
        ->excludes(clear_force);
    clear->callback([&] {
        if (!dead && ids.empty())
            throw CLI::ValidationError("clear", "name at least one ID, or pass --dead");
        run = [&] { return dead ? pvshm::cli::clear_dead() : pvshm::cli::clear(ids, force); };
    });

    auto* watch = app.add_subcommand(
        "watch", "Show the frame rate, writer drops and latency (now minus the frame's capture "
                 "time) until Ctrl-C");
    watch->add_option("ID", id, kIdHelp)->required();
    watch->add_option("-n,--count", watch_options.count, "Stop after seeing N frames")
        ->check(frame_count());
    watch->add_option("-d,--duration", watch_options.duration, "Stop after S seconds")
        ->check(seconds(0.01, 366.0 * 24 * 3600));
    watch->add_option("-i,--interval", watch_options.interval, "Seconds between refreshes")
        ->check(seconds(0.01, 3600.0))
        ->capture_default_str();
    watch->add_flag("--allow-other-owner", allow_other_owner, kAllowOtherOwnerHelp);
    watch->callback([&] {
        watch_options.reader = reader_options();
        run = [&] { return pvshm::cli::watch(id, watch_options); };
    });

    pvshm::cli::add_rtsp_command(app, run);
    pvshm::cli::add_serve_command(app, run);
    pvshm::cli::add_mirror_command(app, run);
    pvshm::cli::add_web_command(app, run);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        // CLI11 says "A subcommand is required" of a misspelled one: name it and the closest.
        if (argc > 1 && argv[1][0] != '-' && app.get_subcommands().empty()) {
            std::vector<std::string> commands;
            for (const CLI::App* command : app.get_subcommands({}))
                commands.push_back(command->get_name());
            std::fprintf(stderr, "pvshm: %s\nRun with --help for more information.\n",
                         pvshm::cli::unknown_command_message(argv[1], commands).c_str());
            return 1;
        }
        // --help and --version are "errors" that exit 0; every real one exits 1.
        return app.exit(error) == 0 ? 0 : 1;
    }

    try {
        return run();
    } catch (const std::exception& error) {
        std::fprintf(stderr, "pvshm: %s\n", pvshm::cli::error_text(error).c_str());
        return 1;
    }
}
