// SPDX-License-Identifier: LGPL-2.1-or-later
#include "rtsp_gate.hpp"

#include <algorithm>
#include <cerrno>
#include <list>
#include <mutex>
#include <optional>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <vector>

namespace pvshm::cli {
namespace {

using Clock = std::chrono::steady_clock;

// Connections taken from the backlog per wake-up, so that a flood cannot hold the main loop.
constexpr int kAcceptBurst = 16;
// After accept() failed (file descriptors exhausted), how long the listener rests: retrying at
// once would spin, the listening socket staying readable.
constexpr guint kAcceptPauseMs = 250;
// How often pending connections are looked at for their deadline.
constexpr guint kSweepIntervalMs = 250;
// How often a TLS connection whose ClientHello has partly arrived is looked at again (a wait on
// the socket would wake at once: the bytes peeked at stay readable).
constexpr guint kHelloRecheckMs = 50;
// TLS record header: content type, version (2 bytes), length (2 bytes); type 22 is handshake.
constexpr size_t kTlsRecordHeader = 5;
constexpr unsigned char kTlsHandshake = 22;

// What a connection has said so far.
enum class Hello
{
    Whole,   // its first request (over TLS: the first record) has begun (has arrived whole)
    Partial, // nothing yet (over TLS: not all of the first record)
    Refused, // closed, or not TLS where TLS is expected
};

Hello peek_hello(GSocket* socket, bool tls)
{
    const int fd = g_socket_get_fd(socket);
    unsigned char header[kTlsRecordHeader];
    const ssize_t got = recv(fd, header, sizeof header, MSG_PEEK | MSG_DONTWAIT);
    if (got < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? Hello::Partial
                                                                         : Hello::Refused;
    if (got == 0)
        return Hello::Refused;
    if (!tls)
        return Hello::Whole;
    if (header[0] != kTlsHandshake)
        return Hello::Refused;
    if (static_cast<size_t>(got) < kTlsRecordHeader)
        return Hello::Partial;
    const size_t record = kTlsRecordHeader + (size_t{header[3]} << 8 | header[4]);
    int available = 0;
    if (ioctl(fd, FIONREAD, &available) != 0)
        return Hello::Refused;
    return static_cast<size_t>(available) >= record ? Hello::Whole : Hello::Partial;
}

std::string error_text(GError* error)
{
    std::string text = error ? error->message : "unknown error";
    g_clear_error(&error);
    return text;
}

// "192.0.2.1" and 40000 for a connected socket; empty and 0 when it has no peer any more.
std::pair<std::string, int> peer_of(GSocket* socket)
{
    g_autoptr(GSocketAddress) remote = g_socket_get_remote_address(socket, nullptr);
    if (!remote || !G_IS_INET_SOCKET_ADDRESS(remote))
        return {};
    auto* inet = G_INET_SOCKET_ADDRESS(remote);
    g_autofree gchar* ip = g_inet_address_to_string(g_inet_socket_address_get_address(inet));
    return {ip, g_inet_socket_address_get_port(inet)};
}

} // namespace

GateLimits default_gate_limits()
{
    GateLimits limits;
    rlimit files{};
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY)
        limits.max_pending = std::clamp<size_t>(files.rlim_cur / 16, 4, limits.max_pending);
    return limits;
}

struct ConnectionGate::Core : std::enable_shared_from_this<Core>
{
    // A connection not yet admitted: first a socket waiting for its first request (over TLS,
    // for its whole ClientHello),
    // then a client of the server.
    struct Pending
    {
        uint64_t number = 0;
        Clock::time_point since;
        GSocket* socket = nullptr;       // owned, until handed to the server
        GSource* waiting = nullptr;      // owned: the wait for the first request
        GstRTSPClient* client = nullptr; // the server's
        bool hello_partial = false;      // `waiting` is a timer, not a wait on the socket
    };

    GstRTSPServer* server = nullptr;
    GSocket* listener = nullptr;
    bool tls = false;
    GateLimits limits;
    WarningHandler on_warning;

