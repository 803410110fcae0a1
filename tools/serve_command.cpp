// SPDX-License-Identifier: LGPL-2.1-or-later
// `pvshm serve ID srt://[HOST]:PORT`: every frame of an id, with its facts, to the hosts that
// mirror it, as an SRT listener:
//   pvshmsrc shared-mem-id=ID mode=all ! pvshmpay ! srtsink uri=srt://HOST:PORT?mode=listener
// Any number of receivers may connect at once and come and go; frames go to nobody while none
// is connected.
#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <gio/gio.h>
#include <memory>
#include <string>

#include <gst/gst.h>

#include <pvshm/shared_mem_id.hpp>

#include "link_encoding.hpp"
#include "srt_commands.hpp"
#include "srt_link.hpp"

namespace pvshm::cli {
namespace {

struct ServeOptions
{
    std::string id;
    std::string address;
    SrtLinkOptions link;
    int max_bandwidth_mbit = kDefaultMaxBandwidthMbit;
    bool allow_other_owner = false;
    std::string encode = "raw";
};

std::string socket_address_text(GSocketAddress* address)
{
    if (!G_IS_INET_SOCKET_ADDRESS(address))
        return "an unknown address";
    auto* inet = G_INET_SOCKET_ADDRESS(address);
    g_autofree gchar* host = g_inet_address_to_string(g_inet_socket_address_get_address(inet));
    return std::string(host) + ":" + std::to_string(g_inet_socket_address_get_port(inet));
}

struct Receivers
{
    LinkOutput* output = nullptr;
    std::atomic<int> connected{0};
};

void on_caller_added(GstElement*, gint, GSocketAddress* address, gpointer data)
{
    auto& receivers = *static_cast<Receivers*>(data);
    receivers.connected++;
    receivers.output->event("receiver connected from " + socket_address_text(address));
}

void on_caller_removed(GstElement*, gint, GSocketAddress* address, gpointer data)
{
    auto& receivers = *static_cast<Receivers*>(data);
    receivers.connected--;
    receivers.output->event("receiver from " + socket_address_text(address) + " left");
}

void on_caller_rejected(GstElement*, GSocketAddress* address, const gchar*, gpointer data)
{
    static_cast<Receivers*>(data)->output->event("refused a receiver from " +
                                                 socket_address_text(address));
}

// libsrt tells of a receiver refused for its passphrase only in its log, which GStreamer's SRT
// plugin routes into the debug category "srtlib" (a warning: "KMREQ result abnormal - rejecting
// per enforced encryption"). Without GST_DEBUG, only that category's warnings are looked at
// and nothing else changes: every other message goes to GStreamer's own printer as before.
class RefusedPassphraseLog
{
public:
    explicit RefusedPassphraseLog(LinkOutput& output) : output_(output)
    {
        quiet_ = g_getenv("GST_DEBUG") == nullptr;
        if (quiet_) {
            gst_debug_set_threshold_for_name("srtlib", GST_LEVEL_WARNING);
            gst_debug_remove_log_function(gst_debug_log_default);
        }
        gst_debug_add_log_function(on_log, this, nullptr);
    }
    ~RefusedPassphraseLog()
    {
        gst_debug_remove_log_function(on_log);
        if (quiet_)
            gst_debug_add_log_function(gst_debug_log_default, nullptr, nullptr);
    }

private:
    static void on_log(GstDebugCategory* category, GstDebugLevel level, const gchar* file,
                       const gchar* function, gint line, GObject* object, GstDebugMessage* message,
                       gpointer data)
    {
        auto& self = *static_cast<RefusedPassphraseLog*>(data);
        const bool srtlib = std::strcmp(gst_debug_category_get_name(category), "srtlib") == 0;
        if (self.quiet_ && !srtlib)
            gst_debug_log_default(category, level, file, function, line, object, message, nullptr);
        const gchar* text = srtlib ? gst_debug_message_get(message) : nullptr;
        if (text && std::strstr(text, "rejecting per enforced encryption"))
            self.output_.event("refused a receiver whose passphrase is not this one");
    }

