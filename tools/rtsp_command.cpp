// SPDX-License-Identifier: LGPL-2.1-or-later
// `pvshm rtsp`: each id as an RTSP stream for any video player. With no id, every segment is
// served, those created later too; an id whose segment is cleared ends its viewers' stream.
#include "rtsp_command.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <gst/gst.h>

#include <pvshm/reader.hpp>
#include <pvshm/shared_mem_id.hpp>

#include "console_output.hpp"
#include "gst_elements.hpp"
#include "json.hpp"
#include "rtsp_server.hpp"
#include "secret_file.hpp"
#include "signal_loop.hpp"

namespace pvshm::cli {
namespace {

using Clock = std::chrono::steady_clock;

// How often the shared-memory directory is read for ids that appeared or were cleared.
constexpr guint kRefreshIntervalMs = 250;
// How long a served id must stay absent before its viewers are told the stream ended: a writer
// with persist=false removes its segment when it stops and creates it again when it restarts.
constexpr auto kClearedGrace = std::chrono::seconds(1);
constexpr guint kStatusIntervalMs = 1000;
// Bounds the wait for clients to go at exit.
constexpr int kCloseIterations = 100;
constexpr gulong kCloseIterationUs = 10'000;

struct RtspOptions
{
    std::vector<std::string> ids;
    int port = 8554;
    std::string encode = "h264";
    std::optional<std::string> listen;
    std::optional<std::string> user;
    std::optional<std::string> password_file;
    std::optional<std::string> tls_certificate;
    std::optional<std::string> tls_key;
    bool json = false;
};

// Events as lines for people on stderr (ConsoleOutput, above its status line) and, with --json,
// as one JSON object per line on stdout for scripts. Any thread may call it.
class Output
{
public:
    explicit Output(bool json) : console_("rtsp"), json_(json) {}

    void event(const std::string& text, const JsonObject& object)
    {
        std::lock_guard lock(lock_);
        console_.event(text);
        if (json_) {
            std::printf("%s\n", object.str().c_str());
            std::fflush(stdout);
        }
    }

    void warning(const std::string& text) { console_.warning(text); }
    void status(const std::string& line) { console_.status(line); }

private:
    ConsoleOutput console_;
    const bool json_;
    std::mutex lock_; // keeps each event's two lines in the same order on both outputs
};

JsonObject event_json(const char* name)
{
    JsonObject object;
    object.add("event", name);
    return object;
}

void report(Output& output, const RtspEvent& event)
{
    const std::string client = "client " + std::to_string(event.client);
    switch (event.kind) {
    case RtspEvent::Kind::ClientConnected:
        output.event(client + " connected from " + event.address,
                     event_json("client-connected")
                         .add("client", event.client)
                         .add("address", event.address));
        break;
    case RtspEvent::Kind::ClientPlaying:
        output.event(client + " plays " + event.id, event_json("client-playing")
                                                        .add("client", event.client)
                                                        .add("address", event.address)
                                                        .add("id", event.id));
        break;
    case RtspEvent::Kind::ClientDisconnected:
        output.event(client + " disconnected", event_json("client-disconnected")
                                                   .add("client", event.client)
                                                   .add("address", event.address));
        break;
    case RtspEvent::Kind::PipelineStarted:
        output.event(event.id + ": pipeline started",
                     event_json("pipeline-started").add("id", event.id));
        break;
    case RtspEvent::Kind::PipelineFinished:
        output.event(event.id + ": pipeline stopped",
                     event_json("pipeline-stopped").add("id", event.id));
        break;
    case RtspEvent::Kind::Warning:
        output.warning(event.text);
        break;
    }
}

bool is_loopback(const std::string& address)
{
    return address.rfind("127.", 0) == 0 || address == "::1" || address == "localhost";
}

RtspEncoder choose_encoder(const std::string& encode)
{
    if (encode == "jpeg") {
        if (auto encoder = find_rtsp_encoder(RtspEncoding::Jpeg)) {
            require_element("rtpjpegpay");
            return *encoder;
        }
        throw std::runtime_error("no JPEG encoder: install jpegenc (gstreamer1.0-plugins-good)");
    }
    if (auto encoder = find_rtsp_encoder(RtspEncoding::H264)) {
        require_element("rtph264pay");
        return *encoder;
    }
    throw std::runtime_error("no H.264 encoder: install x264enc (gstreamer1.0-plugins-ugly) or "
                             "openh264enc (gstreamer1.0-plugins-bad), or use --encode jpeg");
}

// Serves the ids named, or every segment, each while its segment exists.
class StreamFollower
{
public:
    StreamFollower(RtspServer& server, Output& output, const std::vector<std::string>& ids)
        : server_(server), output_(output), named_(ids.begin(), ids.end())
    {
    }

