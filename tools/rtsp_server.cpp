// SPDX-License-Identifier: LGPL-2.1-or-later
#include "rtsp_server.hpp"

#include <algorithm>
#include <atomic>
#include <gio/gio.h>
#include <glib.h>
#include <map>
#include <mutex>
#include <stdexcept>
#include <utility>

#include <gst/gst.h>
#include <gst/rtsp-server/rtsp-server.h>

#include <pvshm/pvshm.hpp>

#include "rtsp_auth.hpp"
#include "rtsp_gate.hpp"

namespace pvshm::cli {
namespace {

// In order of preference for each encoding. Every H.264 encoder is told to send a key frame at
// least every second, so that a viewer joining a shared stream waits at most that long for a
// picture, and to repeat SPS/PPS in band every second, before a key frame (config-interval=1), so
// that a size change of the writer reaches viewers who only read the SDP once. Not before every
// key frame (config-interval=-1): rtph264pay then puts them between the slices of one picture,
// where FFmpeg's RTSP client (OpenCV, ffplay, VLC) starts a new picture and conceals half of it.
// I420 is what every decoder takes (from RGB, videoconvert would otherwise pick 4:4:4, a profile
// few players decode).
constexpr RtspEncoder kEncoders[] = {
    {RtspEncoding::H264, "x264enc", "H.264 by x264enc",
     "video/x-raw,format=I420 ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 "
     "! rtph264pay name=pay0 pt=96 config-interval=1"},
    {RtspEncoding::H264, "openh264enc", "H.264 by openh264enc",
     "video/x-raw,format=I420 ! openh264enc usage-type=camera complexity=low gop-size=30 "
     "! rtph264pay name=pay0 pt=96 config-interval=1"},
    {RtspEncoding::Jpeg, "jpegenc", "JPEG by jpegenc",
     "video/x-raw,format=I420 ! jpegenc ! rtpjpegpay name=pay0 pt=26"},
};

// Connections the kernel queues for accept(). gst-rtsp-server's 5 made a burst of connections
// wait half-open for SYN-ACK retransmissions and reach the server seconds later, pushing a viewer
// that connected meanwhile out of ConnectionGate's pending connections. Queued ones hold no
// descriptor of this process.
constexpr gint kListenBacklog = 1024;
// The role every authenticated user (or, with TLS only, every client) is given.
constexpr const char* kViewerRole = "viewer";
// The pvshmsrc of each media pipeline, which remove_stream() sends the end of stream to.
constexpr const char* kSourceName = "source";
// The capsfilter that holds each media pipeline to the size it started with (keep_first_size).
constexpr const char* kSizeName = "size";

// Raw frames that videoconvert takes as they are stored go to it untouched (for I420 or NV12 no
// conversion at all); Bayer, encoded and channel-order-less frames are normalized to RGB by
// pvshmsrc first.
bool videoconvert_takes(PixelFormat format)
{
    switch (format) {
    case PixelFormat::Unknown:
    case PixelFormat::BayerRGGB:
    case PixelFormat::BayerBGGR:
    case PixelFormat::BayerGRBG:
    case PixelFormat::BayerGBRG:
    case PixelFormat::Rgb3Unordered:
        return false;
    default:
        return !is_encoded(format);
    }
}

// What `id` holds now: the format of its newest frame, Unknown when there is none to read.
PixelFormat current_format(const std::string& id)
{
    try {
        Reader reader(id);
        if (const auto view = reader.view_latest())
            return view->info().format;
    } catch (const SegmentError&) {
    }
    return PixelFormat::Unknown;
}

std::string media_launch(const std::string& id, const char* encoder_launch)
{
    // The id is 1 to 200 characters of [A-Za-z0-9._-]: nothing in it needs quoting.
    const bool normalize = !videoconvert_takes(current_format(id));
    return std::string("( pvshmsrc name=") + kSourceName + " shared-mem-id=" + id +
           (normalize ? " normalize=true" : "") +
           " is-live=true ! videoconvert ! videoscale add-borders=true ! capsfilter name=" +
           kSizeName + " ! " + encoder_launch + " )";
}

// What the callbacks share; they hold it through GLib destroy notifies, so it lives as long as
// the last object that can still call one, even past the RtspServer.
struct Shared
{
    RtspServer::EventHandler on_event;
    std::mutex event_lock;
    std::atomic<uint64_t> clients_connected{0};
    std::atomic<uint64_t> clients_numbered{0};
    std::atomic<uint64_t> frames_served{0};

