# SPDX-License-Identifier: LGPL-2.1-or-later
"""`pvshm rtsp` against real players: a videotestsrc producer through pvshmsink in one process,
the server in another, and clients pvshm did not write: OpenCV's FFmpeg backend
(opencv_viewer.py) and GStreamer's rtspsrc in gst-launch-1.0. Every connection is to 127.0.0.1.
"""

import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from rtsp_support import (  # noqa: F401 (fixtures)
    BLACK, BLUE, RED, WAIT, RtspConnection, assert_colour, drain, free_port, gst_env,
    gst_viewer_argv, is_colour, next_frame, next_frame_size, opencv, producer, rtsp_describe,
    rtsp_id, server, viewer, watching_gst_viewer,
)


def test_opencv_and_rtspsrc_decode_the_producers_picture(
    server, producer, viewer, rtsp_id, gst_env, tmp_path
):
    producer(rtsp_id)
    rtsp = server(rtsp_id)
    listening = rtsp.events[0]
    assert listening["address"] == "127.0.0.1"  # no credentials: this machine only
    assert listening["encoder"] in ("x264enc", "openh264enc")
    assert rtsp.wait_for("stream-added", id=rtsp_id)["url"] == rtsp.url(rtsp_id)

    opencv = viewer(rtsp.url(rtsp_id), "--frames", 10)
    assert opencv.outcome == "opened"
    for _ in range(10):
        frame = next_frame(opencv)
        assert (frame["width"], frame["height"]) == (320, 240)
        assert_colour(frame["rgb"], BLUE)
    assert opencv.read_line(WAIT) == "end"
    rtsp.wait_for("client-playing", id=rtsp_id)

    frames = 10
    raw = tmp_path / "frames.rgb"
    sink = ["identity", f"eos-after={frames}", "!", "filesink", f"location={raw}"]
    result = subprocess.run(
        gst_viewer_argv(rtsp.url(rtsp_id), sink=sink),
        env=gst_env, capture_output=True, text=True, timeout=WAIT,
    )
    assert result.returncode == 0, result.stderr
    data = raw.read_bytes()
    frame_size = 320 * 240 * 3
    assert len(data) >= (frames - 1) * frame_size and len(data) % frame_size == 0
    last = data[-frame_size:]
    centre = (120 * 320 + 160) * 3
    assert_colour(tuple(last[centre : centre + 3]), BLUE)

    rtsp.child.process.send_signal(signal.SIGTERM)
    assert rtsp.wait_for("stopped")["frames_served"] >= 10
    assert rtsp.child.process.wait(WAIT) == 0


def test_a_viewer_who_comes_as_the_last_one_leaves_gets_the_stream(server, producer, viewer, rtsp_id):
    """Each viewer comes the moment the one before it left, while the pipeline they shared may
    still be shutting down: every one of them is served."""
    producer(rtsp_id)
    rtsp = server(rtsp_id)
    rtsp.wait_for("stream-added", id=rtsp_id)
    for _ in range(4):
        opencv = viewer(rtsp.url(rtsp_id), "--frames", 2)
        assert opencv.outcome == "opened"
        for _ in range(2):
            assert_colour(next_frame(opencv)["rgb"], BLUE)
        assert opencv.read_line(WAIT) == "end"


def test_every_picture_is_whole(server, producer, viewer, rtsp_id):
    """A picture in several slices reaches FFmpeg's client whole: the SMPTE bars' bottom-right
    corner (half white, half black: grey on average) stays grey, which a concealed half of the
    picture would not."""
    producer(rtsp_id, width=640, height=480, pattern="smpte", colour=None)
    rtsp = server(rtsp_id)
    rtsp.wait_for("stream-added", id=rtsp_id)
    opencv = viewer(rtsp.url(rtsp_id), "--frames", 5)
    assert opencv.outcome == "opened"
    for _ in range(5):
        assert_colour(next_frame(opencv)["corner_rgb"], (128, 128, 128))


