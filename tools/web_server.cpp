// SPDX-License-Identifier: LGPL-2.1-or-later
#include "web_server.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <memory>
#include <stdexcept>

namespace pvshm::cli {
namespace {

constexpr const char* kRealm = "pvshm";
// What a client past the cap reads before its connection is closed (plain HTTP only).
constexpr char kBusy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                         "Content-Length: 31\r\nConnection: close\r\n\r\n"
                         "{\"error\": \"too many clients\"}\r\n";
// At most one line on stderr per this many seconds about refused clients (a flood would
// otherwise flood the log too).
constexpr auto kRefusalReportInterval = std::chrono::seconds(10);

std::string message_of(const GError* error)
{
    return error ? error->message : "unknown error";
}

char* digest_password(SoupAuthDomain* domain, SoupServerMessage*, const char* user,
                      gpointer credentials)
{
    const auto* expected = static_cast<const WebCredentials*>(credentials);
    if (expected->user != user)
        return nullptr;
    return soup_auth_domain_digest_encode_password(user, soup_auth_domain_get_realm(domain),
                                                   expected->password.c_str());
}

// Looks at every byte given whatever differs, so that the time taken tells nothing.
bool same_secret(const std::string& given, const std::string& expected)
{
    unsigned char difference = given.size() == expected.size() ? 0 : 1;
    for (size_t i = 0; i < given.size(); ++i)
        difference |= static_cast<unsigned char>(given[i] ^ expected[i % expected.size()]);
    return difference == 0;
}

gboolean basic_password(SoupAuthDomain*, SoupServerMessage*, const char* user, const char* password,
                        gpointer credentials)
{
    const auto* expected = static_cast<const WebCredentials*>(credentials);
    return same_secret(user, expected->user) && same_secret(password, expected->password);
}

} // namespace

WebServer::WebServer(const WebServerConfig& config, Handler handler)
    : config_(config), handler_(std::move(handler))
{
    g_autoptr(GError) error = nullptr;
    if (config_.tls_certificate_file) {
        const char* certificate = config_.tls_certificate_file->c_str();
        certificate_ = config_.tls_key_file
                           ? g_tls_certificate_new_from_files(certificate,
                                                              config_.tls_key_file->c_str(), &error)
                           : g_tls_certificate_new_from_file(certificate, &error);
        if (!certificate_)
            throw std::runtime_error("cannot use the TLS certificate: " + message_of(error));
    }

    // raw-paths: the routes see the path as sent, still percent-encoded: "/api%2Fids" is not
    // "/api/ids", and "a%2Fb" is an invalid id rather than two path segments.
    soup_ = soup_server_new("server-header", "pvshm-web", "raw-paths", TRUE, nullptr);
    if (config_.credentials) {
        g_autoptr(SoupAuthDomain) digest = soup_auth_domain_digest_new("realm", kRealm, nullptr);
        soup_auth_domain_add_path(digest, "/");
        soup_auth_domain_digest_set_auth_callback(
            digest, digest_password, const_cast<WebCredentials*>(&*config_.credentials), nullptr);
        soup_server_add_auth_domain(soup_, digest);
        if (certificate_) {
            g_autoptr(SoupAuthDomain) basic = soup_auth_domain_basic_new("realm", kRealm, nullptr);
            soup_auth_domain_add_path(basic, "/");
            soup_auth_domain_basic_set_auth_callback(
                basic, basic_password, const_cast<WebCredentials*>(&*config_.credentials), nullptr);
            soup_server_add_auth_domain(soup_, basic);
        }
    }
    soup_server_add_handler(soup_, nullptr, request, this, nullptr);

    g_autoptr(GInetAddress) address = g_inet_address_new_from_string(config_.address.c_str());
    if (!address)
        throw std::runtime_error("--listen: '" + config_.address +
                                 "' is not an IPv4 or IPv6 address");
    g_autoptr(GSocketAddress) socket_address = g_inet_socket_address_new(address, config_.port);
    service_ = g_socket_service_new();
    g_autoptr(GSocketAddress) effective = nullptr;
    const gboolean listening = g_socket_listener_add_address(
        G_SOCKET_LISTENER(service_), socket_address, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
        nullptr, &effective, &error);
    if (!listening)
        throw std::runtime_error("cannot listen on " + config_.address + " port " +
                                 std::to_string(config_.port) + ": " + message_of(error));
    port_ = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(effective));
    g_signal_connect(service_, "incoming", G_CALLBACK(incoming), this);
    g_socket_service_start(service_);
}

