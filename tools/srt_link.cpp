// SPDX-License-Identifier: LGPL-2.1-or-later
#include "srt_link.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "gst_elements.hpp"
#include "secret_file.hpp"
#include "signal_loop.hpp"

namespace pvshm::cli {
namespace {

constexpr guint kStatusIntervalMs = 1000;

struct RunState
{
    SignalLoop* loop = nullptr;
    LinkOutput* output = nullptr;
    LinkHooks* hooks = nullptr;
    int status = 0;
    bool ended = false;
};

// The first reason to stop wins: an error, then the SIGTERM that follows it, says nothing new.
void finish(RunState& run, int status)
{
    if (!run.ended)
        run.status = status;
    run.ended = true;
    run.loop->stop();
}

gboolean on_bus_message(GstBus*, GstMessage* message, gpointer data)
{
    auto& run = *static_cast<RunState*>(data);
    switch (GST_MESSAGE_TYPE(message)) {
    case GST_MESSAGE_ERROR:
        // The first error is the reason; what follows it (GStreamer's "state change failed and
        // some element failed to post a proper error message") says nothing new.
        if (run.ended)
            break;
        run.output->event("error: " + (run.hooks->explain_error ? run.hooks->explain_error(message)
                                                                : message_text(message)));
        finish(run, 1);
        break;
    case GST_MESSAGE_WARNING:
        if (run.hooks->on_warning) {
            if (auto fatal = run.hooks->on_warning(message)) {
                run.output->event("error: " + *fatal);
                finish(run, 1);
            }
        } else {
            run.output->warning(message_text(message));
        }
        break;
    case GST_MESSAGE_EOS:
        run.output->event("the stream ended");
        finish(run, 0);
        break;
    default:
        break;
    }
    return G_SOURCE_CONTINUE;
}

} // namespace

std::string srt_uri(const SrtAddress& address, const char* mode, int mss)
{
    const bool v6 = address.host.find(':') != std::string::npos;
    return "srt://" + (v6 ? "[" + address.host + "]" : address.host) + ":" +
           std::to_string(address.port) + "?mode=" + mode + "&" + kSrtBufferOptions +
           "&mss=" + std::to_string(mss) + "&payloadsize=" + std::to_string(srt_payload_size(mss));
}

SrtAddress parse_srt_address(const std::string& text, bool host_required)
{
    return resolve_srt_address(parse_srt_address_text(text, host_required));
}

void add_srt_link_options(CLI::App& command, SrtLinkOptions& options)
{
    auto* passphrase = command.add_option(
        "--passphrase-file", options.passphrase_file,
        "File whose first line is the passphrase (10 to 79 characters) that encrypts the stream "
        "(SRT's AES); both ends need the same");
    command
        .add_flag("--insecure", options.insecure,
                  "Send or receive without encryption (refused without this flag)")
        ->excludes(passphrase);
    command
        .add_option("--latency", options.latency_ms,
                    "SRT latency in milliseconds: how long lost packets may take to be resent "
                    "(both ends use the larger of their two values)")
        ->check(CLI::Range(0, 60000))
        ->capture_default_str();
    command
        .add_option("--mss", options.mss,
                    "SRT's maximum segment size: the bytes of each IP packet, at most the "
                    "link's MTU (the two ends use the smaller of theirs; the SRT library uses "
                    "at most 1500)")
        ->check([](const std::string& text) -> std::string {
            int mss = 0;
            if (!CLI::detail::lexical_cast(text, mss) || mss < kMinMss || mss > kMaxMss)
                return std::to_string(kMinMss) + " to " + std::to_string(kMaxMss) + " bytes, not " +
                       text;
            return {};
        })
        ->capture_default_str();
}

int usable_mss(int mss, LinkOutput& output)
{
    if (mss <= kMaxSrtMss)
        return mss;
    output.warning("--mss " + std::to_string(mss) +
                   ": the SRT library (libsrt 1.5) takes at most " + std::to_string(kMaxSrtMss) +
                   " (it sends live packets of at most 1456 bytes and fails a connection of a "
                   "larger MSS): using " +
                   std::to_string(kMaxSrtMss));
    return kMaxSrtMss;
}

std::string link_passphrase(const SrtLinkOptions& options, const char* command)
{
    if (options.insecure)
        return {};
    if (!options.passphrase_file)
        throw std::runtime_error(std::string("refusing to ") +
                                 (std::strcmp(command, "serve") == 0 ? "send" : "receive") +
                                 " frames unencrypted: give --passphrase-file FILE (a passphrase "
                                 "of 10 to 79 characters, the same on both ends) or --insecure");
    const std::string& file = *options.passphrase_file;
    const std::string passphrase = read_secret_line(file, "passphrase");
    if (passphrase.size() < kMinPassphraseLength || passphrase.size() > kMaxPassphraseLength)
        throw std::runtime_error("the passphrase in '" + file + "' has " +
                                 std::to_string(passphrase.size()) +
                                 " characters: SRT takes 10 to 79 (its first line is the "
                                 "passphrase)");
    // GStreamer's SRT elements drop a string that is not UTF-8 with no more than a GLib warning,
    // and the link then runs in clear: only printable ASCII is taken, the same on every host.
    const auto unprintable = std::find_if(passphrase.begin(), passphrase.end(),
                                          [](char c) { return c < 0x20 || c > 0x7e; });
    if (unprintable != passphrase.end()) {
        char byte[8];
        std::snprintf(byte, sizeof byte, "0x%02x",
                      unsigned(static_cast<unsigned char>(*unprintable)));
        throw std::runtime_error("the passphrase in '" + file + "' is not printable ASCII (byte " +
                                 byte + " at character " +
                                 std::to_string(unprintable - passphrase.begin() + 1) +
                                 "): SRT passphrases are 10 to 79 characters from space to '~'");
    }
    if (readable_by_others(file))
        std::fprintf(stderr,
                     "pvshm %s: warning: the passphrase file '%s' can be read by other users "
                     "(chmod 600 it)\n",
                     command, file.c_str());
    return passphrase;
}

namespace {

// A GLib warning or critical printed while it lives, in the domains a property set can warn in.
class WarningCatcher
{
public:
    WarningCatcher()
    {
        for (size_t i = 0; i < std::size(kDomains); ++i)
            handlers_[i] = g_log_set_handler(
                kDomains[i], GLogLevelFlags(G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL),
                [](const gchar*, GLogLevelFlags, const gchar* message, gpointer caught) {
                    *static_cast<std::string*>(caught) = message;
                },
                &caught_);
    }
    ~WarningCatcher()
    {
        for (size_t i = 0; i < std::size(kDomains); ++i)
            g_log_remove_handler(kDomains[i], handlers_[i]);
    }
    const std::string& caught() const { return caught_; }

private:
    static constexpr const char* kDomains[] = {"GStreamer", "GLib-GObject", "GLib"};
    guint handlers_[std::size(kDomains)] = {};
    std::string caught_;
};

} // namespace

void set_passphrase(GstElement* element, const std::string& passphrase)
{
    if (passphrase.empty())
        return;
    // The property is write-only: what the element did with the value shows only as the
    // warning it prints when it drops it (GstStructure refuses a string that is not UTF-8).
    WarningCatcher catcher;
    g_object_set(element, "passphrase", passphrase.c_str(), nullptr);
    if (!catcher.caught().empty())
        throw std::runtime_error(std::string("the GStreamer element ") + GST_OBJECT_NAME(element) +
                                 " did not take the passphrase (" + catcher.caught() +
                                 "): refusing to run unencrypted");
}

LinkPipeline link_pipeline(const char* name, std::initializer_list<const char*> factories)
{
    gst_init(nullptr, nullptr);
    LinkPipeline link;
    link.pipeline = gst_pipeline_new(name);
    add_chain(link, factories);
    return link;
}

std::vector<GstElement*> add_chain(LinkPipeline& link, std::initializer_list<const char*> factories)
{
    std::vector<GstElement*> chain;
    for (const char* factory : factories) {
        GstElement* element = make_element(factory);
        gst_bin_add(GST_BIN(link.pipeline), element);
        if (!chain.empty() && !gst_element_link(chain.back(), element))
            throw std::runtime_error(std::string("cannot link ") + GST_ELEMENT_NAME(chain.back()) +
                                     " ! " + factory);
        chain.push_back(element);
        link.elements.push_back(element);
    }
    return chain;
}

std::string message_text(GstMessage* message)
{
    g_autoptr(GError) error = nullptr;
    g_autofree gchar* debug = nullptr;
    if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR)
        gst_message_parse_error(message, &error, &debug);
    else
        gst_message_parse_warning(message, &error, &debug);
    std::string text = error ? error->message : "unknown error";
    if (debug) {
        // The elements' debug text ends with the reason: "...: Connection timeout".
        std::string details = debug;
        const size_t line = details.find_last_of('\n');
        if (line != std::string::npos)
            details = details.substr(line + 1);
        // A debug text of one line is only where it was posted: "file.c(123): function (): ...".
        const bool location =
            details.find(".c(") != std::string::npos && details.find("(): ") != std::string::npos;
        // The library's errors put their reason in both, the debug text with its errno.
        const std::string reason = details.substr(0, details.rfind(" (errno "));
        if (!details.empty() && text.find(reason) == std::string::npos && !location)
            text += ": " + details;
    }
    return text;
}

