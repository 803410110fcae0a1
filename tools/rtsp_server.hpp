// SPDX-License-Identifier: LGPL-2.1-or-later
// Shared-memory ids served as RTSP streams through gst-rtsp-server: one media pipeline per id,
// shared by all of its viewers, reading the newest frame so that no viewer can slow the writer.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pvshm::cli {

enum class RtspEncoding
{
    H264,
    Jpeg,
};

// One way of turning raw frames into RTP packets. `launch` goes between videoconvert and the
// end of the media pipeline and ends in the payloader gst-rtsp-server looks for, named pay0.
struct RtspEncoder
{
    RtspEncoding encoding;
    const char* element;
    const char* description;
    const char* launch;
};

// The first encoder for `encoding` whose element is installed, in order of preference; nullopt
// when there is none. Needs gst_init().
std::optional<RtspEncoder> find_rtsp_encoder(RtspEncoding encoding);

struct RtspCredentials
{
    std::string user;
    std::string password;
};

struct RtspServerConfig
{
    std::string address = "127.0.0.1";
    uint16_t port = 8554; // 0: any free port, see RtspServer::port()
    RtspEncoder encoder{};
    // Without credentials anyone who reaches the address may watch.
    std::optional<RtspCredentials> credentials;
    // PEM files: the server speaks RTSPS (RTSP over TLS) only.
    std::optional<std::string> tls_certificate_file;
    std::optional<std::string> tls_key_file;
};

struct RtspEvent
{
    enum class Kind
    {
        ClientConnected,
        ClientDisconnected,
        ClientPlaying,    // `id` names the stream
        PipelineStarted,  // a media pipeline was built for `id` (one for all its viewers)
        PipelineFinished, // it was torn down (no viewer left, or the stream ended)
        Warning,          // `text` says what went wrong
    };
    Kind kind;
    uint64_t client = 0; // numbered from 1 in order of connection
    std::string address; // the client's
    std::string id;
    std::string text;
};

class RtspServer
{
public:
    // Called from gst-rtsp-server's threads, one call at a time.
    using EventHandler = std::function<void(const RtspEvent&)>;

    // Starts listening in the default GMainContext. Throws std::runtime_error when the address
    // cannot be bound or the TLS files cannot be loaded.
    RtspServer(const RtspServerConfig& config, EventHandler on_event);
    ~RtspServer();
    RtspServer(const RtspServer&) = delete;
    RtspServer& operator=(const RtspServer&) = delete;

    // The port listened on (the one chosen when the config said 0).
    uint16_t port() const;
    std::string url(const std::string& id) const;

    // Serves `id` at /ID. Its pipeline is built when the first viewer asks for it.
    void add_stream(const std::string& id);
    // Viewers of `id` get the end of the stream (RTCP BYE); new ones are told 404.
    void remove_stream(const std::string& id);
    bool has_stream(const std::string& id) const;
    std::vector<std::string> stream_ids() const;

    uint64_t clients_connected() const;
    // Encoded frames sent, over every stream since the start; a frame shared by several
    // viewers counts once.
    uint64_t frames_served() const;

    // Disconnects every client, for a clean exit.
    void close_clients();

    struct Core;

private:
    std::shared_ptr<Core> core_;
};

} // namespace pvshm::cli