def test_openh264enc_when_x264enc_is_missing(server, producer, viewer, rtsp_id, gst_env, tmp_path):
    found = subprocess.run(["gst-inspect-1.0", "x264enc"], env=gst_env, capture_output=True,
                           text=True, timeout=WAIT)
    x264 = re.search(r"Filename\s+(\S+)", found.stdout)
    if not x264 or subprocess.run(["gst-inspect-1.0", "openh264enc"], env=gst_env,
                                  capture_output=True, timeout=WAIT).returncode != 0:
        pytest.skip("needs both x264enc and openh264enc installed")
    # The system's plugins but x264's, through a directory of links.
    system = tmp_path / "plugins"
    system.mkdir()
    for plugin in Path(x264.group(1)).parent.glob("*.so"):
        if plugin.name != Path(x264.group(1)).name:
            (system / plugin.name).symlink_to(plugin)
    env = dict(gst_env, GST_PLUGIN_SYSTEM_PATH=str(system),
               GST_REGISTRY=str(tmp_path / "registry.bin"))
    producer(rtsp_id, colour=RED, env=env)
    rtsp = server(rtsp_id, env=env)
    assert rtsp.events[0]["encoder"] == "openh264enc"
    rtsp.wait_for("stream-added", id=rtsp_id)
    opencv = viewer(rtsp.url(rtsp_id), "--frames", 5, env=env)
    assert opencv.outcome == "opened"
    for _ in range(5):
        frame = next_frame(opencv)
        assert (frame["width"], frame["height"]) == (320, 240)
        assert_colour(frame["rgb"], RED)


def test_jpeg_encoding(server, producer, viewer, rtsp_id):
    producer(rtsp_id, colour=RED)
    rtsp = server(rtsp_id, "--encode", "jpeg")
    assert rtsp.events[0]["encoder"] == "jpegenc"
    rtsp.wait_for("stream-added", id=rtsp_id)
    opencv = viewer(rtsp.url(rtsp_id), "--frames", 5)
    assert opencv.outcome == "opened"
    for _ in range(5):
        frame = next_frame(opencv)
        assert (frame["width"], frame["height"]) == (320, 240)
        assert_colour(frame["rgb"], RED)


@pytest.mark.parametrize(
    "stored",
    [
        ["videoconvert", "!", "video/x-raw,format=I420", "!"],
        ["videoconvert", "!", "video/x-raw,format=BGRx", "!"],
        ["jpegenc", "!"],
        ["videoconvert", "!", "rgb2bayer", "!", "video/x-bayer,format=rggb", "!"],
    ],
    ids=["I420", "BGRx", "jpeg", "bayer"],
)
def test_every_kind_of_stored_frame_is_served(server, producer, viewer, rtsp_id, gst_env, stored):
    """Raw frames go to the encoder as stored, Bayer and JPEG frames normalized first."""
    producer(rtsp_id, colour=RED, stored=stored)
    # The pipeline is chosen from the newest frame when the viewer comes: let there be one.
    first = ["gst-launch-1.0", "-q", "pvshmsrc", f"shared-mem-id={rtsp_id}", "num-buffers=1",
             "!", "fakesink"]
    subprocess.run(first, env=gst_env, check=True, timeout=WAIT)
    rtsp = server(rtsp_id)
    rtsp.wait_for("stream-added", id=rtsp_id)
    opencv = viewer(rtsp.url(rtsp_id), "--frames", 3)
    assert opencv.outcome == "opened"
    for _ in range(3):
        frame = next_frame(opencv)
        assert (frame["width"], frame["height"]) == (320, 240)
        assert_colour(frame["rgb"], RED)


def test_two_viewers_share_one_pipeline(server, producer, viewer, rtsp_id):
    producer(rtsp_id)
    rtsp = server(rtsp_id)
    rtsp.wait_for("stream-added", id=rtsp_id)
    first = viewer(rtsp.url(rtsp_id))
    assert first.outcome == "opened"
    next_frame(first)
    second = viewer(rtsp.url(rtsp_id))
    assert second.outcome == "opened"
    next_frame(second)
    # Both get frames at the same time, and from the same pipeline.
    for _ in range(10):
        assert_colour(next_frame(first)["rgb"], BLUE)
        assert_colour(next_frame(second)["rgb"], BLUE)
    rtsp.wait_for("client-playing", client=2, id=rtsp_id)
    assert rtsp.count("client-connected") == 2
    assert rtsp.count("pipeline-started", id=rtsp_id) == 1


