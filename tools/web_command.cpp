// SPDX-License-Identifier: LGPL-2.1-or-later
// `pvshm web`: the web console of CONTRACT section 11, until Ctrl-C.
#include "web_command.hpp"

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <glib-unix.h>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include "commands.hpp"
#include "secret_file.hpp"
#include "web_routes.hpp"
#include "web_server.hpp"

namespace pvshm::cli {
namespace {

// How often every id's frames-written counter is read, for /metrics' frame rates.
constexpr guint kSampleIntervalSeconds = 1;

struct WebOptions
{
    int port = 8080;
    std::optional<std::string> listen;
    std::optional<std::string> user;
    std::optional<std::string> password_file;
    std::optional<std::string> tls_certificate;
    std::optional<std::string> tls_key;
    unsigned max_clients = 64;
    bool allow_other_owner = false;
};

bool is_loopback(const std::string& address)
{
    return address.rfind("127.", 0) == 0 || address == "::1";
}

gboolean quit_loop(gpointer loop)
{
    g_main_loop_quit(static_cast<GMainLoop*>(loop));
    return G_SOURCE_CONTINUE;
}

gboolean sample_rates(gpointer routes)
{
    static_cast<WebRoutes*>(routes)->sample();
    return G_SOURCE_CONTINUE;
}

int run_web(const WebOptions& options)
{
    WebServerConfig config;
    if (options.user) {
        if (options.user->empty() || options.user->find(':') != std::string::npos)
            throw std::runtime_error("--user: a user name is not empty and has no ':'");
        std::string password = read_password(*options.password_file);
        if (readable_by_others(*options.password_file))
            std::fprintf(stderr,
                         "pvshm web: warning: the password file '%s' can be read by other "
                         "users (chmod 600 it)\n",
                         options.password_file->c_str());
        config.credentials = WebCredentials{*options.user, std::move(password)};
    }
    config.address = options.listen.value_or("127.0.0.1");
    if (config.address == "localhost")
        config.address = "127.0.0.1";
    config.port = static_cast<uint16_t>(options.port);
    config.tls_certificate_file = options.tls_certificate;
    config.tls_key_file = options.tls_key;
    config.max_clients = options.max_clients;
    WebRoutes routes(reader_options(options.allow_other_owner), load_web_pages());
    WebServer server(config, [&routes](SoupServerMessage* message, const char* path,
                                       GHashTable* query) { routes.handle(message, path, query); });
    routes.sample();
    if (!config.credentials && !is_loopback(config.address))
        std::fprintf(stderr,
                     "pvshm web: warning: anyone who can reach %s may watch: give --user and "
                     "--password-file to require a password\n",
                     config.address.c_str());
    std::printf("pvshm web: listening on %s (authentication: %s%s)\n", server.url().c_str(),
                !config.credentials           ? "none"
                : config.tls_certificate_file ? "digest or basic"
                                              : "digest",
                config.tls_certificate_file ? ", TLS" : "");
    std::fflush(stdout);

    GMainLoop* loop = g_main_loop_new(nullptr, FALSE);
    const guint sources[] = {
        g_unix_signal_add(SIGINT, quit_loop, loop),
        g_unix_signal_add(SIGTERM, quit_loop, loop),
        g_timeout_add_seconds(kSampleIntervalSeconds, sample_rates, &routes),
    };
    g_main_loop_run(loop);
    for (guint source : sources)
        g_source_remove(source);
    g_main_loop_unref(loop);
    std::printf("pvshm web: stopped\n");
    return 0;
}

} // namespace

void add_web_command(CLI::App& app, std::function<int()>& run)
{
    auto options = std::make_shared<WebOptions>();
    auto* web = app.add_subcommand(
        "web", "Serve a web console of every id (live pictures, facts, plots, /metrics for "
               "Prometheus) until Ctrl-C");
    web->add_option("-p,--port", options->port, "TCP port to listen on (0: any free port)")
        ->check(CLI::Range(0, 65535))
        ->capture_default_str();
    web->add_option("--listen", options->listen,
                    "IPv4 or IPv6 address to listen on (default: 127.0.0.1, this machine only)");
    auto* user = web->add_option("--user", options->user,
                                 "Require this user name and password on every path (digest "
                                 "authentication; basic too inside TLS)");
    auto* password = web->add_option("--password-file", options->password_file,
                                     "File whose first line is the password of --user");
    user->needs(password);
    password->needs(user);
    auto* certificate =
        web->add_option("--tls-cert", options->tls_certificate,
                        "PEM certificate (and key, unless --tls-key): serve https:// only");
    web->add_option("--tls-key", options->tls_key, "PEM private key of --tls-cert")
        ->needs(certificate);
    web->add_option("--max-clients", options->max_clients,
                    "Connections served at once; more are answered 503 and closed, so that a "
                    "flood cannot starve the viewers already connected")
        ->check(CLI::Range(1, 10000))
        ->capture_default_str();
    web->add_flag("--allow-other-owner", options->allow_other_owner,
                  "Read segments owned by another user (refused by default: they could have "
                  "been planted)");
    web->callback([options, &run] { run = [options] { return run_web(*options); }; });
}

} // namespace pvshm::cli
