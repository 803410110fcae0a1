// pvshm: look at, read and write the shared-memory segments of pvshm from the command line.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <functional>
#include <string>

#include "commands.hpp"
#include "rtsp_command.hpp"

namespace {

constexpr const char* kIdHelp =
    "Shared-memory id: 1 to 200 characters of [A-Za-z0-9._-], not starting with '.'";

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
    std::string id;
    std::string file;
    std::string color_space = "RGB";
    pvshm::cli::WatchOptions watch_options;
    // Each subcommand sets what main() runs once parsing succeeded.
    std::function<int()> run;

    auto* list = app.add_subcommand("list", "List the segments: format, size, slots, frames "
                                            "written, writer and age of the newest frame");
    list->add_flag("--json", json, "Print a JSON array of objects");
    list->callback([&] { run = [&] { return pvshm::cli::list_segments(json); }; });

    auto* info = app.add_subcommand("info", "Show everything a segment says about itself");
    info->add_option("ID", id, kIdHelp)->required();
    info->add_flag("--json", json, "Print a JSON object");
    info->callback([&] { run = [&] { return pvshm::cli::show_info(id, json); }; });

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
    snapshot->callback([&] { run = [&] { return pvshm::cli::snapshot(id, file, color_space); }; });

    auto* write = app.add_subcommand(
        "write", "Store an image file's bytes (PNG, JPEG, ...) as the newest frame (dev helper)");
    write->add_option("ID", id, kIdHelp)->required();
    write->add_option("IMAGE_FILE", file, "Image file to store as it is")->required();
    write->callback([&] { run = [&] { return pvshm::cli::write_image_file(id, file); }; });

    auto* clear = app.add_subcommand("clear", "Remove a segment (readers keep what they mapped)");
    clear->add_option("ID", id, kIdHelp)->required();
    clear->add_flag("-f,--force", force, "Succeed when the segment does not exist");
    clear->callback([&] { run = [&] { return pvshm::cli::clear(id, force); }; });

    auto* watch = app.add_subcommand(
        "watch", "Show the frame rate, writer drops and latency (now minus the frame's capture "
                 "time) until Ctrl-C");
    watch->add_option("ID", id, kIdHelp)->required();
    watch->add_option("-n,--count", watch_options.count, "Stop after seeing N frames")
        ->check(CLI::PositiveNumber);
    watch->add_option("-d,--duration", watch_options.duration, "Stop after S seconds")
        ->check(CLI::NonNegativeNumber);
    watch->add_option("-i,--interval", watch_options.interval, "Seconds between refreshes")
        ->check(CLI::Range(0.01, 3600.0))
        ->capture_default_str();
    watch->callback([&] { run = [&] { return pvshm::cli::watch(id, watch_options); }; });

    pvshm::cli::add_rtsp_command(app, run);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        // --help and --version are "errors" that exit 0; every real one exits 1.
        return app.exit(error) == 0 ? 0 : 1;
    }

    try {
        return run();
    } catch (const std::exception& error) {
        std::fprintf(stderr, "pvshm: %s\n", error.what());
        return 1;
    }
}