    void refresh()
    {
        std::vector<std::string> listed;
        try {
            listed = list_segment_ids();
        } catch (const std::system_error& error) {
            // Unknown is not empty: the streams served stay as they are until a listing works.
            if (!listing_failed_)
                output_.warning(std::string(error.what()) +
                                ": the ids served stay as they are until it works again");
            listing_failed_ = true;
            return;
        }
        listing_failed_ = false;
        const std::set<std::string> present(listed.begin(), listed.end());
        for (const std::string& id : named_.empty() ? present : named_) {
            if (!present.count(id) || server_.has_stream(id))
                continue;
            server_.add_stream(id);
            output_.event("serving " + server_.url(id),
                          event_json("stream-added").add("id", id).add("url", server_.url(id)));
        }
        const auto now = Clock::now();
        for (const std::string& id : server_.stream_ids()) {
            if (present.count(id)) {
                missing_since_.erase(id);
                continue;
            }
            const auto since = missing_since_.try_emplace(id, now).first;
            if (now - since->second < kClearedGrace)
                continue;
            missing_since_.erase(since);
            server_.remove_stream(id);
            output_.event(id + " was cleared: its viewers got the end of the stream",
                          event_json("stream-removed").add("id", id).add("reason", "cleared"));
        }
    }

private:
    RtspServer& server_;
    Output& output_;
    const std::set<std::string> named_; // empty: every segment
    std::map<std::string, Clock::time_point> missing_since_;
    bool listing_failed_ = false;
};

// Once a second on stderr: clients connected and frames sent.
class StatusLine
{
public:
    explicit StatusLine(RtspServer& server, Output& output) : server_(server), output_(output) {}

