// SPDX-License-Identifier: LGPL-2.1-or-later
// The sending side of `pvshm serve` on libsrt: a listener that takes receivers, each asking for
// one of the served ids by its SRT stream id, and sends them whole frames, newest first: a
// receiver whose send backlog is over a frame (its link, its host or itself cannot keep up) is
// skipped for the frame in hand, and its connection stays up. Each frame a receiver misses is a
// gap in the sender's sequence numbers, which the receiving host counts as a drop.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gst/gst.h>

#include "srt_address.hpp"

struct sockaddr;

namespace pvshm::cli {

// What the sender's id says of its writer, sent in heartbeats.
struct IdLiveness
{
    bool writer_alive = false;
    uint64_t newest_sequence = 0; // 0: no frame yet
};

struct SrtSenderOptions
{
    SrtAddress address; // resolved; host "" listens on every IPv4 address
    std::vector<std::string> ids;
    std::string passphrase; // "" sends unencrypted
    int latency_ms = 0;
    int max_bandwidth_mbit = 0; // 0: the input's rate plus 25%
    int mss = 0;                // SRT's maximum segment size (bytes of an IP packet)
    // Asked from the listener's thread when a receiver has been sent nothing for a while.
    std::function<IdLiveness(const std::string& id)> liveness;
};

// What one receiver was given so far.
struct ReceiverCounts
{
    std::string id;
    std::string peer;
    uint64_t frames_sent = 0;    // handed to SRT whole
    uint64_t frames_skipped = 0; // its backlog was over a frame when they came
    uint64_t bytes_sent = 0;     // SRT's count of bytes sent, each once (no retransmission)
};

class SrtSender
{
public:
    using Event = std::function<void(const std::string&)>;

    // Listens at once. Throws std::runtime_error when it cannot (the port is in use). `event`
    // is told of receivers coming, going and refused, from libsrt's threads.
    SrtSender(SrtSenderOptions options, Event event);
    ~SrtSender();
    SrtSender(const SrtSender&) = delete;
    SrtSender& operator=(const SrtSender&) = delete;

    // Sends one frame of `id` (a pvshmpay buffer) to the receivers of that id that can take it.
    // One thread per id may call it.
    void send(const std::string& id, GstBuffer* frame);

    // The receivers connected now.
    std::vector<ReceiverCounts> receivers();

private:
    struct Receiver;
    static int on_listen(void* self, int socket, int version, const sockaddr* peer,
                         const char* stream_id);
    static void on_log(void* self, int level, const char* file, int line, const char* area,
                       const char* message);
    void accept_loop();
    void accept_one();
    void remove_broken();
    // Sends each receiver the frame it was behind for if it caught up, or a heartbeat if it was
    // sent nothing for kHeartbeatIntervalUs.
    void serve_receivers();
    // Sends the frame whole to the receiver if its backlog leaves room for it (a new frame: or
    // if it has been behind for longer than libsrt keeps packets); returns whether it is done
    // with the frame (sent, or the receiver is gone). Called with its lock held.
    bool offer(Receiver& receiver, GstBuffer* frame, bool new_frame);

    const SrtSenderOptions options_;
    const Event event_;
    const gint64 stale_after_us_; // when libsrt drops what a receiver has not acknowledged
    int listener_ = -1;
    int poll_ = -1;
    std::mutex lock_; // guards receivers_
    std::vector<std::shared_ptr<Receiver>> receivers_;
    std::atomic<bool> stopping_{false};
    std::thread acceptor_;
};

} // namespace pvshm::cli
