// SPDX-License-Identifier: LGPL-2.1-or-later
#include <pvshm/pvshm.hpp>

// The seed API over per-process cached readers and writers.
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <system_error>
#include <unistd.h>

#include "id.hpp"
#include "log.hpp"

namespace pvshm {
namespace {

// The seed API is stateless for its callers; underneath, each process keeps one reader and one
// writer per id, so that repeated calls cost a frame copy and not an open, a map and page faults.
template <typename T> class PerIdCache
{
public:
    struct Entry
    {
        std::mutex mutex;
        std::unique_ptr<T> value;
    };

    std::shared_ptr<Entry> get(const std::string& id)
    {
        std::lock_guard lock(mutex_);
        auto& entry = entries_[id];
        if (!entry)
            entry = std::make_shared<Entry>();
        return entry;
    }

    void forget(const std::string& id)
    {
        std::shared_ptr<Entry> entry;
        {
            std::lock_guard lock(mutex_);
            auto found = entries_.find(id);
            if (found == entries_.end())
                return;
            entry = std::move(found->second);
            entries_.erase(found);
        }
        std::lock_guard lock(entry->mutex);
        entry->value.reset();
    }

private:
    std::mutex mutex_;
    std::map<std::string, std::shared_ptr<Entry>> entries_;
};

PerIdCache<Reader>& readers()
{
    static PerIdCache<Reader> cache;
    return cache;
}

PerIdCache<Writer>& writers()
{
    static PerIdCache<Writer> cache;
    return cache;
}

ColorOrder unordered_order(const ImageMeta& meta, const std::string& id)
{
    try {
        return color_order_from_name(meta.color_space);
    } catch (const std::invalid_argument&) {
        log::warning_once("color_space:" + id, "'" + id + "': color_space '" + meta.color_space +
                                                   "' is neither RGB nor BGR; reading as RGB");
        return ColorOrder::RGB;
    }
}

cv::Mat zeros_because(const std::string& id, const ImageMeta& meta, const std::string& why)
{
    log::warning_once("zeros:" + id + ":" + why, "'" + id + "': " + why + "; returning zeros of " +
                                                     std::to_string(meta.width) + "x" +
                                                     std::to_string(meta.height));
    return cv::Mat::zeros(meta.height, meta.width, CV_8UC3);
}

// Stores one frame, the rows of `pixels` packed one after the other, through this process's
// writer of `id`, (re)taking the id when needed.
void write_frame(const std::string& id, const FrameInfo& info, const cv::Mat& pixels)
{
    auto entry = writers().get(id);
    std::lock_guard lock(entry->mutex);
    if (entry->value && !entry->value->still_published())
        entry->value.reset(); // cleared or replaced by someone else: take the id again
    if (!entry->value)
        entry->value = std::make_unique<Writer>(id);
    auto slot = entry->value->loan(info.payload_size);
    if (!slot) {
        log::warning_once("dropped:" + id, "'" + id + "': readers hold every slot; frame dropped");
        return;
    }
    cv::Mat packed(pixels.rows, pixels.cols, pixels.type(), slot->data());
    pixels.copyTo(packed);
    entry->value->publish(*slot, info);
}

} // namespace

cv::Mat read_image_from_shared_memory(const std::string& shared_mem_id, const ImageMeta& image_meta)
{
    validate_id(shared_mem_id);
    if (image_meta.width <= 0 || image_meta.height <= 0)
        return {};
    const ColorOrder order = unordered_order(image_meta, shared_mem_id);
    auto entry = readers().get(shared_mem_id);
    std::lock_guard lock(entry->mutex);
    if (!entry->value)
        entry->value = std::make_unique<Reader>(shared_mem_id);
    try {
        auto view = entry->value->view_latest();
        if (!view)
            return zeros_because(shared_mem_id, image_meta,
                                 entry->value->status() ? "the segment holds no frame"
                                                        : "no segment with this id");
        if (image_meta.max_age_ms > 0 && view->info().age_ns() > image_meta.max_age_ms * 1000000)
            return zeros_because(shared_mem_id, image_meta,
                                 "the newest frame is older than max_age_ms (" +
                                     std::to_string(image_meta.max_age_ms) + " ms)" +
                                     (view->writer_alive() ? "" : "; its writer is gone"));
        cv::Mat image;
        normalize_to_rgb(view->info(), view->data(), image, order);
        if (view->lost())
            return zeros_because(shared_mem_id, image_meta,
                                 "the segment was truncated while its frame was read");
        if (image.cols != image_meta.width || image.rows != image_meta.height)
            log::warning_once("size:" + shared_mem_id,
                              "'" + shared_mem_id + "': frame is " + std::to_string(image.cols) +
                                  "x" + std::to_string(image.rows) + ", image_meta says " +
                                  std::to_string(image_meta.width) + "x" +
                                  std::to_string(image_meta.height) + "; returning the frame");
        return image;
    } catch (const SegmentError& error) {
        return zeros_because(shared_mem_id, image_meta, error.what());
    } catch (const DecodeError& error) {
        return zeros_because(shared_mem_id, image_meta, error.what());
    } catch (const std::invalid_argument& error) {
        return zeros_because(shared_mem_id, image_meta, error.what());
    }
}

void write_image_array_to_shared_memory(const std::string& shared_mem_id,
                                        const cv::Mat& image_array)
{
    write_image_array_to_shared_memory(shared_mem_id, image_array, "");
}

void write_image_array_to_shared_memory(const std::string& shared_mem_id,
                                        const cv::Mat& image_array, const std::string& color_space,
                                        const UserMetadata& metadata)
{
    validate_id(shared_mem_id);
    const cv::Mat& a = image_array;
    const bool planar2d = a.dims == 2 && (a.type() == CV_8UC3 || a.type() == CV_8UC1);
    const bool shaped3d = a.dims == 3 && a.depth() == CV_8U && a.channels() == 1 &&
                          (a.size[2] == 1 || a.size[2] == 3) && a.step[2] == 1 &&
                          a.step[1] == static_cast<size_t>(a.size[2]);
    if (a.empty() || !(planar2d || shaped3d))
        throw std::invalid_argument(
            "write_image_array_to_shared_memory: expected an 8-bit array of shape (H,W,3), (H,W) "
            "or (H,W,1) (CV_8UC3 or CV_8UC1), got type " +
            cv::typeToString(a.type()) + " with " + std::to_string(a.dims) + " dimensions");
    const int height = a.size[0];
    const int width = a.size[1];
    const int channels = planar2d ? a.channels() : a.size[2];
    PixelFormat format = PixelFormat::GRAY8;
    if (channels == 3)
        format = color_space.empty() ? PixelFormat::Rgb3Unordered
                 : color_order_from_name(color_space) == ColorOrder::BGR ? PixelFormat::BGR
                                                                         : PixelFormat::RGB;
    FrameInfo info = packed_frame_info(format, width, height); // checks the size limits
    info.metadata = metadata;
    write_frame(shared_mem_id, info, cv::Mat(height, width, CV_8UC(channels), a.data, a.step[0]));
}

void dev_write_image_to_shared_memory(const std::string& shared_mem_id,
                                      const std::vector<uint8_t>& image_bytes,
                                      const UserMetadata& metadata)
{
    validate_id(shared_mem_id);
    if (image_bytes.empty())
        throw std::invalid_argument("dev_write_image_to_shared_memory: image_bytes is empty");
    if (image_bytes.size() > kMaxPayloadSize)
        throw std::invalid_argument(
            "dev_write_image_to_shared_memory: " + std::to_string(image_bytes.size()) +
            " bytes is more than the maximum frame size");
    const PixelFormat format =
        encoded_format_of(image_bytes.data(), image_bytes.size()).value_or(PixelFormat::Encoded);
    FrameInfo info; // the size of an encoded image is known once it is decoded
    info.format = format;
    info.plane_count = 1;
    info.payload_size = image_bytes.size();
    info.metadata = metadata;
    write_frame(shared_mem_id, info,
                cv::Mat(1, static_cast<int>(image_bytes.size()), CV_8U,
                        const_cast<uint8_t*>(image_bytes.data())));
}

void dev_clear_shared_memory(const std::string& shared_mem_id)
{
    validate_id(shared_mem_id);
    writers().forget(shared_mem_id);
    readers().forget(shared_mem_id);
    const std::string path = segment_path(shared_mem_id);
    if (unlink(path.c_str()) != 0 && errno != ENOENT)
        throw std::system_error(errno, std::generic_category(), "remove " + path);
}

} // namespace pvshm
