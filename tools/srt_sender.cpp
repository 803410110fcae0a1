// SPDX-License-Identifier: LGPL-2.1-or-later
#include "srt_sender.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cstring>
#include <map>
#include <netdb.h>
#include <srt/access_control.h>
#include <srt/srt.h>
#include <stdexcept>
#include <sys/socket.h>
#include <utility>

#include "srt_link.hpp"
#include "srt_stream_id.hpp"
#include "stream_format.hpp"

namespace pvshm::cli {
namespace {

// The most a receiver's send buffer may hold (SRTO_SNDBUF), in bytes: two of the largest frames
// a mirror takes by default (128 MiB). libsrt allocates it as it fills, and a receiver is sent a
// frame only when its backlog is at most a frame, so a receiver never holds much more than two.
constexpr int kSendBufferBytes = 256 << 20;
// libsrt drops a packet the receiver has not acknowledged after the latency and this much more
// (SRT_TLPKTDROP_MINTHRESHOLD_MS), but only when it is given something to send.
constexpr gint64 kSenderDropAfterLatencyUs = 1'000'000;
// A receiver sent no frame for this long is sent a heartbeat: the sender's writer_alive, so that
// its host tells a sender whose writer is slow or dead from one that is gone.
constexpr gint64 kHeartbeatIntervalUs = 500'000;
// How often the listener looks for receivers that left, sends the frames receivers were behind
// for to those that caught up, and looks for the end, in ms.
constexpr int kPollIntervalMs = 20;

std::string peer_text(const sockaddr* peer)
{
    char host[NI_MAXHOST] = "";
    char port[NI_MAXSERV] = "";
    const socklen_t length =
        peer->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
    if (getnameinfo(peer, length, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        return "an unknown address";
    return peer->sa_family == AF_INET6 ? "[" + std::string(host) + "]:" + port
                                       : std::string(host) + ":" + port;
}

// libsrt's last error, with the system's reason when there is one.
std::string srt_error_text()
{
    int system_error = 0;
    srt_getlasterror(&system_error);
    std::string text = srt_getlasterror_str();
    if (system_error != 0 && text.find(std::strerror(system_error)) == std::string::npos)
        text += std::string(" (") + std::strerror(system_error) + ")";
    return text;
}

void set_flag(int socket, SRT_SOCKOPT option, const void* value, int length, const char* name)
{
    if (srt_setsockflag(socket, option, value, length) == SRT_ERROR)
        throw std::runtime_error(std::string("cannot set SRT's ") + name + ": " + srt_error_text());
}

void set_int(int socket, SRT_SOCKOPT option, int value, const char* name)
{
    set_flag(socket, option, &value, sizeof value, name);
}

// Calls `packet(data, size)` for each piece of at most `payload` bytes of the buffer's bytes,
// in order, copying only the pieces that straddle two of its memories. Stops at the first
// `packet` that returns false; returns whether every one was taken.
template <typename Packet>
bool for_each_packet(GstBuffer* buffer, size_t payload, std::vector<char>& carry, Packet packet)
{
    carry.resize(payload);
    size_t carried = 0;
    const guint memories = gst_buffer_n_memory(buffer);
    for (guint i = 0; i < memories; ++i) {
        GstMemory* memory = gst_buffer_peek_memory(buffer, i);
        GstMapInfo map;
        if (!gst_memory_map(memory, &map, GST_MAP_READ))
            return false;
        const char* data = reinterpret_cast<const char*>(map.data);
        size_t left = map.size;
        bool taken = true;
        if (carried > 0) {
            const size_t more = std::min(left, payload - carried);
            std::memcpy(carry.data() + carried, data, more);
            carried += more;
            data += more;
            left -= more;
            if (carried == payload) {
                taken = packet(carry.data(), carried);
                carried = 0;
            }
        }
        while (taken && left >= payload) {
            taken = packet(data, payload);
            data += payload;
            left -= payload;
        }
        if (taken && left > 0) {
            std::memcpy(carry.data(), data, left);
            carried = left;
        }
        gst_memory_unmap(memory, &map);
        if (!taken)
            return false;
    }
    return carried == 0 || packet(carry.data(), carried);
}

} // namespace

struct SrtSender::Receiver
{
    int socket = -1;
    std::string id;
    std::string peer;
    size_t payload_size = 0; // bytes of each packet
    std::atomic<uint64_t> frames_sent{0};
    std::atomic<uint64_t> frames_skipped{0};
    std::atomic<bool> broken{false};
    std::mutex lock; // guards what follows: the frame's thread and the listener's send
    // The newest frame it was behind for, sent when it catches up unless a newer one comes.
    GstBuffer* pending = nullptr;
    // Since when its backlog has been over a frame (0: it is not).
    gint64 behind_since_us = 0;
    // When it was last sent a frame or a heartbeat (or connected).
    gint64 last_record_us = g_get_monotonic_time();
    std::vector<char> carry;

    ~Receiver()
    {
        if (pending)
            gst_buffer_unref(pending);
    }
};

SrtSender::SrtSender(SrtSenderOptions options, Event event)
    : options_(std::move(options)), event_(std::move(event)),
      stale_after_us_(gint64{options_.latency_ms} * 1000 + kSenderDropAfterLatencyUs +
                      kPollIntervalMs * 1000)
{
    srt_startup();
    // libsrt tells of a receiver refused for its passphrase only in its log.
    srt_setloglevel(LOG_WARNING);
    srt_setloghandler(this, on_log);
    listener_ = srt_create_socket();
    try {
        // Sends never wait: a receiver is given a frame only when it has room for it.
        set_int(listener_, SRTO_SNDSYN, 0, "send mode");
        set_int(listener_, SRTO_RCVSYN, 0, "accept mode");
        set_int(listener_, SRTO_MSS, options_.mss, "maximum segment size");
        set_int(listener_, SRTO_PAYLOADSIZE, srt_payload_size(options_.mss), "payload size");
        set_int(listener_, SRTO_SNDBUF, kSendBufferBytes, "send buffer size");
        set_int(listener_, SRTO_LATENCY, options_.latency_ms, "latency");
        const int64_t max_bandwidth = int64_t{options_.max_bandwidth_mbit} * 1'000'000 / 8;
        set_flag(listener_, SRTO_MAXBW, &max_bandwidth, sizeof max_bandwidth, "bandwidth");
        if (!options_.passphrase.empty())
            set_flag(listener_, SRTO_PASSPHRASE, options_.passphrase.data(),
                     int(options_.passphrase.size()), "passphrase");

        sockaddr_storage address{};
        socklen_t length = 0;
        const std::string& host = options_.address.host;
        if (host.find(':') != std::string::npos) {
            auto& v6 = reinterpret_cast<sockaddr_in6&>(address);
            v6.sin6_family = AF_INET6;
            v6.sin6_port = htons(uint16_t(options_.address.port));
            inet_pton(AF_INET6, host.c_str(), &v6.sin6_addr);
            length = sizeof v6;
        } else {
            auto& v4 = reinterpret_cast<sockaddr_in&>(address);
            v4.sin_family = AF_INET;
            v4.sin_port = htons(uint16_t(options_.address.port));
            if (host.empty())
                v4.sin_addr.s_addr = htonl(INADDR_ANY);
            else
                inet_pton(AF_INET, host.c_str(), &v4.sin_addr);
            length = sizeof v4;
        }
        if (srt_bind(listener_, reinterpret_cast<sockaddr*>(&address), int(length)) == SRT_ERROR)
            throw std::runtime_error("cannot bind to " + (host.empty() ? "0.0.0.0" : host) + ":" +
                                     std::to_string(options_.address.port) + ": " +
                                     srt_error_text());
        srt_listen_callback(listener_, on_listen, this);
        if (srt_listen(listener_, 16) == SRT_ERROR)
            throw std::runtime_error(srt_error_text());
    } catch (...) {
        srt_close(listener_);
        srt_setloghandler(nullptr, nullptr);
        srt_cleanup();
        throw;
    }
    poll_ = srt_epoll_create();
    const int events = SRT_EPOLL_IN | SRT_EPOLL_ERR;
    srt_epoll_add_usock(poll_, listener_, &events);
    acceptor_ = std::thread([this] { accept_loop(); });
}

SrtSender::~SrtSender()
{
    stopping_ = true;
    acceptor_.join();
    srt_epoll_release(poll_);
    for (const auto& receiver : receivers_)
        srt_close(receiver->socket);
    srt_close(listener_);
    srt_setloghandler(nullptr, nullptr);
    srt_cleanup();
}

int SrtSender::on_listen(void* data, int socket, int, const sockaddr* peer, const char* stream_id)
{
    auto& self = *static_cast<SrtSender*>(data);
    const std::string asked = stream_id ? stream_id : "";
    if (requested_id(asked, self.options_.ids))
        return 0;
    const std::string named = named_id(asked);
    std::string served;
    for (const std::string& id : self.options_.ids)
        served += (served.empty() ? "" : ", ") + id;
    self.event_("refused a receiver from " + peer_text(peer) + " asking for " +
                (named.empty() ? std::string("no id") : "'" + named + "'") +
                ": this sender serves " + served);
    srt_setrejectreason(socket, SRT_REJX_NOTFOUND);
    return -1;
}

void SrtSender::on_log(void* data, int, const char*, int, const char*, const char* message)
{
    if (std::strstr(message, "rejecting per enforced encryption"))
        static_cast<SrtSender*>(data)->event_(
            "refused a receiver whose passphrase is not this one");
}

void SrtSender::accept_loop()
{
    while (!stopping_) {
        SRTSOCKET ready[4];
        int count = 4;
        if (srt_epoll_wait(poll_, ready, &count, nullptr, nullptr, kPollIntervalMs, nullptr,
                           nullptr, nullptr, nullptr) > 0)
            accept_one();
        remove_broken();
        serve_receivers();
    }
}

void SrtSender::accept_one()
{
    sockaddr_storage peer{};
    int length = sizeof peer;
    const SRTSOCKET socket = srt_accept(listener_, reinterpret_cast<sockaddr*>(&peer), &length);
    if (socket == SRT_INVALID_SOCK)
        return;
    char stream_id[512] = "";
    int stream_id_length = sizeof stream_id;
    srt_getsockflag(socket, SRTO_STREAMID, stream_id, &stream_id_length);
    const auto id = requested_id(std::string(stream_id, size_t(stream_id_length)), options_.ids);
    if (!id) {
        srt_close(socket);
        return;
    }
    auto receiver = std::make_shared<Receiver>();
    // The MSS is the smaller of the two ends' (a receiver with a smaller --mss reads no larger
    // packet).
    int mss = options_.mss;
    int mss_length = sizeof mss;
    srt_getsockflag(socket, SRTO_MSS, &mss, &mss_length);
    receiver->payload_size = size_t(srt_payload_size(std::min(mss, options_.mss)));
    receiver->socket = socket;
    receiver->id = *id;
    receiver->peer = peer_text(reinterpret_cast<sockaddr*>(&peer));
    {
        std::lock_guard<std::mutex> guard(lock_);
        receivers_.push_back(receiver);
    }
    event_("receiver connected from " + receiver->peer +
           (options_.ids.size() > 1 ? " for " + *id : ""));
}

void SrtSender::remove_broken()
{
    std::vector<std::shared_ptr<Receiver>> gone;
    {
        std::lock_guard<std::mutex> guard(lock_);
        auto left = std::stable_partition(
            receivers_.begin(), receivers_.end(), [](const std::shared_ptr<Receiver>& receiver) {
                return !receiver->broken && srt_getsockstate(receiver->socket) == SRTS_CONNECTED;
            });
        gone.assign(left, receivers_.end());
        receivers_.erase(left, receivers_.end());
    }
    for (const auto& receiver : gone) {
        {
            // Not while a frame's thread that took it before it left sends to it.
            std::lock_guard<std::mutex> guard(receiver->lock);
            srt_close(receiver->socket);
        }
        event_("receiver from " + receiver->peer + " left (" +
               std::to_string(receiver->frames_sent.load()) + " frames sent, " +
               std::to_string(receiver->frames_skipped.load()) + " skipped)");
    }
}

void SrtSender::send(const std::string& id, GstBuffer* frame)
{
    std::vector<std::shared_ptr<Receiver>> mine;
    {
        std::lock_guard<std::mutex> guard(lock_);
        for (const auto& receiver : receivers_)
            if (receiver->id == id && !receiver->broken)
                mine.push_back(receiver);
    }
    for (const auto& receiver : mine) {
        std::lock_guard<std::mutex> guard(receiver->lock);
        // Newest wins: the frame it was behind for is not sent any more.
        if (receiver->pending) {
            gst_buffer_unref(std::exchange(receiver->pending, nullptr));
            receiver->frames_skipped++;
        }
        if (!offer(*receiver, frame, true))
            receiver->pending = gst_buffer_ref(frame);
    }
}

void SrtSender::serve_receivers()
{
    std::vector<std::shared_ptr<Receiver>> all;
    {
        std::lock_guard<std::mutex> guard(lock_);
        all = receivers_;
    }
    std::map<std::string, std::vector<uint8_t>> heartbeats; // by id, made once each time
    for (const auto& receiver : all) {
        std::lock_guard<std::mutex> guard(receiver->lock);
        if (receiver->pending && offer(*receiver, receiver->pending, false))
            gst_buffer_unref(std::exchange(receiver->pending, nullptr));
        if (receiver->pending ||
            g_get_monotonic_time() - receiver->last_record_us < kHeartbeatIntervalUs)
            continue;
        auto heartbeat = heartbeats.find(receiver->id);
        if (heartbeat == heartbeats.end()) {
            const IdLiveness liveness =
                options_.liveness ? options_.liveness(receiver->id) : IdLiveness{};
            heartbeat =
                heartbeats
                    .emplace(receiver->id, stream::encode_heartbeat(liveness.writer_alive,
                                                                    liveness.newest_sequence,
                                                                    g_get_real_time() * 1000))
                    .first;
        }
        const std::vector<uint8_t>& bytes = heartbeat->second;
        if (srt_sendmsg2(receiver->socket, reinterpret_cast<const char*>(bytes.data()),
                         int(bytes.size()), nullptr) == SRT_ERROR &&
            srt_getsockstate(receiver->socket) != SRTS_CONNECTED)
            receiver->broken = true;
        receiver->last_record_us = g_get_monotonic_time();
    }
}

bool SrtSender::offer(Receiver& receiver, GstBuffer* frame, bool new_frame)
{
    const size_t size = gst_buffer_get_size(frame);
    const size_t packets = (size + receiver.payload_size - 1) / receiver.payload_size;
    size_t blocks = 0;
    size_t bytes = 0;
    if (srt_getsndbuffer(receiver.socket, &blocks, &bytes) == SRT_ERROR) {
        receiver.broken = true;
        return true;
    }
    if ((blocks + packets) * receiver.payload_size > size_t(kSendBufferBytes))
        return false;
    // Packets lost at the end of what was sent (the link went down for a while) are never asked
    // for again, and libsrt drops them as too late only when it sends: a receiver behind for
    // longer than that is sent the new frame, which lets libsrt drop what is stale.
    if (bytes > size) {
        const gint64 now = g_get_monotonic_time();
        if (receiver.behind_since_us == 0)
            receiver.behind_since_us = now;
        if (!new_frame || now - receiver.behind_since_us < stale_after_us_)
            return false;
    }
    receiver.behind_since_us = 0;
    const bool whole = for_each_packet(
        frame, receiver.payload_size, receiver.carry, [&](const char* data, size_t length) {
            return srt_sendmsg2(receiver.socket, data, int(length), nullptr) != SRT_ERROR;
        });
    receiver.last_record_us = g_get_monotonic_time();
    if (whole) {
        receiver.frames_sent++;
    } else {
        // Only a connection that broke refuses a packet the backlog had room for.
        receiver.frames_skipped++;
        if (srt_getsockstate(receiver.socket) != SRTS_CONNECTED)
            receiver.broken = true;
    }
    return true;
}

std::vector<ReceiverCounts> SrtSender::receivers()
{
    std::lock_guard<std::mutex> guard(lock_);
    std::vector<ReceiverCounts> counts;
    for (const auto& receiver : receivers_) {
        SRT_TRACEBSTATS stats{};
        srt_bstats(receiver->socket, &stats, 0);
        counts.push_back({receiver->id, receiver->peer, receiver->frames_sent.load(),
                          receiver->frames_skipped.load(), stats.byteSentUniqueTotal});
    }
    return counts;
}

} // namespace pvshm::cli