    void emit(const RtspEvent& event)
    {
        std::lock_guard lock(event_lock);
        if (on_event)
            on_event(event);
    }
};

struct ClientState
{
    std::shared_ptr<Shared> shared;
    uint64_t number = 0;
    std::string address;
};

struct StreamState
{
    std::shared_ptr<Shared> shared;
    std::string id;
    const char* encoder_launch = nullptr; // RtspEncoder::launch, static
    // Pipelines built for the stream, each shared by all of its viewers at the time, the newest
    // last; `generation` tells their cache keys apart (media_factory_gen_key) and
    // `newest_generation` is the newest pipeline's.
    std::mutex lock;
    std::vector<GWeakRef*> medias;
    uint64_t generation = 0;
    uint64_t newest_generation = 0;

    ~StreamState()
    {
        for (GWeakRef* media : medias) {
            g_weak_ref_clear(media);
            delete media;
        }
    }
};

// The media factory of one id: its launch line is chosen whenever a pipeline is built for its
// viewers, from the format the id holds at that moment (media_launch), and a viewer who comes
// while the last pipeline shuts down gets a new one (media_factory_gen_key).
struct MediaFactory
{
    GstRTSPMediaFactory parent;
};
struct MediaFactoryClass
{
    GstRTSPMediaFactoryClass parent_class;
};
G_DEFINE_TYPE(MediaFactory, media_factory, GST_TYPE_RTSP_MEDIA_FACTORY)

constexpr const char* kStreamKey = "pvshm-stream";

StreamState& stream_of(GstRTSPMediaFactory* factory)
{
    return **static_cast<std::shared_ptr<StreamState>*>(
        g_object_get_data(G_OBJECT(factory), kStreamKey));
}

GstElement* media_factory_create_element(GstRTSPMediaFactory* factory, const GstRTSPUrl* url)
{
    const StreamState& stream = stream_of(factory);
    gst_rtsp_media_factory_set_launch(factory,
                                      media_launch(stream.id, stream.encoder_launch).c_str());
    return GST_RTSP_MEDIA_FACTORY_CLASS(media_factory_parent_class)->create_element(factory, url);
}

// True when the newest pipeline is shutting down or gone (its last viewer left).
bool newest_is_stopping(const std::vector<GWeakRef*>& medias)
{
    if (medias.empty())
        return false;
    g_autoptr(GstRTSPMedia) media = static_cast<GstRTSPMedia*>(g_weak_ref_get(medias.back()));
    if (!media)
        return true;
    const GstRTSPMediaStatus status = gst_rtsp_media_get_status(media);
    return status == GST_RTSP_MEDIA_STATUS_UNPREPARING ||
           status == GST_RTSP_MEDIA_STATUS_UNPREPARED || status == GST_RTSP_MEDIA_STATUS_ERROR;
}

// The key under which the factory caches the shared pipeline. gst-rtsp-server would hand a
// viewer who comes while the pipeline stops that stopping pipeline, which refuses to play (the
// viewer sees its connection end): such a viewer gets a key of its own, hence a new pipeline.
gchar* media_factory_gen_key(GstRTSPMediaFactory* factory, const GstRTSPUrl* url)
{
    StreamState& stream = stream_of(factory);
    uint64_t generation = 0;
    {
        std::lock_guard lock(stream.lock);
        if (stream.newest_generation == stream.generation && newest_is_stopping(stream.medias))
            stream.generation++;
        generation = stream.generation;
    }
    g_autofree gchar* base =
        GST_RTSP_MEDIA_FACTORY_CLASS(media_factory_parent_class)->gen_key(factory, url);
    return g_strdup_printf("%s#%" G_GUINT64_FORMAT, base, generation);
}

void media_factory_class_init(MediaFactoryClass* klass)
{
    GST_RTSP_MEDIA_FACTORY_CLASS(klass)->create_element = media_factory_create_element;
    GST_RTSP_MEDIA_FACTORY_CLASS(klass)->gen_key = media_factory_gen_key;
}

void media_factory_init(MediaFactory*) {}

// Drops the pipelines that no longer exist.
void forget_finished(std::vector<GWeakRef*>& medias)
{
    auto finished = [](GWeakRef* weak) {
        gpointer media = g_weak_ref_get(weak);
        if (media) {
            g_object_unref(media);
            return false;
        }
        g_weak_ref_clear(weak);
        delete weak;
        return true;
    };
    medias.erase(std::remove_if(medias.begin(), medias.end(), finished), medias.end());
}

template <typename T> gpointer hold(const std::shared_ptr<T>& pointer)
{
    return new std::shared_ptr<T>(pointer);
}

template <typename T> void release(gpointer held, GClosure*)
{
    delete static_cast<std::shared_ptr<T>*>(held);
}

template <typename T> void release_notify(gpointer held)
{
    delete static_cast<std::shared_ptr<T>*>(held);
}

template <typename T> T& held(gpointer data)
{
    return **static_cast<std::shared_ptr<T>*>(data);
}

GstPadProbeReturn count_frame(GstPad*, GstPadProbeInfo*, gpointer data)
{
    held<Shared>(data).frames_served++;
    return GST_PAD_PROBE_OK;
}

void on_media_unprepared(GstRTSPMedia*, gpointer data)
{
    auto& stream = held<StreamState>(data);
    stream.shared->emit({RtspEvent::Kind::PipelineFinished, 0, {}, stream.id, {}});
}

// A pipeline serves the size of its first frame for as long as it runs: frames of another size
// (a writer restarted with a new resolution) are scaled into it, their aspect kept with borders.
// Players do not all follow a size change inside a stream: OpenCV's FFmpeg backend went on
// returning the old picture, its scaler still built for the old size ("Slice parameters 0, 720
// are invalid"), while it reported success. A viewer who connects after the last one left gets
// a pipeline, and a size, of its own.
GstPadProbeReturn keep_first_size(GstPad*, GstPadProbeInfo* info, gpointer size_filter)
{
    GstEvent* event = GST_PAD_PROBE_INFO_EVENT(info);
    if (GST_EVENT_TYPE(event) != GST_EVENT_CAPS)
        return GST_PAD_PROBE_OK;
    GstCaps* caps = nullptr;
    gst_event_parse_caps(event, &caps);
    const GstStructure* format = gst_caps_get_structure(caps, 0);
    int width = 0;
    int height = 0;
    if (!gst_structure_get_int(format, "width", &width) ||
        !gst_structure_get_int(format, "height", &height))
        return GST_PAD_PROBE_OK;
    g_autoptr(GstCaps) served = gst_caps_new_simple("video/x-raw", "width", G_TYPE_INT, width,
                                                    "height", G_TYPE_INT, height, nullptr);
    int aspect_n = 1;
    int aspect_d = 1;
    if (gst_structure_get_fraction(format, "pixel-aspect-ratio", &aspect_n, &aspect_d))
        gst_caps_set_simple(served, "pixel-aspect-ratio", GST_TYPE_FRACTION, aspect_n, aspect_d,
                            nullptr);
    g_object_set(size_filter, "caps", served, nullptr);
    return GST_PAD_PROBE_REMOVE;
}

void on_media_configure(GstRTSPMediaFactory*, GstRTSPMedia* media, gpointer data)
{
    const auto& stream = *static_cast<std::shared_ptr<StreamState>*>(data);
    g_autoptr(GstElement) element = gst_rtsp_media_get_element(media);
    g_autoptr(GstElement) source = gst_bin_get_by_name(GST_BIN(element), kSourceName);
    GstElement* size_filter = gst_bin_get_by_name(GST_BIN(element), kSizeName);
    if (source && size_filter) {
        g_autoptr(GstPad) pad = gst_element_get_static_pad(source, "src");
        gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, keep_first_size, size_filter,
                          gst_object_unref);
    } else if (size_filter) {
        gst_object_unref(size_filter);
    }
    if (g_autoptr(GstElement) payloader = gst_bin_get_by_name(GST_BIN(element), "pay0")) {
        g_autoptr(GstPad) pad = gst_element_get_static_pad(payloader, "sink");
        gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, count_frame, hold(stream->shared),
                          release_notify<Shared>);
    }
    g_signal_connect_data(media, "unprepared", G_CALLBACK(on_media_unprepared), hold(stream),
                          release<StreamState>, GConnectFlags(0));
    {
        std::lock_guard lock(stream->lock);
        forget_finished(stream->medias);
        auto* weak = new GWeakRef;
        g_weak_ref_init(weak, media);
        stream->medias.push_back(weak);
        stream->newest_generation = stream->generation;
    }
    stream->shared->emit({RtspEvent::Kind::PipelineStarted, 0, {}, stream->id, {}});
}

