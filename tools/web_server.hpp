// SPDX-License-Identifier: LGPL-2.1-or-later
// The HTTP side of `pvshm web` (libsoup 3): listening, TLS, authentication and the cap on clients.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <gio/gio.h>
#include <libsoup/soup.h>
#include <optional>
#include <string>
#include <vector>

namespace pvshm::cli {

struct WebCredentials
{
    std::string user;
    std::string password;
};

struct WebServerConfig
{
    std::string address = "127.0.0.1"; // an IPv4 or IPv6 address
    uint16_t port = 8080;              // 0: any free port
    std::optional<WebCredentials> credentials;
    std::optional<std::string> tls_certificate_file; // PEM; holds the key too unless tls_key_file
    std::optional<std::string> tls_key_file;
    unsigned max_clients = 64;
    unsigned client_timeout_seconds = 30;
};

// Accepts connections itself (a GSocketService) rather than through soup_server_listen(), so
// that it can count them: past max_clients a new connection is answered 503 and closed, and
// the clients already connected keep being served. A client that neither sends nor takes a byte
// for client_timeout_seconds while the server waits on it is disconnected. With credentials,
// every request needs them: Digest (the password never crosses the network), and Basic as well
// inside TLS (for Prometheus, which has no Digest).
class WebServer
{
public:
    // `handler` answers every authenticated request: path as received (percent-encoded, dot
    // segments resolved), query decoded or null.
    using Handler = std::function<void(SoupServerMessage*, const char* path, GHashTable* query)>;

    // Listens at once; throws std::runtime_error when it cannot (address in use, bad
    // certificate...).
    WebServer(const WebServerConfig& config, Handler handler);
    ~WebServer();
    WebServer(const WebServer&) = delete;
    WebServer& operator=(const WebServer&) = delete;

    uint16_t port() const { return port_; }
    std::string url() const;
    // Clients connected now.
    unsigned clients();
    uint64_t refused() const { return refused_; }

private:
    static gboolean incoming(GSocketService* service, GSocketConnection* connection,
                             GObject* source, gpointer server);
    static void request(SoupServer* soup, SoupServerMessage* message, const char* path,
                        GHashTable* query, gpointer server);
    void accept(GSocketConnection* connection);
    void refuse(GSocketConnection* connection);

    const WebServerConfig config_;
    Handler handler_;
    SoupServer* soup_ = nullptr;
    GSocketService* service_ = nullptr;
    GTlsCertificate* certificate_ = nullptr;
    uint16_t port_ = 0;
    std::vector<GIOStream*> clients_; // a reference each, let go once libsoup closed it
    uint64_t refused_ = 0;
    std::chrono::steady_clock::time_point last_refusal_report_;
};

} // namespace pvshm::cli
