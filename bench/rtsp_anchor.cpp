// SPDX-License-Identifier: LGPL-2.1-or-later
// The anchor of bench/rtsp.sh, as gst-rtsp-server's test-launch example: one launch line served
// at rtsp://127.0.0.1:PORT/anchor, one pipeline shared by its viewers, until SIGINT or SIGTERM.
#include <cstdio>
#include <cstdlib>
#include <glib-unix.h>
#include <string>

#include <gst/gst.h>
#include <gst/rtsp-server/rtsp-server.h>

namespace {

gboolean quit(gpointer loop)
{
    g_main_loop_quit(static_cast<GMainLoop*>(loop));
    return G_SOURCE_CONTINUE;
}

} // namespace

int main(int argc, char** argv)
{
    gst_init(&argc, &argv);
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s PORT '( LAUNCH LINE ending in a payloader named pay0 )'\n",
                     argv[0]);
        return 1;
    }
    GstRTSPServer* server = gst_rtsp_server_new();
    gst_rtsp_server_set_address(server, "127.0.0.1");
    gst_rtsp_server_set_service(server, argv[1]);
    GstRTSPMediaFactory* factory = gst_rtsp_media_factory_new();
    gst_rtsp_media_factory_set_launch(factory, argv[2]);
    gst_rtsp_media_factory_set_shared(factory, TRUE);
    GstRTSPMountPoints* mounts = gst_rtsp_server_get_mount_points(server);
    gst_rtsp_mount_points_add_factory(mounts, "/anchor", factory);
    g_object_unref(mounts);
    if (gst_rtsp_server_attach(server, nullptr) == 0) {
        std::fprintf(stderr, "cannot listen on 127.0.0.1 port %s\n", argv[1]);
        return 1;
    }
    std::printf("listening on rtsp://127.0.0.1:%s/anchor\n", argv[1]);
    std::fflush(stdout);
    GMainLoop* loop = g_main_loop_new(nullptr, FALSE);
    g_unix_signal_add(SIGINT, quit, loop);
    g_unix_signal_add(SIGTERM, quit, loop);
    g_main_loop_run(loop);
    g_main_loop_unref(loop);
    g_object_unref(server);
    return 0;
}