// "/cam0" or "/cam0/stream=0" -> "cam0".
std::string id_of_path(const char* path)
{
    std::string id = path ? path : "";
    if (!id.empty() && id.front() == '/')
        id.erase(0, 1);
    return id.substr(0, id.find('/'));
}

void on_client_play(GstRTSPClient*, GstRTSPContext* context, gpointer data)
{
    const auto& client = held<ClientState>(data);
    const char* path = context && context->uri ? context->uri->abspath : nullptr;
    client.shared->emit(
        {RtspEvent::Kind::ClientPlaying, client.number, client.address, id_of_path(path), {}});
}

void on_client_closed(GstRTSPClient*, gpointer data)
{
    const auto& client = held<ClientState>(data);
    client.shared->clients_connected--;
    client.shared->emit(
        {RtspEvent::Kind::ClientDisconnected, client.number, client.address, {}, {}});
}

void on_client_connected(GstRTSPServer*, GstRTSPClient* client, gpointer data)
{
    const auto& shared = *static_cast<std::shared_ptr<Shared>*>(data);
    auto state = std::make_shared<ClientState>();
    state->shared = shared;
    state->number = ++shared->clients_numbered;
    if (GstRTSPConnection* connection = gst_rtsp_client_get_connection(client))
        if (const char* ip = gst_rtsp_connection_get_ip(connection))
            state->address = ip;
    shared->clients_connected++;
    g_signal_connect_data(client, "closed", G_CALLBACK(on_client_closed), hold(state),
                          release<ClientState>, GConnectFlags(0));
    g_signal_connect_data(client, "play-request", G_CALLBACK(on_client_play), hold(state),
                          release<ClientState>, GConnectFlags(0));
    shared->emit({RtspEvent::Kind::ClientConnected, state->number, state->address, {}, {}});
}

