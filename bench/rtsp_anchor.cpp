// SPDX-License-Identifier: LGPL-2.1-or-later
// The anchor of bench/rtsp.sh, as gst-rtsp-server's test-launch example: one launch line served
// at rtsp://127.0.0.1:PORT/anchor, one pipeline shared by its viewers, until SIGINT or SIGTERM.
// With --pipeline it runs the launch line as a plain pipeline instead (the producer of the pvshm
// side). Either way, frames leaving an element named "stamp" carry their capture time
// (stamp_blocks.hpp), so that a viewer can measure glass-to-glass latency.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <glib-unix.h>
#include <string>

#include <gst/gst.h>
#include <gst/rtsp-server/rtsp-server.h>

#include "stamp_blocks.hpp"

namespace {

gboolean quit(gpointer loop)
{
    g_main_loop_quit(static_cast<GMainLoop*>(loop));
    return G_SOURCE_CONTINUE;
}

void on_media_configure(GstRTSPMediaFactory*, GstRTSPMedia* media, gpointer)
{
    GstElement* element = gst_rtsp_media_get_element(media);
    pvshm::bench::stamp_frames_of(element);
    gst_object_unref(element);
}

void run_until_signalled()
{
    GMainLoop* loop = g_main_loop_new(nullptr, FALSE);
    g_unix_signal_add(SIGINT, quit, loop);
    g_unix_signal_add(SIGTERM, quit, loop);
    g_main_loop_run(loop);
    g_main_loop_unref(loop);
}

int serve(const char* port, const char* launch)
{
    GstRTSPServer* server = gst_rtsp_server_new();
    gst_rtsp_server_set_address(server, "127.0.0.1");
    gst_rtsp_server_set_service(server, port);
    GstRTSPMediaFactory* factory = gst_rtsp_media_factory_new();
    gst_rtsp_media_factory_set_launch(factory, launch);
    gst_rtsp_media_factory_set_shared(factory, TRUE);
    g_signal_connect(factory, "media-configure", G_CALLBACK(on_media_configure), nullptr);
    GstRTSPMountPoints* mounts = gst_rtsp_server_get_mount_points(server);
    gst_rtsp_mount_points_add_factory(mounts, "/anchor", factory);
    g_object_unref(mounts);
    if (gst_rtsp_server_attach(server, nullptr) == 0) {
        std::fprintf(stderr, "cannot listen on 127.0.0.1 port %s\n", port);
        return 1;
    }
    std::printf("listening on rtsp://127.0.0.1:%s/anchor\n", port);
    std::fflush(stdout);
    run_until_signalled();
    g_object_unref(server);
    return 0;
}

int run_pipeline(const char* launch)
{
    GError* error = nullptr;
    GstElement* pipeline = gst_parse_launch(launch, &error);
    if (!pipeline) {
        std::fprintf(stderr, "%s\n", error ? error->message : "cannot build the pipeline");
        g_clear_error(&error);
        return 1;
    }
    pvshm::bench::stamp_frames_of(pipeline);
    gst_element_set_state(pipeline, GST_STATE_PLAYING);
    std::printf("playing\n");
    std::fflush(stdout);
    run_until_signalled();
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(pipeline);
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    gst_init(&argc, &argv);
    if (argc == 3 && std::strcmp(argv[1], "--pipeline") == 0)
        return run_pipeline(argv[2]);
    if (argc == 3)
        return serve(argv[1], argv[2]);
    std::fprintf(stderr,
                 "usage: %s PORT '( LAUNCH LINE ending in a payloader named pay0 )'\n"
                 "       %s --pipeline 'LAUNCH LINE'\n",
                 argv[0], argv[0]);
    return 1;
}
