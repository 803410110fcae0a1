// SPDX-License-Identifier: LGPL-2.1-or-later
// What `pvshm serve` and `pvshm mirror` share: the srt:// address, the passphrase, making a
// pipeline, and running it until Ctrl-C with events and a status line on stderr.
#pragma once

#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gst/gst.h>

#include "console_output.hpp"
#include "srt_address.hpp"

namespace CLI {
class App;
}

namespace pvshm::cli {

// SRT's own bounds on a passphrase.
inline constexpr size_t kMinPassphraseLength = 10;
inline constexpr size_t kMaxPassphraseLength = 79;
// How often LinkHooks::watch looks at the link.
inline constexpr unsigned kWatchIntervalMs = 250;
// SRT's default receive latency (ms), the buffer that absorbs retransmissions.
inline constexpr int kDefaultSrtLatencyMs = 125;

// SRT options of the receiver for raw frames, which come in bursts of megabytes: buffers that
// hold a few 1080p BGR frames (SRT's 12 MB default holds two).
inline constexpr const char* kSrtBufferOptions = "sndbuf=67108864&rcvbuf=67108864&fc=51000";

// SRT's maximum segment size (SRTO_MSS): the bytes of an IP packet, an Ethernet MTU by default.
// --mss takes 576 (the datagram every IPv4 host takes) to 65535 (the largest IPv4 datagram), but
// libsrt 1.5 uses no more than 1500: a larger MSS fails the connection ("MSS size exceeds MTU
// size"), and live-mode packets carry at most 1456 bytes (SRT_LIVE_MAX_PLSIZE) anyway.
inline constexpr int kDefaultMss = 1500;
inline constexpr int kMinMss = 576;
inline constexpr int kMaxMss = 65535;
inline constexpr int kMaxSrtMss = 1500;

// The payload of one SRT packet for `mss` (SRTO_PAYLOADSIZE): what IPv4 (20 bytes), UDP (8) and
// SRT's data header (16) leave; 1456 for 1500, the largest live-mode packet, 10% fewer packets
// than SRT's default 1316 bytes.
constexpr int srt_payload_size(int mss)
{
    return mss - 20 - 8 - 16;
}

// The rate a sender sends each frame's packets at (SRT's maxbw), in Mbit/s: a gigabit link.
// SRT's alternative, 0, follows the input's average rate plus 25%: smooth, but a frame of
// megabytes then takes most of a frame interval to send (a 4K BGR frame at 1 frame/s, 0.77 s).
inline constexpr int kDefaultMaxBandwidthMbit = 1000;
inline constexpr int kMaxMaxBandwidthMbit = 100000;

// The address as srtsrc takes it, in `mode` (listener or caller), with kSrtBufferOptions and
// the payload size and MSS for `mss`. `address` is resolved.
std::string srt_uri(const SrtAddress& address, const char* mode, int mss);

// Parses srt://[HOST]:PORT (parse_srt_address_text) and resolves its host. Throws
// std::invalid_argument saying what is wrong.
SrtAddress parse_srt_address(const std::string& text, bool host_required);

// The options both commands take.
struct SrtLinkOptions
{
    std::optional<std::string> passphrase_file;
    bool insecure = false;
    int latency_ms = kDefaultSrtLatencyMs;
    int mss = kDefaultMss;
};
void add_srt_link_options(CLI::App& command, SrtLinkOptions& options);

// The passphrase of --passphrase-file (its first line), or "" with --insecure. Throws
// std::runtime_error when there is neither, or the file cannot be read, or the passphrase is not
// 10 to 79 characters. Warns on stderr when other users may read the file.
std::string link_passphrase(const SrtLinkOptions& options, const char* command);

// Sets the passphrase of an SRT element (none for ""). Throws std::runtime_error when the
// element did not take it, so that a link never runs unencrypted while it says it is encrypted.
void set_passphrase(GstElement* element, const std::string& passphrase);

// A pipeline and its elements, in the order they are linked.
struct LinkPipeline
{
    GstElement* pipeline = nullptr; // owned until run_link() takes it
    std::vector<GstElement*> elements;

    LinkPipeline() = default;
    LinkPipeline(LinkPipeline&& other) noexcept
        : pipeline(std::exchange(other.pipeline, nullptr)), elements(std::move(other.elements))
    {
    }
    LinkPipeline& operator=(LinkPipeline&&) = delete;
    ~LinkPipeline()
    {
        if (pipeline)
            gst_object_unref(pipeline);
    }
};

// Initialises GStreamer and makes a pipeline named `name` of elements made from `factories`,
// linked in that order (add_chain). No factories: an empty pipeline.
LinkPipeline link_pipeline(const char* name, std::initializer_list<const char*> factories);

// Adds elements made from `factories`, linked in that order, to the pipeline and to its
// elements, and returns them. Throws std::runtime_error naming the package to install when an
// element is missing (require_element), or when two do not link.
std::vector<GstElement*> add_chain(LinkPipeline& link,
                                   std::initializer_list<const char*> factories);

// The commands' lines on stderr.
using LinkOutput = ConsoleOutput;

// The MSS the link uses for --mss: at most kMaxSrtMss, with a warning saying why when less than
// asked.
int usable_mss(int mss, LinkOutput& output);

struct LinkHooks
{
    // The status line, once a second.
    std::function<std::string(double seconds)> status;
    // What an element's error means for the user (the message printed before exit 1).
    std::function<std::string(GstMessage* error)> explain_error;
    // Called for each warning: returns the message to exit 1 with, or nullopt to go on.
    std::function<std::optional<std::string>(GstMessage* warning)> on_warning;
    // Called once the pipeline plays.
    std::function<void()> started;
    // Called every kWatchIntervalMs while it plays.
    std::function<void()> watch;
};

// Plays the pipeline until SIGINT or SIGTERM (exit status 0), an error (1) or the end of the
// stream (0), then stops it and lets go of it.
int run_link(LinkPipeline& link, LinkOutput& output, LinkHooks& hooks);

// The text of a GStreamer error or warning message, with its debug details' last line (where the
// SRT elements put the reason).
std::string message_text(GstMessage* message);

// A guint64 field of an element's "stats" structure (0 when absent).
guint64 element_stat(GstElement* element, const char* field);
// A boolean field of an element's "stats" structure (false when absent).
bool element_flag(GstElement* element, const char* field);

} // namespace pvshm::cli