GstRTSPFilterResult remove_client(GstRTSPServer*, GstRTSPClient*, gpointer)
{
    return GST_RTSP_FILTER_REMOVE;
}

std::string error_text(GError* error)
{
    std::string text = error ? error->message : "unknown error";
    g_clear_error(&error);
    return text;
}

} // namespace

std::optional<RtspEncoder> find_rtsp_encoder(RtspEncoding encoding)
{
    for (const RtspEncoder& encoder : kEncoders) {
        if (encoder.encoding != encoding)
            continue;
        if (g_autoptr(GstElementFactory) factory = gst_element_factory_find(encoder.element))
            return encoder;
    }
    return std::nullopt;
}

struct RtspServer::Core
{
    RtspServerConfig config;
    std::shared_ptr<Shared> shared = std::make_shared<Shared>();
    GstRTSPServer* server = nullptr;
    GstRTSPMountPoints* mounts = nullptr;
    GstRTSPAuth* auth = nullptr;
    std::unique_ptr<ConnectionGate> gate;
    gulong connected_handler = 0;

    struct Stream
    {
        GstRTSPMediaFactory* factory = nullptr;
        std::shared_ptr<StreamState> state;
    };
    // Main thread only.
    std::map<std::string, Stream> streams;

    ~Core()
    {
        {
            // Objects still alive in GStreamer's threads may report more: to nobody now.
            std::lock_guard lock(shared->event_lock);
            shared->on_event = nullptr;
        }
        gate.reset();
        for (auto& [id, stream] : streams)
            g_object_unref(stream.factory);
        if (server) {
            if (connected_handler)
                g_signal_handler_disconnect(server, connected_handler);
            g_list_free_full(gst_rtsp_server_client_filter(server, remove_client, nullptr),
                             g_object_unref);
        }
        if (auth)
            g_object_unref(auth);
        if (mounts)
            g_object_unref(mounts);
        if (server)
            g_object_unref(server);
    }
};