    // Main thread only.
    GSource* accepting = nullptr;
    guint resume_source = 0;
    guint sweep_source = 0;
    gulong connected_handler = 0;
    bool accept_failing = false;
    uint64_t numbered = 0;
    std::optional<uint64_t> handing_over;

    std::mutex lock;            // of `pending`: a client's "closed" may come from another thread
    std::list<Pending> pending; // oldest first

    ~Core()
    {
        for (Pending& entry : pending)
            release(entry);
    }

    // Runs `use` on the pending connection `number`, under the lock; false when it is gone.
    template <typename Use> bool with(uint64_t number, Use use)
    {
        std::lock_guard guard(lock);
        for (Pending& entry : pending)
            if (entry.number == number) {
                use(entry);
                return true;
            }
        return false;
    }

    template <typename Match> std::optional<Pending> take(Match match)
    {
        std::lock_guard guard(lock);
        auto found = std::find_if(pending.begin(), pending.end(), match);
        if (found == pending.end())
            return std::nullopt;
        Pending entry = *found;
        pending.erase(found);
        return entry;
    }

    std::optional<Pending> take(uint64_t number)
    {
        return take([number](const Pending& entry) { return entry.number == number; });
    }

    // What the gate owns of a connection it no longer tracks.
    static void release(Pending& entry)
    {
        if (entry.waiting) {
            g_source_destroy(entry.waiting);
            g_source_unref(entry.waiting);
        }
        if (entry.socket) {
            g_socket_close(entry.socket, nullptr);
            g_object_unref(entry.socket);
        }
    }

    // Ends a connection taken out of `pending`.
    static void close(Pending& entry)
    {
        release(entry);
        if (entry.client) {
            // The server drops its reference as the client closes, inside
            // gst_rtsp_client_close(), which must not finalize the client it runs on.
            g_autoptr(GstRTSPClient) client = GST_RTSP_CLIENT(g_object_ref(entry.client));
            // A TLS handshake blocked in a GLib thread on this socket returns at once.
            if (GstRTSPConnection* connection = gst_rtsp_client_get_connection(client))
                g_socket_shutdown(gst_rtsp_connection_get_read_socket(connection), TRUE, TRUE,
                                  nullptr);
            gst_rtsp_client_close(client);
        }
    }

    // Closes pending connections until `kept` are left: first the oldest of those that have not
    // said anything yet, then the oldest of all. A viewer that connected during a flood of silent
    // connections has sent its request by then and stays.
    void close_oldest_beyond(size_t kept)
    {
        for (;;) {
            std::optional<Pending> victim;
            {
                std::lock_guard guard(lock);
                if (pending.size() <= kept)
                    return;
                auto chosen = std::find_if(pending.begin(), pending.end(), [this](Pending& entry) {
                    return entry.socket && peek_hello(entry.socket, tls) != Hello::Whole;
                });
                if (chosen == pending.end())
                    chosen = pending.begin();
                victim = *chosen;
                pending.erase(chosen);
            }
            close(*victim);
        }
    }

    void sweep()
    {
        const auto deadline = Clock::now() - limits.pending_timeout;
        std::vector<Pending> expired;
        {
            std::lock_guard guard(lock);
            while (!pending.empty() && pending.front().since <= deadline) {
                expired.push_back(pending.front());
                pending.pop_front();
            }
        }
        for (Pending& entry : expired)
            close(entry);
    }

