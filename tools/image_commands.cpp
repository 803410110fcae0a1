// `pvshm snapshot`, `pvshm write` and `pvshm clear`: frames to and from image files.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <pvshm/error.hpp>
#include <pvshm/normalize.hpp>
#include <pvshm/pvshm.hpp>
#include <pvshm/reader.hpp>

#include "commands.hpp"
#include "segment_lookup.hpp"

namespace pvshm::cli {
namespace {

std::vector<uint8_t> read_file(const std::string& file)
{
    std::ifstream stream(file, std::ios::binary);
    if (!stream)
        throw std::runtime_error("cannot read '" + file + "': " + std::strerror(errno));
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(stream)),
                               std::istreambuf_iterator<char>());
    if (stream.bad())
        throw std::runtime_error("cannot read '" + file + "': " + std::strerror(errno));
    return bytes;
}

} // namespace

int snapshot(const std::string& id, const std::string& file, const std::string& color_space)
{
    const ColorOrder order = color_order_from_name(color_space);
    // Checked first so that a bad name costs no read, and OpenCV's own error stays unseen.
    if (!cv::haveImageWriter(file))
        throw std::runtime_error("cannot write '" + file +
                                 "': no image format for its extension (use .png)");
    Reader reader(id);
    require_segment(reader);
    cv::Mat rgb;
    uint64_t sequence = 0;
    {
        const auto view = reader.view_latest();
        if (!view)
            throw std::runtime_error("segment '" + id + "' holds no frame yet");
        normalize_to_rgb(view->info(), view->data(), rgb, order);
        sequence = view->info().sequence;
    } // unpinned before the slow part: encoding and writing the file
    cv::Mat bgr;
    cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR); // imwrite takes OpenCV's BGR order
    if (!cv::imwrite(file, bgr))
        throw std::runtime_error("cannot write '" + file + "'");
    std::printf("wrote frame #%llu of '%s' (%dx%d) to %s\n",
                static_cast<unsigned long long>(sequence), id.c_str(), rgb.cols, rgb.rows,
                file.c_str());
    return 0;
}

int write_image_file(const std::string& id, const std::string& file)
{
    const std::vector<uint8_t> bytes = read_file(file);
    // Stored as they are, like dev_write_image_to_shared_memory does; readers of bytes that do
    // not decode get zeros, so say so now.
    const cv::Mat decoded = cv::imdecode(bytes, cv::IMREAD_UNCHANGED);
    if (decoded.empty())
        std::fprintf(stderr,
                     "warning: '%s' is not an image OpenCV can decode: readers will get zeros\n",
                     file.c_str());
    dev_write_image_to_shared_memory(id, bytes);
    std::printf("stored %s (%dx%d, %zu bytes) as the newest frame of '%s'\n", file.c_str(),
                decoded.cols, decoded.rows, bytes.size(), id.c_str());
    return 0;
}

int clear(const std::string& id, bool force)
{
    Reader reader(id); // rejects an invalid id before anything is removed
    bool exists = true;
    try {
        exists = reader.status().has_value();
    } catch (const SegmentError&) {
        // Unusable, but still ours to remove: that is what clear is for.
    }
    if (!exists) {
        if (force)
            return 0;
        throw std::runtime_error("no segment with id '" + id + "' (--force ignores this)");
    }
    dev_clear_shared_memory(id);
    return 0;
}

} // namespace pvshm::cli