namespace {

GstRTSPAuth* make_auth(const RtspServerConfig& config, const std::weak_ptr<RtspServer::Core>& core)
{
    GstRTSPAuth* auth = nullptr;
    g_autoptr(GstRTSPToken) token =
        gst_rtsp_token_new(GST_RTSP_TOKEN_MEDIA_FACTORY_ROLE, G_TYPE_STRING, kViewerRole,
                           static_cast<const char*>(nullptr));
    if (config.credentials) {
        // A client that authenticated may stay connected as long as it likes.
        auth = every_method_auth_new([core](GstRTSPClient* client) {
            if (const auto alive = core.lock(); alive && alive->gate)
                alive->gate->admit(client);
        });
        // Digest: the password never crosses the network, even without TLS.
        gst_rtsp_auth_set_supported_methods(auth, GST_RTSP_AUTH_DIGEST);
        gst_rtsp_auth_add_digest(auth, config.credentials->user.c_str(),
                                 config.credentials->password.c_str(), token);
    } else {
        auth = gst_rtsp_auth_new();
        gst_rtsp_auth_set_default_token(auth, token);
    }
    gst_rtsp_auth_set_realm(auth, "pvshm");
    if (config.tls_certificate_file) {
        GError* error = nullptr;
        g_autoptr(GTlsCertificate) certificate = g_tls_certificate_new_from_files(
            config.tls_certificate_file->c_str(),
            config.tls_key_file.value_or(*config.tls_certificate_file).c_str(), &error);
        if (!certificate) {
            g_object_unref(auth);
            throw std::runtime_error("cannot load the TLS certificate '" +
                                     *config.tls_certificate_file + "': " + error_text(error));
        }
        gst_rtsp_auth_set_tls_certificate(auth, certificate);
    }
    return auth;
}

} // namespace

RtspServer::RtspServer(const RtspServerConfig& config, EventHandler on_event)
    : core_(std::make_shared<Core>())
{
    Core& core = *core_;
    core.config = config;
    core.shared->on_event = std::move(on_event);
    core.server = gst_rtsp_server_new();
    gst_rtsp_server_set_address(core.server, config.address.c_str());
    gst_rtsp_server_set_service(core.server, std::to_string(config.port).c_str());
    core.mounts = gst_rtsp_server_get_mount_points(core.server);

    const bool tls = config.tls_certificate_file.has_value();
    if (config.credentials || tls) {
        core.auth = make_auth(config, core_);
        gst_rtsp_server_set_auth(core.server, core.auth);
    }

    core.connected_handler =
        g_signal_connect_data(core.server, "client-connected", G_CALLBACK(on_client_connected),
                              hold(core.shared), release<Shared>, GConnectFlags(0));
    gst_rtsp_server_set_backlog(core.server, kListenBacklog);
    GError* error = nullptr;
    g_autoptr(GSocket) listener = gst_rtsp_server_create_socket(core.server, nullptr, &error);
    if (!listener)
        throw std::runtime_error("cannot listen on " + config.address + " port " +
                                 std::to_string(config.port) + ": " + error_text(error));
    std::weak_ptr<Shared> shared = core.shared;
    core.gate = std::make_unique<ConnectionGate>(
        core.server, listener, tls, default_gate_limits(), [shared](const std::string& text) {
            if (const auto alive = shared.lock())
                alive->emit({RtspEvent::Kind::Warning, 0, {}, {}, text});
        });
}

