// SPDX-License-Identifier: LGPL-2.1-or-later
// Who may hold a connection to `pvshm rtsp` before showing it is a viewer. Every connection is
// "pending" from its accept until it authenticates (with credentials) or plays: pending ones are
// capped (one more closes the oldest silent one, then the oldest) and closed after a timeout, so
// that idle connections can neither exhaust the server's file descriptors nor stay open for good.
// A connection reaches gst-rtsp-server only once it has begun its first request, over TLS once
// its whole ClientHello has arrived: GLib runs each TLS handshake in a thread of a small shared
// pool, where a connection that never sends one blocked a thread for good (60 of them delayed a
// viewer's handshake by seconds, 100 made it time out).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <gio/gio.h>
#include <memory>
#include <string>

#include <gst/rtsp-server/rtsp-server.h>

namespace pvshm::cli {

struct GateLimits
{
    // Pending connections kept at once, TLS handshakes included.
    size_t max_pending = 64;
    // How long one may stay pending (for TLS, the handshake's deadline too).
    std::chrono::milliseconds pending_timeout{10'000};
};

// max_pending sized by the file descriptors this process may open, leaving most to viewers.
GateLimits default_gate_limits();

class ConnectionGate
{
public:
    using WarningHandler = std::function<void(const std::string&)>;

    // Accepts the connections of `listener` (from gst_rtsp_server_create_socket) in the default
    // GMainContext and hands them to `server` as clients.
    ConnectionGate(GstRTSPServer* server, GSocket* listener, bool tls, GateLimits limits,
                   WarningHandler on_warning);
    ~ConnectionGate();
    ConnectionGate(const ConnectionGate&) = delete;
    ConnectionGate& operator=(const ConnectionGate&) = delete;

    // `client` authenticated or plays: it may stay as long as it likes.
    void admit(GstRTSPClient* client);
    uint16_t port() const;

    struct Core;

private:
    std::shared_ptr<Core> core_;
};

} // namespace pvshm::cli