    LinkOutput& output_;
    bool quiet_ = false;
};

int run_serve(const ServeOptions& options)
{
    pvshm::validate_id(options.id);
    const SrtAddress address = parse_srt_address(options.address, false);
    const std::string passphrase = link_passphrase(options.link, "serve");

    LinkPipeline link = link_pipeline("serve", {"pvshmsrc", "pvshmpay", "srtsink"});
    GstElement* src = link.elements[0];
    GstElement* pay = link.elements[1];
    GstElement* sink = link.elements[2];
    LinkOutput output("serve");
    g_object_set(src, "shared-mem-id", options.id.c_str(), "allow-other-owner",
                 gboolean(options.allow_other_owner), nullptr);
    gst_util_set_object_arg(G_OBJECT(src), "mode", "all");
    const LinkEncoding encoding = parse_link_encoding(options.encode);
    gst_util_set_object_arg(G_OBJECT(pay), "encoding", encoding.name.c_str());
    g_object_set(pay, "quality", guint(encoding.quality), nullptr);
    // No receiver yet: frames go to nobody rather than wait, so a receiver's first frame is new.
    const std::string uri =
        srt_uri(address, "listener") + "&" + srt_rate_option(options.max_bandwidth_mbit);
    g_object_set(sink, "uri", uri.c_str(), "latency", options.link.latency_ms, "sync", FALSE,
                 "wait-for-connection", FALSE, nullptr);
    set_passphrase(sink, passphrase);

    Receivers receivers;
    receivers.output = &output;
    g_signal_connect(sink, "caller-added", G_CALLBACK(on_caller_added), &receivers);
    g_signal_connect(sink, "caller-removed", G_CALLBACK(on_caller_removed), &receivers);
    g_signal_connect(sink, "caller-rejected", G_CALLBACK(on_caller_rejected), &receivers);

    const std::string where = address.host.empty() ? "every address" : address.host;
    const std::string rate =
        options.max_bandwidth_mbit
            ? "frames sent at " + std::to_string(options.max_bandwidth_mbit) + " Mbit/s"
            : "frames sent at the input's rate";
    guint64 last_bytes = 0;
    guint64 last_frames = 0;
    LinkHooks hooks;
    hooks.started = [&] {
        output.event("serving " + options.id + " on " + options.address + " (port " +
                     std::to_string(address.port) + ", " + where + ", " +
                     (passphrase.empty() ? "unencrypted" : "encrypted") + ", " + rate + ")");
    };
    hooks.status = [&](double seconds) {
        const guint64 frames = element_stat(pay, "frames");
        const guint64 bytes = element_stat(pay, "bytes");
        const guint64 drops = element_stat(src, "frames-dropped");
        char line[200];
        std::snprintf(line, sizeof line,
                      "%s: %d receiver(s), %.1f frames/s, %llu frames, %llu drops, %.1f Mbit/s",
                      options.id.c_str(), receivers.connected.load(),
                      seconds > 0 ? double(frames - last_frames) / seconds : 0.0,
                      static_cast<unsigned long long>(frames),
                      static_cast<unsigned long long>(drops),
                      seconds > 0 ? double(bytes - last_bytes) * 8 / seconds / 1e6 : 0.0);
        last_frames = frames;
        last_bytes = bytes;
        return std::string(line);
    };
    hooks.explain_error = [&](GstMessage* message) {
        const std::string text = message_text(message);
        if (GST_MESSAGE_SRC(message) == GST_OBJECT(sink) && text.find("bind") != std::string::npos)
            return "cannot listen on " + options.address + " (is the port in use?): " + text;
        return text;
    };
    hooks.on_warning = [&](GstMessage* message) -> std::optional<std::string> {
        output.warning(message_text(message));
        return std::nullopt;
    };
    const RefusedPassphraseLog refused_passphrases(output);
    return run_link(link, output, hooks);
}

} // namespace

void add_serve_command(CLI::App& app, std::function<int()>& run)
{
    auto options = std::make_shared<ServeOptions>();
    auto* serve = app.add_subcommand(
        "serve", "Send every frame of an id, with its facts, to the hosts that mirror it (an SRT "
                 "listener), until Ctrl-C");
    serve->add_option("ID", options->id, std::string("Shared-memory id to send: ") + kIdRule)
        ->required();
    serve
        ->add_option("ADDRESS", options->address,
                     "srt://[HOST]:PORT to listen on (no HOST: every IPv4 address)")
        ->required();
    add_srt_link_options(*serve, options->link);
    add_encode_option(*serve, options->encode);
    serve
        ->add_option("--max-bandwidth", options->max_bandwidth_mbit,
                     "Mbit/s at which each frame's packets are sent: the link's capacity (raise "
                     "it on faster links for raw frames); 0: the input's average rate plus 25% "
                     "(smooth, but a large frame then takes most of a frame interval)")
        ->check(CLI::Range(0, kMaxMaxBandwidthMbit))
        ->capture_default_str();
    serve->add_flag("--allow-other-owner", options->allow_other_owner,
                    "Read a segment owned by another user (refused by default: it could have "
                    "been planted)");
    serve->footer("Any number of `pvshm mirror` receivers may connect at once; one with another "
                  "passphrase cannot. Exit status 1 on a bad id or address, or a port in use.");
    serve->callback([options, &run] { run = [options] { return run_serve(*options); }; });
}

} // namespace pvshm::cli