RtspServer::~RtspServer() = default;

uint16_t RtspServer::port() const
{
    return core_->gate->port();
}

std::string RtspServer::url(const std::string& id) const
{
    std::string host = core_->config.address;
    if (host == "0.0.0.0" || host == "::")
        host = g_get_host_name();
    else if (host.find(':') != std::string::npos)
        host = "[" + host + "]";
    const char* scheme = core_->config.tls_certificate_file ? "rtsps" : "rtsp";
    return std::string(scheme) + "://" + host + ":" + std::to_string(port()) + "/" + id;
}

void RtspServer::add_stream(const std::string& id)
{
    Core& core = *core_;
    if (core.streams.count(id))
        return;
    Core::Stream stream;
    stream.state = std::make_shared<StreamState>();
    stream.state->shared = core.shared;
    stream.state->id = id;
    stream.state->encoder_launch = core.config.encoder.launch;
    stream.factory = GST_RTSP_MEDIA_FACTORY(g_object_new(media_factory_get_type(), nullptr));
    g_object_set_data_full(G_OBJECT(stream.factory), kStreamKey, hold(stream.state),
                           release_notify<StreamState>);
    // One pipeline for every viewer; it stops with the last of them.
    gst_rtsp_media_factory_set_shared(stream.factory, TRUE);
    // Over UDP, RTP would bypass the TLS connection: media go interleaved in it instead.
    if (core.config.tls_certificate_file)
        gst_rtsp_media_factory_set_protocols(stream.factory, GST_RTSP_LOWER_TRANS_TCP);
    if (core.auth)
        gst_rtsp_media_factory_add_role(stream.factory, kViewerRole,
                                        GST_RTSP_PERM_MEDIA_FACTORY_ACCESS, G_TYPE_BOOLEAN, TRUE,
                                        GST_RTSP_PERM_MEDIA_FACTORY_CONSTRUCT, G_TYPE_BOOLEAN, TRUE,
                                        static_cast<const char*>(nullptr));
    g_signal_connect_data(stream.factory, "media-configure", G_CALLBACK(on_media_configure),
                          hold(stream.state), release<StreamState>, GConnectFlags(0));
    // The mount points take a reference of their own.
    g_object_ref(stream.factory);
    gst_rtsp_mount_points_add_factory(core.mounts, ("/" + id).c_str(), stream.factory);
    core.streams.emplace(id, std::move(stream));
}

void RtspServer::remove_stream(const std::string& id)
{
    Core& core = *core_;
    auto found = core.streams.find(id);
    if (found == core.streams.end())
        return;
    gst_rtsp_mount_points_remove_factory(core.mounts, ("/" + id).c_str());
    StreamState& state = *found->second.state;
    std::lock_guard lock(state.lock);
    for (GWeakRef* weak : state.medias) {
        g_autoptr(GstRTSPMedia) media = static_cast<GstRTSPMedia*>(g_weak_ref_get(weak));
        if (!media)
            continue;
        g_autoptr(GstElement) element = gst_rtsp_media_get_element(media);
        // Travels down the pipeline to rtpbin, which tells each viewer with an RTCP BYE.
        if (g_autoptr(GstElement) source = gst_bin_get_by_name(GST_BIN(element), kSourceName))
            gst_element_send_event(source, gst_event_new_eos());
    }
    g_object_unref(found->second.factory);
    core.streams.erase(found);
}

bool RtspServer::has_stream(const std::string& id) const
{
    return core_->streams.count(id) != 0;
}

std::vector<std::string> RtspServer::stream_ids() const
{
    std::vector<std::string> ids;
    for (const auto& [id, stream] : core_->streams)
        ids.push_back(id);
    return ids;
}

uint64_t RtspServer::clients_connected() const
{
    return core_->shared->clients_connected;
}

uint64_t RtspServer::frames_served() const
{
    return core_->shared->frames_served;
}

void RtspServer::close_clients()
{
    g_list_free_full(gst_rtsp_server_client_filter(core_->server, remove_client, nullptr),
                     g_object_unref);
}

} // namespace pvshm::cli
