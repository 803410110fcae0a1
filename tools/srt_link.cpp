// SPDX-License-Identifier: LGPL-2.1-or-later
#include "srt_link.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <glib-unix.h>
#include <netdb.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

#include "secret_file.hpp"

namespace pvshm::cli {
namespace {

constexpr guint kStatusIntervalMs = 1000;

bool starts_with_ignoring_case(const std::string& text, const char* prefix)
{
    return text.size() >= std::strlen(prefix) &&
           g_ascii_strncasecmp(text.c_str(), prefix, std::strlen(prefix)) == 0;
}

// A numeric address for `host`, IPv4 first: SRT's listeners bind one family, and a name such as
// localhost resolving to ::1 first would find no IPv4 listener.
std::string resolve(const std::string& host, const std::string& text)
{
    addrinfo hints = {};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    addrinfo* found = nullptr;
    const int status = getaddrinfo(host.c_str(), nullptr, &hints, &found);
    if (status != 0)
        throw std::invalid_argument("cannot resolve the host of '" + text +
                                    "': " + gai_strerror(status));
    const addrinfo* chosen = found;
    for (const addrinfo* entry = found; entry; entry = entry->ai_next)
        if (entry->ai_family == AF_INET) {
            chosen = entry;
            break;
        }
    char numeric[INET6_ADDRSTRLEN] = {};
    const void* address =
        chosen->ai_family == AF_INET
            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(chosen->ai_addr)->sin_addr)
            : static_cast<const void*>(
                  &reinterpret_cast<sockaddr_in6*>(chosen->ai_addr)->sin6_addr);
    inet_ntop(chosen->ai_family, address, numeric, sizeof numeric);
    freeaddrinfo(found);
    return numeric;
}

// Where the elements of these pipelines come from, for the message that says one is missing.
const char* package_of(const std::string& factory)
{
    if (factory.rfind("pvshm", 0) == 0)
        return "the pvshm plugin: install it, or run under `meson devenv -C build`";
    if (factory.rfind("srt", 0) == 0)
        return "gstreamer1.0-plugins-bad, built with libsrt";
    return "libgstreamer1.0-0";
}

struct RunState
{
    GMainLoop* loop = nullptr;
    LinkOutput* output = nullptr;
    LinkHooks* hooks = nullptr;
    int status = 0;
    bool ended = false;
    gint64 last_status_us = 0;
};

// The first reason to stop wins: an error, then the SIGTERM that follows it, says nothing new.
void finish(RunState& run, int status)
{
    if (!run.ended)
        run.status = status;
    run.ended = true;
    g_main_loop_quit(run.loop);
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

gboolean on_signal(gpointer data)
{
    finish(*static_cast<RunState*>(data), 0);
    return G_SOURCE_CONTINUE;
}

gboolean on_status(gpointer data)
{
    auto& run = *static_cast<RunState*>(data);
    const gint64 now = g_get_monotonic_time();
    const double seconds = double(now - run.last_status_us) / 1e6;
    run.last_status_us = now;
    if (run.hooks->status)
        run.output->status(run.hooks->status(seconds));
    return G_SOURCE_CONTINUE;
}

} // namespace

std::string SrtAddress::uri(const char* mode) const
{
    const bool v6 = host.find(':') != std::string::npos;
    return "srt://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port) +
           "?mode=" + mode + "&" + kSrtBufferOptions;
}

std::string srt_rate_option(int mbit)
{
    return "maxbw=" + std::to_string(int64_t{mbit} * 1'000'000 / 8);
}

SrtAddress parse_srt_address(const std::string& text, bool host_required)
{
    const auto refuse = [&](const std::string& why) {
        return std::invalid_argument("'" + text + "' is not an SRT address: " + why +
                                     " (expected srt://" + (host_required ? "HOST" : "[HOST]") +
                                     ":PORT)");
    };
    if (!starts_with_ignoring_case(text, "srt://"))
        throw refuse("it does not start with srt://");
    std::string rest = text.substr(6);
    if (rest.find_first_of("?#") != std::string::npos)
        throw refuse("options after '?' are not taken (the passphrase comes from "
                     "--passphrase-file, the latency from --latency)");
    if (rest.find('@') != std::string::npos)
        throw refuse("SRT has no user names");
    if (!rest.empty() && rest.back() == '/')
        rest.pop_back();
    if (rest.find('/') != std::string::npos)
        throw refuse("SRT addresses have no path");

    std::string host;
    std::string port;
    if (!rest.empty() && rest.front() == '[') {
        const size_t close = rest.find(']');
        if (close == std::string::npos || close + 1 >= rest.size() || rest[close + 1] != ':')
            throw refuse("an IPv6 address in brackets is followed by :PORT");
        host = rest.substr(1, close - 1);
        port = rest.substr(close + 2);
    } else {
        const size_t colon = rest.rfind(':');
        if (colon == std::string::npos)
            throw refuse("no port");
        host = rest.substr(0, colon);
        port = rest.substr(colon + 1);
        if (host.find(':') != std::string::npos)
            throw refuse("an IPv6 address goes in brackets");
    }
    const bool digits = !port.empty() && port.size() <= 5 &&
                        port.find_first_not_of("0123456789") == std::string::npos;
    const long number = digits ? std::strtol(port.c_str(), nullptr, 10) : 0;
    if (number < 1 || number > 65535)
        throw refuse("the port is a number from 1 to 65535");
    if (host.empty() && host_required)
        throw refuse("no host to connect to");

    SrtAddress address;
    address.host = host.empty() ? "" : resolve(host, text);
    address.port = int(number);
    address.text = text;
    return address;
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
    for (const char* factory : factories) {
        GstElement* element = gst_element_factory_make(factory, nullptr);
        if (!element) {
            gst_object_unref(link.pipeline);
            throw std::runtime_error(std::string("the GStreamer element ") + factory +
                                     " is not installed (" + package_of(factory) + ")");
        }
        gst_bin_add(GST_BIN(link.pipeline), element);
        if (!link.elements.empty() && !gst_element_link(link.elements.back(), element)) {
            const std::string previous = GST_ELEMENT_NAME(link.elements.back());
            gst_object_unref(link.pipeline);
            throw std::runtime_error("cannot link " + previous + " ! " + factory);
        }
        link.elements.push_back(element);
    }
    return link;
}

LinkOutput::LinkOutput(std::string command)
    : command_(std::move(command)), terminal_(isatty(STDERR_FILENO) != 0)
{
}

void LinkOutput::clear_status()
{
    if (status_shown_)
        std::fputs("\r\033[K", stderr);
    status_shown_ = false;
}

void LinkOutput::event(const std::string& text)
{
    std::lock_guard lock(lock_);
    clear_status();
    std::fprintf(stderr, "pvshm %s: %s\n", command_.c_str(), text.c_str());
    std::fflush(stderr);
}

void LinkOutput::warning(const std::string& text)
{
    event("warning: " + text);
}

void LinkOutput::status(const std::string& text)
{
    std::lock_guard lock(lock_);
    if (terminal_) {
        std::fprintf(stderr, "\r\033[Kpvshm %s: %s", command_.c_str(), text.c_str());
        status_shown_ = true;
    } else {
        std::fprintf(stderr, "pvshm %s: %s\n", command_.c_str(), text.c_str());
    }
    std::fflush(stderr);
}

std::string message_text(GstMessage* message)
{
    GError* error = nullptr;
    gchar* debug = nullptr;
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
    if (error)
        g_error_free(error);
    g_free(debug);
    return text;
}

guint64 element_stat(GstElement* element, const char* field)
{
    GstStructure* stats = nullptr;
    g_object_get(element, "stats", &stats, nullptr);
    guint64 value = 0;
    if (stats) {
        gst_structure_get_uint64(stats, field, &value);
        gst_structure_free(stats);
    }
    return value;
}

int run_link(GstElement* pipeline, LinkOutput& output, LinkHooks& hooks)
{
    RunState run;
    run.loop = g_main_loop_new(nullptr, FALSE);
    run.output = &output;
    run.hooks = &hooks;
    run.last_status_us = g_get_monotonic_time();
    GstBus* bus = gst_element_get_bus(pipeline);
    const guint bus_watch = gst_bus_add_watch(bus, on_bus_message, &run);
    gst_object_unref(bus);

    if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
        // The element that failed posted why: the bus watch reports it.
        while (g_main_context_iteration(nullptr, FALSE)) {
        }
        if (!run.ended)
            output.event("error: the pipeline did not start");
        run.status = 1;
    } else {
        if (hooks.started)
            hooks.started();
        const guint sources[] = {
            g_unix_signal_add(SIGINT, on_signal, &run),
            g_unix_signal_add(SIGTERM, on_signal, &run),
            g_timeout_add(kStatusIntervalMs, on_status, &run),
        };
        g_main_loop_run(run.loop);
        for (guint source : sources)
            g_source_remove(source);
    }
    gst_element_set_state(pipeline, GST_STATE_NULL);
    g_source_remove(bus_watch);
    gst_object_unref(pipeline);
    g_main_loop_unref(run.loop);
    return run.status;
}

} // namespace pvshm::cli
