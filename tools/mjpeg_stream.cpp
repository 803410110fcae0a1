// SPDX-License-Identifier: LGPL-2.1-or-later
#include "mjpeg_stream.hpp"

#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <pvshm/error.hpp>

#include "commands.hpp"

namespace pvshm::cli {
namespace {

// How often the thread looks whether it must stop while no frame comes.
constexpr auto kStopCheck = std::chrono::milliseconds(100);
// How long it waits before looking again at an id whose object cannot be read.
constexpr auto kRetryUnusable = std::chrono::seconds(1);
// How often an idle viewer (no new frame) is sent the newest picture again: a client that left
// is only seen when a write to it fails, and it would otherwise hold its connection for as long
// as the id stalls.
constexpr guint kResendIntervalSeconds = 1;

// One part of the multipart body: its headers, the picture, and the delimiter of the next part.
// Ending each part with the next delimiter (as mjpg-streamer does) lets a browser show the
// picture at once: Chromium's multipart parser only ends a part when it sees a delimiter, and
// would otherwise show each picture a frame interval late, when the next one comes.
GBytes* make_part(const std::vector<uint8_t>& jpeg)
{
    std::string part =
        "Content-Type: image/jpeg\r\nContent-Length: " + std::to_string(jpeg.size()) + "\r\n\r\n";
    part.append(reinterpret_cast<const char*>(jpeg.data()), jpeg.size());
    part += std::string("\r\n--") + MjpegStream::kBoundary + "\r\n";
    return g_bytes_new(part.data(), part.size());
}

} // namespace

struct MjpegStream::Viewer
{
    MjpegStream* stream;
    SoupServerMessage* message; // a reference of its own
    unsigned writing = 0;       // chunks appended and not written yet
    bool started = false;       // the first delimiter was sent
    uint64_t sent = 0;          // the number of the part last appended
    bool idle = false;          // nothing appended since the last resend tick
};

MjpegStream::MjpegStream(std::string id, uint32_t width, ReaderOptions options)
    : id_(std::move(id)), reader_(id_, std::move(options)), encoder_(width)
{
    resend_ = g_timeout_add_seconds(kResendIntervalSeconds, resend, this);
}

MjpegStream::~MjpegStream()
{
    {
        std::lock_guard lock(lock_);
        stop_ = true;
    }
    stop_signal_.notify_all();
    if (thread_.joinable())
        thread_.join();
    g_source_remove(resend_);
    for (const auto& viewer : viewers_) {
        g_signal_handlers_disconnect_by_data(viewer->message, viewer.get());
        g_object_unref(viewer->message);
    }
    if (latest_)
        g_bytes_unref(latest_);
}

void MjpegStream::start()
{
    thread_ = std::thread([this] { run(); });
}

uint64_t MjpegStream::pictures() const
{
    std::lock_guard lock(lock_);
    return published_;
}

void MjpegStream::run()
{
    bool reported = false;
    const auto report = [&](const std::exception& error) {
        if (!reported)
            std::fprintf(stderr, "pvshm web: %s: %s\n", id_.c_str(), error_text(error).c_str());
        reported = true;
    };
    std::vector<uint8_t> jpeg;
    while (true) {
        {
            std::lock_guard lock(lock_);
            if (stop_)
                return;
        }
        try {
            if (!reader_.wait(kStopCheck))
                continue;
            auto view = reader_.view_latest();
            if (!view)
                continue;
            jpeg.clear();
            encoder_.encode(std::move(*view), jpeg);
            publish(make_part(jpeg));
            reported = false;
        } catch (const SegmentError& error) {
            report(error);
            std::unique_lock lock(lock_);
            stop_signal_.wait_for(lock, kRetryUnusable, [this] { return stop_; });
        } catch (const std::exception& error) {
            report(error); // a frame that does not decode: the next one may
        }
    }
}

void MjpegStream::publish(GBytes* part)
{
    std::lock_guard lock(lock_);
    if (latest_)
        g_bytes_unref(latest_);
    latest_ = part;
    ++published_;
    if (delivery_pending_)
        return;
    delivery_pending_ = true;
    // Runs on the main loop; the stream may be gone by then, hence the weak reference.
    g_idle_add_full(G_PRIORITY_DEFAULT, deliver, new std::weak_ptr<MjpegStream>(weak_from_this()),
                    [](gpointer weak) { delete static_cast<std::weak_ptr<MjpegStream>*>(weak); });
}

gboolean MjpegStream::deliver(gpointer weak)
{
    if (auto stream = static_cast<std::weak_ptr<MjpegStream>*>(weak)->lock()) {
        {
            std::lock_guard lock(stream->lock_);
            stream->delivery_pending_ = false;
        }
        for (const auto& viewer : stream->viewers_)
            if (viewer->writing == 0)
                stream->send(*viewer);
    }
    return G_SOURCE_REMOVE;
}

void MjpegStream::add_viewer(SoupServerMessage* message)
{
    soup_server_message_set_status(message, SOUP_STATUS_OK, nullptr);
    SoupMessageHeaders* headers = soup_server_message_get_response_headers(message);
    soup_message_headers_replace(
        headers, "Content-Type",
        (std::string("multipart/x-mixed-replace;boundary=") + kBoundary).c_str());
    soup_message_headers_replace(headers, "Cache-Control", "no-store");
    soup_message_headers_set_encoding(headers,
                                      soup_server_message_get_http_version(message) == SOUP_HTTP_1_0
                                          ? SOUP_ENCODING_EOF
                                          : SOUP_ENCODING_CHUNKED);
    // Written parts are let go at once rather than kept for the whole response.
    soup_message_body_set_accumulate(soup_server_message_get_response_body(message), FALSE);

    auto viewer = std::make_unique<Viewer>();
    viewer->stream = this;
    viewer->message = SOUP_SERVER_MESSAGE(g_object_ref(message));
    g_signal_connect(message, "wrote-chunk", G_CALLBACK(wrote_chunk), viewer.get());
    g_signal_connect(message, "finished", G_CALLBACK(finished), viewer.get());
    viewers_.push_back(std::move(viewer));
    send(*viewers_.back());
}

gboolean MjpegStream::resend(gpointer data)
{
    auto* stream = static_cast<MjpegStream*>(data);
    for (const auto& viewer : stream->viewers_) {
        if (viewer->idle && viewer->writing == 0)
            stream->send(*viewer, true);
        viewer->idle = true;
    }
    return G_SOURCE_CONTINUE;
}

void MjpegStream::send(Viewer& viewer, bool again)
{
    GBytes* part = nullptr;
    uint64_t number = 0;
    {
        std::lock_guard lock(lock_);
        if (!latest_ || (published_ == viewer.sent && !again))
            return;
        part = g_bytes_ref(latest_);
        number = published_;
    }
    SoupMessageBody* body = soup_server_message_get_response_body(viewer.message);
    if (!viewer.started) {
        const std::string delimiter = std::string("--") + kBoundary + "\r\n";
        soup_message_body_append(body, SOUP_MEMORY_COPY, delimiter.data(), delimiter.size());
        ++viewer.writing;
        viewer.started = true;
    }
    soup_message_body_append_bytes(body, part);
    g_bytes_unref(part);
    ++viewer.writing;
    viewer.idle = false;
    viewer.sent = number;
    soup_server_message_unpause(viewer.message);
}

void MjpegStream::wrote_chunk(SoupServerMessage*, Viewer* viewer)
{
    --viewer->writing;
    if (viewer->writing > 0)
        return;
    viewer->stream->send(*viewer);
}

void MjpegStream::finished(SoupServerMessage*, Viewer* viewer)
{
    viewer->stream->forget(viewer);
}

void MjpegStream::forget(Viewer* viewer)
{
    for (auto it = viewers_.begin(); it != viewers_.end(); ++it) {
        if (it->get() != viewer)
            continue;
        g_signal_handlers_disconnect_by_data(viewer->message, viewer);
        g_object_unref(viewer->message);
        viewers_.erase(it);
        return;
    }
}

} // namespace pvshm::cli