    void accepted(GSocket* socket);
    gboolean hello_arrived(uint64_t number);
    void hand_over(uint64_t number);
    void connected(GstRTSPClient* client);
    void start_accepting();
    void pause_accepting(const std::string& reason);
    void stop();
};

namespace {

using Core = ConnectionGate::Core;

struct HelloWait
{
    Core* core;
    uint64_t number;
};

gboolean on_hello(gpointer data)
{
    const auto& wait = *static_cast<HelloWait*>(data);
    return wait.core->hello_arrived(wait.number);
}

gboolean on_hello_socket(GSocket*, GIOCondition, gpointer data)
{
    return on_hello(data);
}

void free_hello_wait(gpointer data)
{
    delete static_cast<HelloWait*>(data);
}

gboolean on_incoming(GSocket* listener, GIOCondition, gpointer data)
{
    auto& core = *static_cast<Core*>(data);
    for (int i = 0; i < kAcceptBurst; ++i) {
        GError* error = nullptr;
        GSocket* socket = g_socket_accept(listener, nullptr, &error);
        if (!socket) {
            if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
                g_error_free(error);
                return G_SOURCE_CONTINUE;
            }
            core.pause_accepting(error_text(error));
            return G_SOURCE_REMOVE;
        }
        core.accept_failing = false;
        core.accepted(socket);
    }
    return G_SOURCE_CONTINUE;
}

gboolean resume_accepting(gpointer data)
{
    auto& core = *static_cast<Core*>(data);
    core.resume_source = 0;
    core.start_accepting();
    return G_SOURCE_REMOVE;
}

gboolean sweep_pending(gpointer data)
{
    static_cast<Core*>(data)->sweep();
    return G_SOURCE_CONTINUE;
}

void on_client_connected(GstRTSPServer*, GstRTSPClient* client, gpointer data)
{
    static_cast<Core*>(data)->connected(client);
}

// The client left, or became a viewer: either way no longer pending.
void forget_client(GstRTSPClient* client, gpointer data)
{
    (**static_cast<std::shared_ptr<Core>*>(data)).take([client](const Core::Pending& entry) {
        return entry.client == client;
    });
}

void on_client_play(GstRTSPClient* client, GstRTSPContext*, gpointer data)
{
    forget_client(client, data);
}

void release_core(gpointer data, GClosure*)
{
    delete static_cast<std::shared_ptr<Core>*>(data);
}

} // namespace

void Core::accepted(GSocket* socket)
{
    const uint64_t number = ++numbered;
    {
        std::lock_guard guard(lock);
        Pending entry;
        entry.number = number;
        entry.since = Clock::now();
        entry.socket = socket;
        pending.push_back(entry);
    }
    close_oldest_beyond(limits.max_pending);
    with(number, [this](Pending& entry) {
        entry.waiting = g_socket_create_source(
            entry.socket, GIOCondition(G_IO_IN | G_IO_HUP | G_IO_ERR), nullptr);
        g_source_set_callback(entry.waiting, G_SOURCE_FUNC(on_hello_socket),
                              new HelloWait{this, entry.number}, free_hello_wait);
        g_source_attach(entry.waiting, nullptr);
    });
}

// The wait for the first request of `number` woke: hands the connection over when it has begun
// (over TLS: when the ClientHello is whole), closes it when it is closed or not TLS where TLS
// is expected, waits on otherwise.
gboolean Core::hello_arrived(uint64_t number)
{
    Hello hello = Hello::Refused;
    bool polling = false;
    if (!with(number, [&](Pending& entry) {
            hello = peek_hello(entry.socket, tls);
            polling = entry.hello_partial;
        }))
        return G_SOURCE_REMOVE;
    if (hello == Hello::Refused) {
        if (auto entry = take(number))
            close(*entry);
        return G_SOURCE_REMOVE;
    }
    if (hello == Hello::Partial && polling)
        return G_SOURCE_CONTINUE;
    // The wait running now stops (G_SOURCE_REMOVE): let go of it.
    with(number, [&](Pending& entry) {
        g_source_unref(entry.waiting);
        entry.waiting = nullptr;
        if (hello == Hello::Partial) {
            entry.waiting = g_timeout_source_new(kHelloRecheckMs);
            entry.hello_partial = true;
            g_source_set_callback(entry.waiting, on_hello, new HelloWait{this, number},
                                  free_hello_wait);
            g_source_attach(entry.waiting, nullptr);
        }
    });
    if (hello == Hello::Whole)
        hand_over(number);
    return G_SOURCE_REMOVE;
}

void Core::hand_over(uint64_t number)
{
    GSocket* socket = nullptr;
    with(number, [&](Pending& entry) { std::swap(socket, entry.socket); });
    if (!socket)
        return;
    const auto [ip, port] = peer_of(socket);
    // Emits client-connected (connected() below) before the client reads anything.
    handing_over = number;
    const bool handed =
        gst_rtsp_server_transfer_connection(server, socket, ip.c_str(), port, nullptr);
    handing_over.reset();
    if (!handed)
        take(number);
}