    void update()
    {
        const auto now = Clock::now();
        const uint64_t frames = server_.frames_served();
        const double seconds = std::chrono::duration<double>(now - last_time_).count();
        const double rate = seconds > 0 ? double(frames - last_frames_) / seconds : 0.0;
        last_time_ = now;
        last_frames_ = frames;
        char line[160];
        std::snprintf(line, sizeof line,
                      "%zu stream(s)  %llu viewer(s) connected  %llu frames served  %.1f fps",
                      server_.stream_ids().size(),
                      static_cast<unsigned long long>(server_.clients_connected()),
                      static_cast<unsigned long long>(frames), rate);
        output_.status(line);
    }

private:
    RtspServer& server_;
    Output& output_;
    Clock::time_point last_time_ = Clock::now();
    uint64_t last_frames_ = 0;
};

int run_rtsp(const RtspOptions& options)
{
    for (const std::string& id : options.ids)
        validate_id(id); // throws std::invalid_argument naming the id and the rule

    RtspServerConfig config;
    Output output(options.json);
    if (options.user) {
        if (options.user->empty() || options.user->find(':') != std::string::npos)
            throw std::runtime_error("--user: a user name is not empty and has no ':'");
        config.credentials = RtspCredentials{*options.user, read_password(*options.password_file)};
        if (readable_by_others(*options.password_file))
            output.warning("the password file '" + *options.password_file +
                           "' can be read by other users (chmod 600 it)");
    }
    config.tls_certificate_file = options.tls_certificate;
    config.tls_key_file = options.tls_key;

    gst_init(nullptr, nullptr);
    require_element("pvshmsrc");
    require_element("videoconvert");
    require_element("videoscale");
    config.encoder = choose_encoder(options.encode);
    // Credentials make it safe to be reached from elsewhere; without them, only this machine.
    config.address = options.listen.value_or(config.credentials ? "0.0.0.0" : "127.0.0.1");
    config.port = static_cast<uint16_t>(options.port);
    if (!config.credentials && !is_loopback(config.address))
        output.warning("anyone who can reach " + config.address +
                       " may watch: give --user and --password-file to require a password");

    RtspServer server(config, [&output](const RtspEvent& event) { report(output, event); });
    const char* authentication = config.credentials ? "digest" : "none";
    output.event(std::string("listening on ") + server.url("") + " with " +
                     config.encoder.description + ", authentication: " + authentication +
                     (config.tls_certificate_file ? ", TLS" : ""),
                 event_json("listening")
                     .add("address", config.address)
                     .add("port", uint32_t{server.port()})
                     .add("url", server.url(""))
                     .add("encoding", options.encode)
                     .add("encoder", config.encoder.element)
                     .add("authentication", authentication)
                     .add("tls", config.tls_certificate_file.has_value()));
    const std::vector<std::string> listed = list_segment_ids();
    for (const std::string& id : options.ids)
        if (std::find(listed.begin(), listed.end(), id) == listed.end())
            output.event(id + " has no segment yet: served once it appears",
                         event_json("waiting").add("id", id));

    StreamFollower follower(server, output, options.ids);
    StatusLine status(server, output);
    follower.refresh();

    SignalLoop loop;
    loop.every(kRefreshIntervalMs, [&follower] { follower.refresh(); });
    loop.every(kStatusIntervalMs, [&status] { status.update(); });
    loop.run();

    server.close_clients();
    for (int i = 0; i < kCloseIterations && server.clients_connected() > 0; ++i) {
        while (g_main_context_iteration(nullptr, FALSE)) {
        }
        g_usleep(kCloseIterationUs);
    }
    output.event("stopped after " + std::to_string(server.frames_served()) + " frames served",
                 event_json("stopped").add("frames_served", server.frames_served()));
    return 0;
}

} // namespace

void add_rtsp_command(CLI::App& app, std::function<int()>& run)
{
    auto options = std::make_shared<RtspOptions>();
    auto* rtsp = app.add_subcommand(
        "rtsp", "Serve ids as RTSP streams, rtsp://HOST:PORT/ID, for any video player, until "
                "Ctrl-C");
    rtsp->add_option("ID", options->ids,
                     "Ids to serve (default: every segment, and those created later)");
    rtsp->add_option("-p,--port", options->port, "TCP port to listen on (0: any free port)")
        ->check(CLI::Range(0, 65535))
        ->capture_default_str();
    rtsp->add_option("--encode", options->encode,
                     "Encoding: h264 (x264enc or openh264enc) or jpeg (jpegenc)")
        ->check(CLI::IsMember({"h264", "jpeg"}))
        ->capture_default_str();
    rtsp->add_option("--listen", options->listen,
                     "Address to listen on (default: 127.0.0.1; with --user, every address)");
    auto* user = rtsp->add_option("--user", options->user,
                                  "Require this user name and password (digest authentication)");
    auto* password = rtsp->add_option("--password-file", options->password_file,
                                      "File whose first line is the password of --user");
    user->needs(password);
    password->needs(user);
    auto* certificate = rtsp->add_option(
        "--tls-cert", options->tls_certificate,
        "PEM certificate (and key, unless --tls-key): serve rtsps:// (RTSP over TLS) only");
    rtsp->add_option("--tls-key", options->tls_key, "PEM private key of --tls-cert")
        ->needs(certificate);
    rtsp->add_flag("--json", options->json,
                   "Print events (listening, stream-added, client-connected, ...) as one JSON "
                   "object per line on stdout");
    rtsp->callback([options, &run] { run = [options] { return run_rtsp(*options); }; });
}

} // namespace pvshm::cli
