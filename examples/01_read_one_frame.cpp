// SPDX-License-Identifier: LGPL-2.1-or-later
// Reads the newest frame of a shared-memory id with the seed API and saves it as a PNG.
//
//   pvshm-example-read-one-frame ID WIDTH HEIGHT OUT.png
#include <cstdio>
#include <cstdlib>
#include <exception>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <pvshm/pvshm.hpp>

int main(int argc, char** argv)
{
    if (argc != 5) {
        std::fprintf(stderr, "usage: %s ID WIDTH HEIGHT OUT.png\n", argv[0]);
        return 2;
    }
    try {
        pvshm::ImageMeta meta;
        meta.width = std::atoi(argv[2]);
        meta.height = std::atoi(argv[3]);
        const cv::Mat rgb = pvshm::read_image_from_shared_memory(argv[1], meta);
        if (rgb.empty()) {
            std::fprintf(stderr, "width and height must be positive\n");
            return 1;
        }
        cv::Mat bgr;
        cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
        cv::imwrite(argv[4], bgr);
        std::printf("wrote %dx%d frame to %s\n", rgb.cols, rgb.rows, argv[4]);
    } catch (const std::exception& error) {
        std::fprintf(stderr, "error: %s\n", error.what());
        return 1;
    }
    return 0;
}