void Core::connected(GstRTSPClient* client)
{
    if (!handing_over || !with(*handing_over, [client](Pending& entry) { entry.client = client; }))
        return;
    const std::shared_ptr<Core> self = shared_from_this();
    g_signal_connect_data(client, "closed", G_CALLBACK(forget_client),
                          new std::shared_ptr<Core>(self), release_core, GConnectFlags(0));
    g_signal_connect_data(client, "play-request", G_CALLBACK(on_client_play),
                          new std::shared_ptr<Core>(self), release_core, GConnectFlags(0));
    // What gst-rtsp-server does to a connection it accepts itself, the TLS set-up among others.
    g_autoptr(GstRTSPAuth) auth = gst_rtsp_server_get_auth(server);
    GstRTSPContext context{};
    context.server = server;
    context.conn = gst_rtsp_client_get_connection(client);
    context.auth = auth;
    gst_rtsp_context_push_current(&context);
    const bool allowed = gst_rtsp_auth_check(GST_RTSP_AUTH_CHECK_CONNECT);
    gst_rtsp_context_pop_current(&context);
    if (!allowed) // closed by the next sweep
        with(*handing_over, [](Pending& entry) { entry.since = Clock::time_point::min(); });
}

void Core::start_accepting()
{
    accepting = g_socket_create_source(listener, G_IO_IN, nullptr);
    g_source_set_callback(accepting, G_SOURCE_FUNC(on_incoming), this, nullptr);
    g_source_attach(accepting, nullptr);
}

void Core::pause_accepting(const std::string& reason)
{
    g_source_unref(accepting);
    accepting = nullptr;
    if (!accept_failing && on_warning)
        on_warning("cannot accept connections (" + reason +
                   "): closing the oldest one that has not authenticated");
    accept_failing = true;
    // The descriptor it held is what the next accept needs.
    size_t count = 0;
    {
        std::lock_guard guard(lock);
        count = pending.size();
    }
    if (count > 0)
        close_oldest_beyond(count - 1);
    resume_source = g_timeout_add(kAcceptPauseMs, resume_accepting, this);
}

void Core::stop()
{
    if (accepting) {
        g_source_destroy(accepting);
        g_source_unref(accepting);
        accepting = nullptr;
    }
    if (resume_source)
        g_source_remove(resume_source);
    if (sweep_source)
        g_source_remove(sweep_source);
    if (connected_handler)
        g_signal_handler_disconnect(server, connected_handler);
    resume_source = sweep_source = 0;
    connected_handler = 0;
    std::list<Pending> left;
    {
        std::lock_guard guard(lock);
        left.swap(pending);
    }
    for (Pending& entry : left)
        close(entry);
}

ConnectionGate::ConnectionGate(GstRTSPServer* server, GSocket* listener, bool tls,
                               GateLimits limits, WarningHandler on_warning)
    : core_(std::make_shared<Core>())
{
    Core& core = *core_;
    core.server = GST_RTSP_SERVER(g_object_ref(server));
    core.listener = G_SOCKET(g_object_ref(listener));
    core.tls = tls;
    core.limits = limits;
    core.on_warning = std::move(on_warning);
    core.connected_handler =
        g_signal_connect(server, "client-connected", G_CALLBACK(on_client_connected), &core);
    core.sweep_source = g_timeout_add(kSweepIntervalMs, sweep_pending, &core);
    core.start_accepting();
}

ConnectionGate::~ConnectionGate()
{
    core_->stop();
    g_socket_close(core_->listener, nullptr);
    g_clear_object(&core_->listener);
    g_clear_object(&core_->server);
}

void ConnectionGate::admit(GstRTSPClient* client)
{
    core_->take([client](const Core::Pending& entry) { return entry.client == client; });
}

uint16_t ConnectionGate::port() const
{
    g_autoptr(GSocketAddress) local = g_socket_get_local_address(core_->listener, nullptr);
    if (!local || !G_IS_INET_SOCKET_ADDRESS(local))
        return 0;
    return g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(local));
}

} // namespace pvshm::cli
