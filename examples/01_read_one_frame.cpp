// SPDX-License-Identifier: LGPL-2.1-or-later
// Reads the newest frame of a shared-memory id with the seed API and saves it as a PNG.
//
//   pvshm-example-read-one-frame ID WIDTH HEIGHT OUT.png
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <string>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <pvshm/pvshm.hpp>

int main(int argc, char** argv)
{
    CLI::App app{"Reads the newest frame of a shared-memory id with the seed API and saves it as "
                 "a PNG."};
    std::string id;
    pvshm::ImageMeta meta;
    std::string out;
    app.add_option("ID", id, "Shared-memory id")->required();
    app.add_option("WIDTH", meta.width, "image_meta.width (the frame's own size wins)")->required();
    app.add_option("HEIGHT", meta.height, "image_meta.height")->required();
    app.add_option("OUT.png", out, "PNG file to write")->required();
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        return app.exit(error) == 0 ? 0 : 2; // --help exits 0, bad usage 2
    }
    try {
        const cv::Mat rgb = pvshm::read_image_from_shared_memory(id, meta);
        if (rgb.empty()) {
            std::fprintf(stderr, "width and height must be positive\n");
            return 1;
        }
        cv::Mat bgr;
        cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
        cv::imwrite(out, bgr);
        std::printf("wrote %dx%d frame to %s\n", rgb.cols, rgb.rows, out.c_str());
    } catch (const std::exception& error) {
        std::fprintf(stderr, "error: %s\n", error.what());
        return 1;
    }
    return 0;
}
