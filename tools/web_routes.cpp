// SPDX-License-Identifier: LGPL-2.1-or-later
#include "web_routes.hpp"

#include <cstring>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>

#include <pvshm/error.hpp>
#include <pvshm/shared_mem_id.hpp>

#include "commands.hpp"
#include "json.hpp"
#include "snapshot_image.hpp"
#include "status_json.hpp"

namespace pvshm::cli {
namespace {

// Widths a stream may be asked for: a tile's to an 8K frame's.
constexpr uint32_t kMinWidth = 16;
constexpr uint32_t kMaxWidth = 7680;

// The pages run only their own inline scripts and styles and talk only to this server: a
// browser refuses any other request they would make.
constexpr const char* kPagePolicy =
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

void respond(SoupServerMessage* message, guint status, const char* type, const std::string& body)
{
    SoupMessageHeaders* headers = soup_server_message_get_response_headers(message);
    soup_message_headers_replace(headers, "Cache-Control", "no-store");
    soup_message_headers_replace(headers, "X-Content-Type-Options", "nosniff");
    soup_server_message_set_status(message, status, nullptr);
    soup_server_message_set_response(message, type, SOUP_MEMORY_COPY, body.data(), body.size());
}

void respond_json(SoupServerMessage* message, guint status, const std::string& json)
{
    respond(message, status, "application/json", json + "\n");
}

void respond_error(SoupServerMessage* message, guint status, const std::string& error)
{
    JsonObject object;
    object.add("error", error);
    respond_json(message, status, object.str());
}

void respond_page(SoupServerMessage* message, const std::string& page)
{
    soup_message_headers_replace(soup_server_message_get_response_headers(message),
                                 "Content-Security-Policy", kPagePolicy);
    respond(message, SOUP_STATUS_OK, "text/html; charset=utf-8", page);
}

std::vector<std::string> split_path(const std::string& path)
{
    std::vector<std::string> parts;
    size_t start = 1; // after the leading '/'
    while (start <= path.size()) {
        const size_t end = std::min(path.find('/', start), path.size());
        parts.push_back(path.substr(start, end - start));
        start = end + 1;
    }
    return parts;
}

// The id a path segment names, percent-decoding undone. nullopt (after answering) for a segment
// that names no id: "." and ".." (also encoded) are not ids but path steps (404); anything else
// that breaks the id rule, an encoded '/' or NUL included, is an invalid id (400).
std::optional<std::string> path_id(SoupServerMessage* message, const std::string& segment)
{
    gchar* decoded = g_uri_unescape_string(segment.c_str(), "/");
    if (!decoded) {
        respond_error(message, SOUP_STATUS_BAD_REQUEST,
                      "invalid id: a percent-encoded '/', NUL or bad escape in '" + segment +
                          "' (ids are " + kIdRule + ")");
        return std::nullopt;
    }
    std::string id = decoded;
    g_free(decoded);
    if (id == "." || id == ".." || id.empty()) {
        respond_error(message, SOUP_STATUS_NOT_FOUND, "no such path");
        return std::nullopt;
    }
    try {
        validate_id(id);
    } catch (const std::invalid_argument& error) {
        respond_error(message, SOUP_STATUS_BAD_REQUEST, error.what());
        return std::nullopt;
    }
    return id;
}

// The id's segment status; nullopt after answering 404 (no segment) or 409 (not usable).
std::optional<SegmentStatus> require_status(SoupServerMessage* message, Reader& reader)
{
    try {
        if (auto status = reader.status())
            return status;
        respond_error(message, SOUP_STATUS_NOT_FOUND, "no segment with id '" + reader.id() + "'");
    } catch (const std::exception& error) {
        respond_error(message, SOUP_STATUS_CONFLICT, error_text(error));
    }
    return std::nullopt;
}

// A query flag: absent, "0" or "false" is false, "1" or "true" true; nullopt otherwise.
std::optional<bool> query_flag(GHashTable* query, const char* name)
{
    const char* value =
        query ? static_cast<const char*>(g_hash_table_lookup(query, name)) : nullptr;
    if (!value || !std::strcmp(value, "0") || !std::strcmp(value, "false"))
        return false;
    if (!std::strcmp(value, "1") || !std::strcmp(value, "true"))
        return true;
    return std::nullopt;
}

// ?width=W: 0 when absent, nullopt when not a whole number of pixels in range.
std::optional<uint32_t> query_width(GHashTable* query)
{
    const char* value =
        query ? static_cast<const char*>(g_hash_table_lookup(query, "width")) : nullptr;
    if (!value)
        return 0;
    const size_t length = std::strlen(value);
    if (length == 0 || length > 5 || std::strspn(value, "0123456789") != length)
        return std::nullopt;
    const auto width = static_cast<uint32_t>(std::stoul(value));
    if (width < kMinWidth || width > kMaxWidth)
        return std::nullopt;
    return width;
}

void snapshot(SoupServerMessage* message, Reader& reader, bool raw)
{
    std::vector<uchar> png;
    uint64_t sequence = 0;
    try {
        const cv::Mat image = snapshot_image(reader, ColorOrder::RGB, raw, sequence);
        cv::imencode(".png", image, png);
    } catch (const DecodeError& error) {
        // The frame is there but its bytes are not an image: not the client's fault.
        respond_error(message, SOUP_STATUS_UNPROCESSABLE_ENTITY, error.what());
        return;
    } catch (const std::exception& error) {
        respond_error(message, SOUP_STATUS_NOT_FOUND, error_text(error)); // no frame yet
        return;
    }
    const std::string name = reader.id() + "-" + std::to_string(sequence) + ".png";
    soup_message_headers_replace(soup_server_message_get_response_headers(message),
                                 "Content-Disposition",
                                 ("inline; filename=\"" + name + "\"").c_str());
    respond(message, SOUP_STATUS_OK, "image/png",
            std::string(reinterpret_cast<const char*>(png.data()), png.size()));
}

} // namespace

WebRoutes::WebRoutes(ReaderOptions options, WebPages pages)
    : options_(options), pages_(std::move(pages)), rates_(options), broadcaster_(options)
{
}

void WebRoutes::handle(SoupServerMessage* message, const char* path, GHashTable* query)
{
    const char* method = soup_server_message_get_method(message);
    if (method != SOUP_METHOD_GET && method != SOUP_METHOD_HEAD) {
        soup_message_headers_replace(soup_server_message_get_response_headers(message), "Allow",
                                     "GET, HEAD");
        respond_error(message, SOUP_STATUS_METHOD_NOT_ALLOWED, "only GET and HEAD are served");
        return;
    }
    const std::string target = path;
    if (target == "/") {
        respond_page(message, pages_.overview);
        return;
    }
    if (target == "/metrics") {
        respond(message, SOUP_STATUS_OK, "text/plain; version=0.0.4; charset=utf-8",
                prometheus_metrics(options_, rates_));
        return;
    }
    if (target == "/api/ids") {
        respond_json(message, SOUP_STATUS_OK, segment_list_json(options_));
        return;
    }
    const std::vector<std::string> parts = split_path(target);
    if (parts.size() == 2 && parts[0] == "ids") {
        if (auto id = path_id(message, parts[1])) {
            Reader reader(*id, options_);
            if (require_status(message, reader))
                respond_page(message, pages_.id);
        }
        return;
    }
    if (parts.size() >= 3 && parts.size() <= 4 && parts[0] == "api" && parts[1] == "ids") {
        const std::string rest = parts.size() == 4 ? parts[3] : "";
        if (parts.size() == 3 || rest == "snapshot.png" || rest == "stream.mjpeg") {
            if (auto id = path_id(message, parts[2]))
                id_path(message, *id, rest, query);
            return;
        }
    }
    respond_error(message, SOUP_STATUS_NOT_FOUND, "no such path");
}

void WebRoutes::id_path(SoupServerMessage* message, const std::string& id, const std::string& rest,
                        GHashTable* query)
{
    Reader reader(id, options_);
    const auto status = require_status(message, reader);
    if (!status)
        return;
    if (rest.empty()) {
        respond_json(message, SOUP_STATUS_OK, segment_json(*status));
    } else if (rest == "snapshot.png") {
        if (const auto raw = query_flag(query, "raw"))
            snapshot(message, reader, *raw);
        else
            respond_error(message, SOUP_STATUS_BAD_REQUEST, "raw: 0 or 1");
    } else if (const auto width = query_width(query)) {
        if (soup_server_message_get_method(message) == SOUP_METHOD_HEAD)
            respond(message, SOUP_STATUS_OK, "multipart/x-mixed-replace", "");
        else
            broadcaster_.add_viewer(message, id, *width);
    } else {
        respond_error(message, SOUP_STATUS_BAD_REQUEST,
                      "width: a whole number of pixels from " + std::to_string(kMinWidth) + " to " +
                          std::to_string(kMaxWidth));
    }
}

} // namespace pvshm::cli