def test_a_viewer_that_stops_reading_does_not_stall_the_others(
    server, producer, viewer, rtsp_id, gst_env
):
    # Big JPEG frames (noise) fill the stalled viewer's small buffers within a frame or two.
    producer(rtsp_id, 640, 480, pattern="snow")
    rtsp = server(rtsp_id, "--encode", "jpeg")
    rtsp.wait_for("stream-added", id=rtsp_id)
    stalled = RtspConnection(rtsp.port, receive_buffer=4096)
    try:
        stalled.play_over_tcp(rtsp.url(rtsp_id))
        rtsp.wait_for("client-playing", client=1)
        # Over TCP as well, so that both depend on the server's handling of slow TCP clients.
        env = dict(gst_env, OPENCV_FFMPEG_CAPTURE_OPTIONS="rtsp_transport;tcp")
        healthy = viewer(rtsp.url(rtsp_id), "--frames", 60, env=env)
        assert healthy.outcome == "opened"
        start = time.monotonic()
        for _ in range(60):
            next_frame(healthy)
        # 60 frames at 30 fps: 2 s when nothing stalls; generous for a loaded machine.
        assert time.monotonic() - start < 10
    finally:
        stalled.close()


def test_only_the_user_with_the_password_may_watch(
    server, producer, viewer, rtsp_id, gst_env, tmp_path
):
    password_file = tmp_path / "password"
    password_file.write_text("s3cret-Pass\n")
    password_file.chmod(0o600)
    producer(rtsp_id)
    rtsp = server(rtsp_id, "--listen", "127.0.0.1", "--user", "alice",
                  "--password-file", password_file)
    assert rtsp.events[0]["authentication"] == "digest"
    rtsp.wait_for("stream-added", id=rtsp_id)

    answer = rtsp_describe(rtsp.port, rtsp_id)
    assert answer.startswith("RTSP/1.0 401"), answer
    assert "WWW-Authenticate: Digest" in answer and "Basic" not in answer

    assert viewer(rtsp.url(rtsp_id)).outcome == "refused"
    assert viewer(rtsp.url(rtsp_id, "alice:wrong@")).outcome == "refused"
    assert viewer(rtsp.url(rtsp_id, "mallory:s3cret-Pass@")).outcome == "refused"
    refused = subprocess.run(
        gst_viewer_argv(rtsp.url(rtsp_id), "user-id=alice", "user-pw=wrong",
                        sink=["fakesink"]),
        env=gst_env, capture_output=True, text=True, timeout=WAIT,
    )
    assert refused.returncode != 0 and "Unauthorized" in refused.stderr
    assert rtsp.count("pipeline-started") == 0

    allowed = viewer(rtsp.url(rtsp_id, "alice:s3cret-Pass@"), "--frames", 3)
    assert allowed.outcome == "opened"
    assert_colour(next_frame(allowed)["rgb"], BLUE)


def test_a_writer_restarted_with_a_new_size_leaves_no_viewer_frozen(
    server, producer, viewer, spawn, rtsp_id, gst_env
):
    """A writer restarted with another size froze OpenCV's FFmpeg backend: it went on returning
    the old picture while reporting success (its scaler stayed built for the old size). The
    server keeps the size its pipeline started with and scales the new frames into it, aspect
    kept: OpenCV and rtspsrc get the new picture; a viewer who comes after the last one left
    gets the new size."""
    first_writer = producer(rtsp_id, 320, 240, BLUE)
    rtsp = server(rtsp_id)
    rtsp.wait_for("stream-added", id=rtsp_id)
    watching = watching_gst_viewer(spawn, gst_env, rtsp.url(rtsp_id))
    assert next_frame_size(watching) == 320 * 240 * 3
    opencv = viewer(rtsp.url(rtsp_id))
    assert opencv.outcome == "opened"
    assert_colour(next_frame(opencv)["rgb"], BLUE)

    first_writer.kill()  # its segment stays, with its last frame; the next writer takes it over
    # Taller (the change OpenCV did not follow) and wider: 320x160 in the middle of 320x240,
    # black above and below.
    producer(rtsp_id, 960, 480, RED)
    for _ in range(1000):
        frame = next_frame(opencv)
        if is_colour(frame["rgb"], RED):
            break
    else:
        pytest.fail("OpenCV never got the new writer's picture")
    for _ in range(5):
        frame = next_frame(opencv)
        assert (frame["width"], frame["height"]) == (320, 240)
        assert_colour(frame["rgb"], RED)
        assert_colour(frame["corner_rgb"], BLACK)
    for _ in range(10):
        assert next_frame_size(watching) == 320 * 240 * 3
    rtsp.wait_for("client-playing", client=2)
    assert rtsp.count("pipeline-started") == 1

    opencv.kill()
    watching.kill()
    rtsp.wait_for("pipeline-stopped", id=rtsp_id)
    reconnected = viewer(rtsp.url(rtsp_id), "--frames", 3)
    assert reconnected.outcome == "opened"
    frame = next_frame(reconnected)
    assert (frame["width"], frame["height"]) == (960, 480)
    assert_colour(frame["rgb"], RED)


