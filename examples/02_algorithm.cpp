// SPDX-License-Identifier: LGPL-2.1-or-later
// A vision "algorithm": waits for each new frame of an id, computes its mean colour, and reports
// frames read, frame rate and read latency; saves one frame it read as a PNG.
//
//   pvshm-example-algorithm ID [--frames N] [--timeout SECONDS] [--snapshot OUT.png]
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <pvshm/pvshm.hpp>

namespace {

int64_t monotonic_ns()
{
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

double percentile(std::vector<double> values, double fraction)
{
    if (values.empty())
        return 0;
    std::sort(values.begin(), values.end());
    return values[static_cast<size_t>(fraction * (values.size() - 1))];
}

} // namespace

int main(int argc, char** argv)
{
    CLI::App app{"A vision \"algorithm\": waits for each new frame of an id, computes its mean "
                 "colour, and reports frames read, frame rate and read latency."};
    std::string id;
    long frames_wanted = 100;
    double timeout_s = 10;
    std::string snapshot;
    app.add_option("ID", id, "Shared-memory id")->required();
    app.add_option("--frames", frames_wanted, "Frames to read")
        ->capture_default_str()
        ->check(CLI::Range(1L, 1'000'000'000L));
    app.add_option("--timeout", timeout_s, "Seconds to wait for a frame before giving up")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 3600.0));
    app.add_option("--snapshot", snapshot, "Save the last frame read as this PNG");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        return app.exit(error) == 0 ? 0 : 2; // --help exits 0, bad usage 2
    }
    try {
        pvshm::Reader reader(id);
        const auto timeout = std::chrono::duration<double>(timeout_s);
        std::vector<double> latencies_us;
        cv::Mat rgb;
        long frames = 0;
        auto started = std::chrono::steady_clock::now();
        while (frames < frames_wanted &&
               reader.wait(std::chrono::duration_cast<std::chrono::nanoseconds>(timeout))) {
            auto view = reader.view_latest();
            if (!view)
                continue;
            // Latency: from the frame's capture (monotonic clock, shared by both processes) to
            // the moment this process has it as an RGB image.
            pvshm::normalize_to_rgb(view->info(), view->data(), rgb);
            latencies_us.push_back((monotonic_ns() - view->info().timestamp_monotonic_ns) / 1e3);
            const cv::Scalar mean = cv::mean(rgb);
            if (frames == 0)
                started = std::chrono::steady_clock::now();
            if (++frames % 30 == 1)
                std::printf("frame %llu %dx%d %s: mean R %.1f G %.1f B %.1f\n",
                            static_cast<unsigned long long>(view->info().sequence), rgb.cols,
                            rgb.rows, std::string(pvshm::format_name(view->info().format)).c_str(),
                            mean[0], mean[1], mean[2]);
        }
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        std::printf("frames read: %ld\n", frames);
        std::printf("frame rate: %.1f frames/s\n", frames > 1 ? (frames - 1) / seconds : 0.0);
        std::printf("read latency: p50 %.0f us, p99 %.0f us\n", percentile(latencies_us, 0.5),
                    percentile(latencies_us, 0.99));
        if (!snapshot.empty() && !rgb.empty()) {
            cv::Mat bgr;
            cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
            if (!cv::imwrite(snapshot, bgr))
                throw std::runtime_error("cannot write " + snapshot);
            std::printf("snapshot: %s\n", snapshot.c_str());
        }
        return frames > 0 ? 0 : 1;
    } catch (const std::exception& error) {
        std::fprintf(stderr, "error: %s\n", error.what());
        return 1;
    }
}