guint64 element_stat(GstElement* element, const char* field)
{
    g_autoptr(GstStructure) stats = nullptr;
    g_object_get(element, "stats", &stats, nullptr);
    guint64 value = 0;
    if (stats)
        gst_structure_get_uint64(stats, field, &value);
    return value;
}

bool element_flag(GstElement* element, const char* field)
{
    g_autoptr(GstStructure) stats = nullptr;
    g_object_get(element, "stats", &stats, nullptr);
    gboolean value = FALSE;
    if (stats)
        gst_structure_get_boolean(stats, field, &value);
    return value;
}

int run_link(LinkPipeline& link, LinkOutput& output, LinkHooks& hooks)
{
    SignalLoop loop;
    RunState run;
    run.loop = &loop;
    run.output = &output;
    run.hooks = &hooks;
    g_autoptr(GstBus) bus = gst_element_get_bus(link.pipeline);
    const guint bus_watch = gst_bus_add_watch(bus, on_bus_message, &run);

    if (gst_element_set_state(link.pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
        // The element that failed posted why: the bus watch reports it.
        while (g_main_context_iteration(nullptr, FALSE)) {
        }
        if (!run.ended)
            output.event("error: the pipeline did not start");
        run.status = 1;
    } else {
        if (hooks.started)
            hooks.started();
        gint64 last_status_us = g_get_monotonic_time();
        loop.every(kStatusIntervalMs, [&] {
            const gint64 now = g_get_monotonic_time();
            const double seconds = double(now - last_status_us) / 1e6;
            last_status_us = now;
            if (hooks.status)
                output.status(hooks.status(seconds));
        });
        if (hooks.watch)
            loop.every(kWatchIntervalMs, hooks.watch);
        loop.run();
    }
    gst_element_set_state(link.pipeline, GST_STATE_NULL);
    g_source_remove(bus_watch);
    return run.status;
}

} // namespace pvshm::cli