def test_clearing_the_id_ends_the_stream(server, producer, viewer, spawn, rtsp_id, gst_env, pvshm):
    writer = producer(rtsp_id)
    rtsp = server(rtsp_id)
    rtsp.wait_for("stream-added", id=rtsp_id)
    watching = watching_gst_viewer(spawn, gst_env, rtsp.url(rtsp_id))
    next_frame_size(watching)
    drain(watching)

    writer.kill()
    assert pvshm("clear", rtsp_id).returncode == 0
    rtsp.wait_for("stream-removed", id=rtsp_id, reason="cleared")
    # gst-launch ends with status 0 only on the end of the stream.
    assert watching.process.wait(WAIT) == 0
    assert viewer(rtsp.url(rtsp_id)).outcome == "refused"


def test_without_ids_every_segment_is_served_also_those_created_later(
    server, producer, viewer, gst_env, rtsp_id, tmp_path
):
    env = dict(gst_env, PVSHM_SHM_DIR=str(tmp_path))
    rtsp = server(env=env)
    producer(rtsp_id, colour=RED, env=env)
    assert rtsp.wait_for("stream-added", id=rtsp_id)["url"] == rtsp.url(rtsp_id)
    opencv = viewer(rtsp.url(rtsp_id), "--frames", 3, env=env)
    assert opencv.outcome == "opened"
    assert_colour(next_frame(opencv)["rgb"], RED)
    assert [e["id"] for e in rtsp.events if e["event"] == "stream-added"] == [rtsp_id]


def test_tls_serves_rtsps_only(server, producer, viewer, rtsp_id, tls_certificate):
    certificate, key = tls_certificate
    producer(rtsp_id)
    rtsp = server(rtsp_id, "--tls-cert", certificate, "--tls-key", key)
    assert rtsp.events[0]["tls"] is True
    url = rtsp.wait_for("stream-added", id=rtsp_id)["url"]
    assert url.startswith("rtsps://127.0.0.1:")
    assert viewer(url.replace("rtsps://", "rtsp://")).outcome == "refused"
    secure = viewer(url, "--frames", 3)
    assert secure.outcome == "opened"
    assert_colour(next_frame(secure)["rgb"], BLUE)


@pytest.mark.parametrize(
    "args, message",
    [
        (["../etc"], "[A-Za-z0-9._-]"),
        (["--user", "alice", "--password-file", "/nonexistent/password"], "password file"),
        (["--user", "alice"], "password-file"),
        (["--encode", "vp9"], "vp9"),
    ],
    ids=["invalid-id", "unreadable-password", "user-without-password", "unknown-encoding"],
)
def test_bad_arguments_exit_1(cli_path, gst_env, args, message):
    result = subprocess.run([cli_path, "rtsp", "--port", str(free_port()), *args], env=gst_env,
                            capture_output=True, text=True, timeout=WAIT)
    assert result.returncode == 1 and message in result.stderr, result.stderr


def test_a_port_in_use_exits_1(cli_path, gst_env):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = subprocess.run([cli_path, "rtsp", "--port", str(taken.getsockname()[1])],
                                env=gst_env, capture_output=True, text=True, timeout=WAIT)
    assert result.returncode == 1 and "cannot listen" in result.stderr, result.stderr
