// SPDX-License-Identifier: LGPL-2.1-or-later
// `pvshm snapshot`, `pvshm write` and `pvshm clear`: frames to and from image files.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fcntl.h>
#include <optional>
#include <stdexcept>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <pvshm/frame.hpp>
#include <pvshm/normalize.hpp>
#include <pvshm/pvshm.hpp>
#include <pvshm/reader.hpp>

#include "commands.hpp"
#include "segment_lookup.hpp"
#include "snapshot_image.hpp"

namespace pvshm::cli {
namespace {

const char* file_kind(mode_t mode)
{
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISSOCK(mode))
        return "a socket";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    return "not a regular file";
}

class FileDescriptor
{
public:
    explicit FileDescriptor(int fd) : fd_(fd) {}
    ~FileDescriptor() { ::close(fd_); }
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;
    int get() const { return fd_; }

private:
    int fd_;
};

// The bytes of a regular file that fits in a frame. What the file is and its size are checked
// on the open descriptor before anything is read, so that /dev/zero, a directory or a sparse
// 2 GB file is refused without reading it; O_NONBLOCK keeps the open of a FIFO from waiting for
// a writer.
std::vector<uint8_t> read_image_file(const std::string& file)
{
    const auto refuse = [&](const std::string& why) {
        return std::runtime_error("cannot read '" + file + "': " + why);
    };
    const int fd = ::open(file.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        const int open_errno = errno;
        struct stat st
        {
        };
        // A socket cannot be opened at all (ENXIO): say what it is rather than that errno.
        if (::stat(file.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
            throw refuse(std::string(file_kind(st.st_mode)) + ", not a regular file");
        throw refuse(std::strerror(open_errno));
    }
    const FileDescriptor descriptor(fd);
    struct stat st
    {
    };
    if (fstat(fd, &st) != 0)
        throw refuse(std::strerror(errno));
    if (!S_ISREG(st.st_mode))
        throw refuse(std::string(file_kind(st.st_mode)) + ", not a regular file");
    if (st.st_size == 0)
        throw std::runtime_error("'" + file + "' is empty: there is no image to store");
    const auto size = static_cast<uint64_t>(st.st_size);
    if (size > kMaxPayloadSize)
        throw std::runtime_error("'" + file + "' is " + std::to_string(size) +
                                 " bytes, more than the largest frame (" +
                                 std::to_string(kMaxPayloadSize) + " bytes)");
    std::vector<uint8_t> bytes(size);
    size_t filled = 0;
    while (filled < bytes.size()) {
        const ssize_t got = ::read(fd, bytes.data() + filled, bytes.size() - filled);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            throw refuse(std::strerror(errno));
        if (got == 0)
            break; // shrunk since fstat: store what is there
        filled += static_cast<size_t>(got);
    }
    if (filled == 0)
        throw std::runtime_error("'" + file + "' is empty: there is no image to store");
    bytes.resize(filled);
    return bytes;
}

// The writer of the id's segment when it is alive, else 0. Another user's segment is read too
// (only to learn its writer), and an unusable object has no writer to protect.
int32_t live_writer_pid(const std::string& id)
{
    ReaderOptions options;
    options.allow_other_owner = true;
    Reader reader(id, options);
    try {
        const auto status = reader.status();
        return status && status->writer_alive ? status->writer_pid : 0;
    } catch (const std::exception&) {
        return 0;
    }
}

} // namespace

cv::Mat snapshot_image(Reader& reader, ColorOrder order, bool raw, uint64_t& sequence)
{
    cv::Mat image;
    const auto view = reader.view_latest();
    if (!view)
        throw std::runtime_error("segment '" + reader.id() + "' holds no frame yet");
    const FrameInfo& info = view->info();
    if (raw && info.format == PixelFormat::GRAY16_LE) {
        cv::Mat(int(info.height), int(info.width), CV_16UC1, const_cast<uint8_t*>(view->plane(0)),
                info.strides[0])
            .copyTo(image);
    } else {
        cv::Mat rgb;
        normalize_to_rgb(info, view->data(), rgb, order);
        cv::cvtColor(rgb, image, cv::COLOR_RGB2BGR);
    }
    sequence = info.sequence;
    return image; // the view is let go before the slow part: encoding
}

int snapshot(const std::string& id, const std::string& file, const std::string& color_space,
             bool raw, const ReaderOptions& options)
{
    const ColorOrder order = color_order_from_name(color_space);
    // Checked first so that a bad name costs no read, and OpenCV's own error stays unseen.
    if (!cv::haveImageWriter(file))
        throw std::runtime_error("cannot write '" + file +
                                 "': no image format for its extension (use .png)");
    Reader reader(id, options);
    require_segment(reader);
    uint64_t sequence = 0;
    const cv::Mat image = snapshot_image(reader, order, raw, sequence);
    if (!cv::imwrite(file, image))
        throw std::runtime_error("cannot write '" + file + "'");
    std::printf("wrote frame #%llu of '%s' (%dx%d) to %s\n",
                static_cast<unsigned long long>(sequence), id.c_str(), image.cols, image.rows,
                file.c_str());
    return 0;
}

int write_image_file(const std::string& id, const std::string& file)
{
    validate_id(id); // an invalid id is refused before the file is read
    const std::vector<uint8_t> bytes = read_image_file(file);
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

int clear(const std::vector<std::string>& ids, bool force)
{
    for (const std::string& id : ids)
        validate_id(id); // one invalid id: nothing is removed
    const std::vector<std::string> listed = list_segment_ids();
    int status = 0;
    for (const std::string& id : ids) {
        if (std::find(listed.begin(), listed.end(), id) == listed.end()) {
            std::fprintf(stderr, "pvshm: no segment with id '%s' to clear (see `pvshm list`)\n",
                         id.c_str());
            status = 1;
            continue;
        }
        try {
            if (const int32_t pid = force ? 0 : live_writer_pid(id)) {
                std::fprintf(stderr,
                             "pvshm: not clearing '%s': its writer (pid %d) is alive; --force "
                             "clears it anyway\n",
                             id.c_str(), static_cast<int>(pid));
                status = 1;
                continue;
            }
            dev_clear_shared_memory(id);
        } catch (const std::exception& error) {
            std::fprintf(stderr, "pvshm: cannot clear '%s': %s\n", id.c_str(), error.what());
            status = 1;
        }
    }
    return status;
}

int clear_dead()
{
    int status = 0;
    for (const std::string& id : list_segment_ids()) {
        std::optional<SegmentStatus> segment;
        try {
            segment = Reader(id).status();
        } catch (const std::exception& error) {
            // Whose writer cannot be told: left for `pvshm clear ID` to remove by name.
            std::fprintf(stderr, "pvshm: skipped '%s': %s\n", id.c_str(),
                         error_text(error, "`pvshm clear " + id + "`").c_str());
            continue;
        }
        if (!segment || segment->writer_alive)
            continue;
        try {
            dev_clear_shared_memory(id);
        } catch (const std::exception& error) {
            std::fprintf(stderr, "pvshm: cannot clear '%s': %s\n", id.c_str(), error.what());
            status = 1;
            continue;
        }
        if (segment->writer_pid != 0)
            std::printf("cleared '%s' (writer pid %d gone)\n", id.c_str(),
                        static_cast<int>(segment->writer_pid));
        else
            std::printf("cleared '%s'\n", id.c_str());
    }
    return status;
}

} // namespace pvshm::cli
