// SPDX-License-Identifier: LGPL-2.1-or-later
// One id at one picture width as multipart/x-mixed-replace JPEG, to any number of viewers.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <glib.h>
#include <libsoup/soup.h>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <pvshm/reader.hpp>

#include "frame_jpeg.hpp"

namespace pvshm::cli {

// A thread waits for the id's frames and encodes each one once (FrameJpeg), whatever the number
// of viewers; the main loop hands the newest picture to each viewer that has written the one
// before. A viewer that reads slowly skips pictures: it never has more than one in its response
// body, shared with the other viewers (no copy), so a stalled client costs one picture and its
// socket buffer. Lives in a shared_ptr; every call but the thread's own is on the main loop.
class MjpegStream : public std::enable_shared_from_this<MjpegStream>
{
public:
    static constexpr const char* kBoundary = "pvshm-frame";

    MjpegStream(std::string id, uint32_t width, ReaderOptions options);
    ~MjpegStream();
    MjpegStream(const MjpegStream&) = delete;
    MjpegStream& operator=(const MjpegStream&) = delete;

    // Starts the encoder thread (once the object is owned by a shared_ptr).
    void start();
    // Answers `message` (200, multipart/x-mixed-replace) with the pictures from now on, and the
    // newest one already made at once.
    void add_viewer(SoupServerMessage* message);
    size_t viewers() const { return viewers_.size(); }
    // Pictures encoded so far.
    uint64_t pictures() const;

private:
    struct Viewer;

    void run();
    void publish(GBytes* part);
    static gboolean deliver(gpointer stream);
    // Appends the newest picture unless the viewer had it already (or `again`).
    void send(Viewer& viewer, bool again = false);
    static gboolean resend(gpointer stream);
    static void wrote_chunk(SoupServerMessage* message, Viewer* viewer);
    static void finished(SoupServerMessage* message, Viewer* viewer);
    void forget(Viewer* viewer);

    const std::string id_;
    // Made on the main loop (where a failure is answered), used by the thread alone.
    Reader reader_;
    FrameJpeg encoder_;

    mutable std::mutex lock_;
    std::condition_variable stop_signal_;
    bool stop_ = false;
    GBytes* latest_ = nullptr; // the newest part (headers, JPEG, next delimiter), under lock_
    uint64_t published_ = 0;   // parts published, under lock_
    bool delivery_pending_ = false;

    std::list<std::unique_ptr<Viewer>> viewers_; // main loop only
    guint resend_ = 0;
    std::thread thread_;
};

} // namespace pvshm::cli