WebServer::~WebServer()
{
    for (GIOStream* stream : clients_)
        g_object_unref(stream);
    g_socket_service_stop(service_);
    g_socket_listener_close(G_SOCKET_LISTENER(service_));
    g_object_unref(service_);
    soup_server_disconnect(soup_);
    g_object_unref(soup_);
    if (certificate_)
        g_object_unref(certificate_);
}

unsigned WebServer::clients()
{
    // libsoup closes a client's stream when it is done with it.
    const auto closed = std::remove_if(clients_.begin(), clients_.end(), [](GIOStream* stream) {
        if (!g_io_stream_is_closed(stream))
            return false;
        g_object_unref(stream);
        return true;
    });
    clients_.erase(closed, clients_.end());
    return static_cast<unsigned>(clients_.size());
}

std::string WebServer::url() const
{
    const bool ipv6 = config_.address.find(':') != std::string::npos;
    return std::string(certificate_ ? "https" : "http") + "://" +
           (ipv6 ? "[" + config_.address + "]" : config_.address) + ":" + std::to_string(port_) +
           "/";
}

gboolean WebServer::incoming(GSocketService*, GSocketConnection* connection, GObject*,
                             gpointer server)
{
    auto* self = static_cast<WebServer*>(server);
    if (self->clients() >= self->config_.max_clients)
        self->refuse(connection);
    else
        self->accept(connection);
    return TRUE;
}

void WebServer::accept(GSocketConnection* connection)
{
    GSocket* socket = g_socket_connection_get_socket(connection);
    g_socket_set_timeout(socket, config_.client_timeout_seconds);
    GIOStream* stream = G_IO_STREAM(connection);
    g_autoptr(GIOStream) tls = nullptr;
    if (certificate_) {
        g_autoptr(GError) error = nullptr;
        tls = g_tls_server_connection_new(stream, certificate_, &error);
        if (!tls) {
            std::fprintf(stderr, "pvshm web: warning: no TLS for a client: %s\n",
                         message_of(error).c_str());
            g_io_stream_close(stream, nullptr, nullptr);
            return;
        }
        stream = tls;
    }
    clients_.push_back(G_IO_STREAM(g_object_ref(stream)));
    g_autoptr(GSocketAddress) local = g_socket_connection_get_local_address(connection, nullptr);
    g_autoptr(GSocketAddress) remote = g_socket_connection_get_remote_address(connection, nullptr);
    soup_server_accept_iostream(soup_, stream, local, remote, nullptr);
}

void WebServer::refuse(GSocketConnection* connection)
{
    ++refused_;
    const auto now = std::chrono::steady_clock::now();
    if (refused_ == 1 || now - last_refusal_report_ >= kRefusalReportInterval) {
        std::fprintf(stderr,
                     "pvshm web: warning: refusing clients: %u connected, the most "
                     "--max-clients allows (%llu refused so far)\n",
                     clients(), static_cast<unsigned long long>(refused_));
        last_refusal_report_ = now;
    }
    if (!certificate_) {
        GSocket* socket = g_socket_connection_get_socket(connection);
        g_socket_set_blocking(socket, FALSE);
        g_socket_send(socket, kBusy, sizeof kBusy - 1, nullptr, nullptr);
    }
    g_io_stream_close(G_IO_STREAM(connection), nullptr, nullptr);
}

void WebServer::request(SoupServer*, SoupServerMessage* message, const char* path,
                        GHashTable* query, gpointer server)
{
    try {
        static_cast<WebServer*>(server)->handler_(message, path, query);
    } catch (const std::exception& error) {
        // No exception crosses into libsoup: the client learns what went wrong.
        soup_server_message_set_status(message, SOUP_STATUS_INTERNAL_SERVER_ERROR, nullptr);
        const std::string body = std::string("{\"error\": \"internal error\"}\n");
        soup_server_message_set_response(message, "application/json", SOUP_MEMORY_COPY, body.data(),
                                         body.size());
        std::fprintf(stderr, "pvshm web: %s: %s\n", path, error.what());
    }
}

} // namespace pvshm::cli
