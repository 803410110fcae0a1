// SPDX-License-Identifier: LGPL-2.1-or-later
// `pvshm mirror srt://HOST:PORT ID`: the frames a `pvshm serve` sends, into an id of this host,
// as an SRT caller:
//   srtsrc uri=srt://HOST:PORT?mode=caller ! queue ! pvshmdepay ! pvshmsink shared-mem-id=ID
// Readers of ID see the sender's caps, camera id, user metadata and realtime capture times.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include <gst/gst.h>

#include <pvshm/frame.hpp>
#include <pvshm/shared_mem_id.hpp>

#include "srt_commands.hpp"
#include "srt_link.hpp"
#include "srt_stream_id.hpp"

namespace pvshm::cli {
namespace {

// How long the sender may send nothing before readers of the id see its writer as not alive:
// the sender stopped or the link went down. Readers must see it within 2 s. A sender sends a
// heartbeat every 0.5 s when it sends no frame, saying whether its own id's writer is alive
// (stream version 3), so a slow writer is not taken for a gone one, and a dead writer is seen
// at its sender's next heartbeat; a sender without heartbeats is seen dead between its frames.
constexpr gint64 kSilentSourceUs = 1'500'000;
// libsrt's connection timeout (SRTO_CONNTIMEO), which srtsrc leaves at its default.
constexpr int kConnectTimeoutSeconds = 3;
// Bytes received but not yet cut into frames: a few 1080p BGR frames.
constexpr size_t kSrtQueueBytes = 64 * 1024 * 1024;
// The largest frame taken by default: an 8K RGB frame (99.5 MB) fits. Each slot of the mirrored
// id holds one, so a sender's frame of the stream's own bound (1 GiB) would cost the receiving
// host's /dev/shm the slots times that.
constexpr uint64_t kDefaultMaxFrameSize = uint64_t{128} << 20;
// A frame's header and facts, beyond its pixels: the smallest --max-frame-size that takes any.
constexpr uint64_t kMinMaxFrameSize = 8192;

struct MirrorOptions
{
    std::string address;
    std::string id;
    std::optional<std::string> remote_id;
    SrtLinkOptions link;
    bool retry = false;
    uint64_t max_frame_size = kDefaultMaxFrameSize;
    // The mirrored segment's mode: readers of other users (a service's ids) need 0640 or 0644.
    unsigned perms = 0600;
};

bool contains(const std::string& text, const char* part)
{
    return text.find(part) != std::string::npos;
}

// The end of srtsrc's message for a connection the sender refused in its listen callback:
// pvshm serve does so for an id it does not serve (SRT_REJX_NOTFOUND, an application's reason).
constexpr const char* kRefusedByTheApplication = "Application-defined rejection reason";

// What srtsrc's message means here, or nullopt when it is not about the connection. `remote`:
// the id asked for.
std::optional<std::string> connection_problem(std::string text, const std::string& address,
                                              const std::string& remote)
{
    // srtsrc's warnings with auto-reconnect end so; the caller says what happens next.
    const size_t retrying = text.find(". Trying to reconnect");
    if (retrying != std::string::npos)
        text.erase(retrying);
    if (contains(text, "Incorrect passphrase"))
        return "the sender at " + address + " refused the passphrase: both ends need the same";
    if (contains(text, "Password required or unexpected"))
        return "the sender at " + address +
               " and this receiver disagree on encryption: one has a passphrase, the other "
               "--insecure";
    if (contains(text, kRefusedByTheApplication))
        return "the sender at " + address + " does not serve '" + remote +
               "' (give the sender's id with --remote-id; `pvshm serve` lists the ids it serves)";
    if (contains(text, "Connection timeout"))
        return "no answer from " + address + " within " + std::to_string(kConnectTimeoutSeconds) +
               " s: is `pvshm serve` running there, and its UDP port reachable?";
    if (contains(text, "Connection rejected") || contains(text, "Connection was broken") ||
        contains(text, "Unknown or erroneous") || contains(text, "Connection does not exist") ||
        contains(text, "Socket is being closed")) {
        // srtsrc's words for a peer that went away: the SRT error after its last ": ".
        const size_t reason = text.rfind(": ");
        return "the connection to " + address +
               " was lost: the sender stopped, or the network between the two hosts failed (SRT: " +
               (reason == std::string::npos ? text : text.substr(reason + 2)) + ")";
    }
    return std::nullopt;
}

// A refusal that trying again does not change: the passphrase, or an id the sender does not serve.
bool hopeless(const std::string& text)
{
    return contains(text, "passphrase") || contains(text, "Password") ||
           contains(text, kRefusedByTheApplication);
}

int run_mirror(const MirrorOptions& options)
{
    pvshm::validate_id(options.id);
    if (options.remote_id)
        pvshm::validate_id(*options.remote_id);
    const SrtAddress address = parse_srt_address(options.address, true);
    const std::string passphrase = link_passphrase(options.link, "mirror");

    LinkPipeline link = link_pipeline("mirror", {"srtsrc", "queue", "pvshmdepay", "pvshmsink"});
    GstElement* src = link.elements[0];
    GstElement* queue = link.elements[1];
    GstElement* depay = link.elements[2];
    GstElement* sink = link.elements[3];
    LinkOutput output("mirror");
    // srtsrc reads packets on its own thread while frames are checked and stored on another: a
    // receiver busy with a frame would otherwise let SRT's buffer fill and drop packets late.
    g_object_set(queue, "max-size-buffers", 0u, "max-size-time", guint64{0}, "max-size-bytes",
                 guint(kSrtQueueBytes), nullptr);
    g_object_set(
        src, "uri", srt_uri(address, "caller", usable_mss(options.link.mss, output)).c_str(),
        "latency", options.link.latency_ms, "auto-reconnect", gboolean(options.retry), nullptr);
    set_passphrase(src, passphrase);
    const std::string remote = options.remote_id.value_or(options.id);
    g_object_set(src, "streamid", srt_stream_id(remote, options.remote_id.has_value()).c_str(),
                 nullptr);
    g_object_set(depay, "max-frame-size", guint64(options.max_frame_size), nullptr);
    // Until frames flow, readers of the id see no live writer.
    g_object_set(sink, "source", options.address.c_str(), "source-alive", FALSE, nullptr);
    // Frames are stored as they arrive; their capture times are the sender's.
    g_object_set(sink, "shared-mem-id", options.id.c_str(), "sync", FALSE, "perms",
                 guint(options.perms), nullptr);

    guint64 last_bytes = 0;
    guint64 last_frames = 0;
    bool receiving = false;
    LinkHooks hooks;
    hooks.started = [&] {
        output.event("connecting to " + options.address + " for " + options.id + " (" +
                     (passphrase.empty() ? "unencrypted" : "encrypted") +
                     (options.retry ? ", retrying until Ctrl-C" : "") + ")");
    };
    hooks.status = [&](double seconds) {
        const guint64 frames = element_stat(depay, "frames");
        const guint64 bytes = element_stat(depay, "bytes-received");
        const guint64 drops = element_stat(depay, "drops");
        if (bytes > last_bytes && !receiving)
            output.event("receiving from " + options.address);
        receiving = bytes > last_bytes;
        char line[200];
        std::snprintf(
            line, sizeof line, "%s: %.1f frames/s, %llu frames, %llu drops, %.1f Mbit/s%s",
            options.id.c_str(), seconds > 0 ? double(frames - last_frames) / seconds : 0.0,
            static_cast<unsigned long long>(frames), static_cast<unsigned long long>(drops),
            seconds > 0 ? double(bytes - last_bytes) * 8 / seconds / 1e6 : 0.0,
            receiving ? "" : " (waiting for the sender)");
        last_frames = frames;
        last_bytes = bytes;
        return std::string(line);
    };
    bool source_alive = false;
    guint64 bytes_seen = 0;
    gint64 last_bytes_us = 0;
    const auto set_source_alive = [&](bool alive) {
        if (alive != source_alive)
            g_object_set(sink, "source-alive", gboolean(alive), nullptr);
        source_alive = alive;
    };
    // What the sender said of its writer last: a heartbeat says it, a frame means alive.
    bool sender_writer_alive = true;
    guint64 frames_seen = 0;
    guint64 heartbeats_seen = 0;
    hooks.watch = [&] {
        const guint64 bytes = element_stat(depay, "bytes-received");
        const guint64 frames = element_stat(depay, "frames");
        const guint64 heartbeats = element_stat(depay, "heartbeats");
        const gint64 now = g_get_monotonic_time();
        if (bytes != bytes_seen)
            last_bytes_us = now;
        if (heartbeats != heartbeats_seen)
            sender_writer_alive = element_flag(depay, "heartbeat-writer-alive");
        else if (frames != frames_seen)
            sender_writer_alive = true;
        bytes_seen = bytes;
        frames_seen = frames;
        heartbeats_seen = heartbeats;
        set_source_alive(last_bytes_us != 0 && now - last_bytes_us < kSilentSourceUs &&
                         sender_writer_alive);
    };
    hooks.explain_error = [&](GstMessage* message) {
        const std::string text = message_text(message);
        if (GST_MESSAGE_SRC(message) == GST_OBJECT(src))
            if (auto problem = connection_problem(text, options.address, remote))
                return *problem +
                       (options.retry || hopeless(text) ? "" : " (--retry keeps trying)");
        return text;
    };
    // With --retry, srtsrc warns at every attempt; only a passphrase or an id refused is hopeless.
    hooks.on_warning = [&](GstMessage* message) -> std::optional<std::string> {
        const std::string text = message_text(message);
        const auto problem = GST_MESSAGE_SRC(message) == GST_OBJECT(src)
                                 ? connection_problem(text, options.address, remote)
                                 : std::nullopt;
        if (problem && hopeless(text))
            return problem;
        if (problem) {
            receiving = false;
            set_source_alive(false);
            last_bytes_us = 0;
            output.event(*problem + ": trying again");
        } else {
            output.warning(text);
        }
        return std::nullopt;
    };
    return run_link(link, output, hooks);
}

} // namespace

void add_mirror_command(CLI::App& app, std::function<int()>& run)
{
    auto options = std::make_shared<MirrorOptions>();
    auto* mirror = app.add_subcommand(
        "mirror", "Receive the frames a `pvshm serve` sends into an id of this host (an SRT "
                  "caller), until Ctrl-C");
    mirror->add_option("ADDRESS", options->address, "srt://HOST:PORT of the sender")->required();
    mirror->add_option("ID", options->id, std::string("Shared-memory id to write: ") + kIdRule)
        ->required();
    mirror->add_option("--remote-id", options->remote_id,
                       "The id of the sender to mirror, when it serves several or names it "
                       "otherwise (default: ID; a sender of one id sends it whatever ID is)");
    add_srt_link_options(*mirror, options->link);
    mirror->add_flag("--retry", options->retry,
                     "Keep connecting when the sender is not there yet or goes away (default: "
                     "exit 1 when the connection fails or is lost)");
    mirror
        ->add_option("--max-frame-size", options->max_frame_size,
                     "Largest frame taken from the sender, in bytes (header and facts included); "
                     "a larger one is skipped and counted as a drop, so that a sender cannot "
                     "make this host hold slots of more")
        ->check(CLI::Range(kMinMaxFrameSize, pvshm::kMaxPayloadSize))
        ->capture_default_str();
    mirror
        ->add_option("--perms", options->perms,
                     "Mode of the id's segment, octal with its leading zero: 0600 (default) for "
                     "this user alone, 0640 for its group too (as pvshmsink's perms)")
        ->check(CLI::Range(0u, 0777u));
    mirror->footer("Exit status 1 on a bad id or address, a passphrase the sender refuses, a "
                   "sender that does not answer within 3 s or a lost connection (unless "
                   "--retry), or an id another writer holds.");
    mirror->callback([options, &run] { run = [options] { return run_mirror(*options); }; });
}

} // namespace pvshm::cli
