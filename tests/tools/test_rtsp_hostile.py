# SPDX-License-Identifier: LGPL-2.1-or-later
"""`pvshm rtsp` against hostile clients on 127.0.0.1: connections that never say anything (plain
and TLS), and requests without credentials that carry a viewer's session id or probe for ids.
Each attack runs against the real server in its own process, next to a real viewer."""

import select
import socket

import pytest

from rtsp_support import (  # noqa: F401 (fixtures)
    BLUE, WAIT, RtspConnection, assert_colour, gst_env, next_frame, next_frame_size, opencv,
    producer, rtsp_id, server, viewer, watching_gst_viewer,
)

USER, PASSWORD = "alice", "s3cret-Pass"
# Enough idle connections to exhaust the descriptors of a server limited to FILE_LIMIT.
FILE_LIMIT = 64
IDLE_CONNECTIONS = 80
# Silent TLS connections: 60 of them delayed a viewer's handshake by seconds, 100 made it fail.
SILENT_CONNECTIONS = 100


@pytest.fixture
def password_file(tmp_path):
    path = tmp_path / "password"
    path.write_text(PASSWORD + "\n")
    path.chmod(0o600)
    return path


def open_idle(port, count):
    """Up to `count` connections that never send a byte; those the server refused are left out."""
    connections = []
    for _ in range(count):
        try:
            connections.append(socket.create_connection(("127.0.0.1", port), timeout=WAIT))
        except OSError:
            break
    return connections


def wait_until_closed_by_server(connections):
    """Waits (WAIT at most) for the server to close every connection; returns those left open."""
    open_ones = list(connections)
    for _ in range(int(WAIT * 10)):
        if not open_ones:
            break
        readable, _, _ = select.select(open_ones, [], [], 0.1)
        for connection in readable:
            try:
                ended = connection.recv(1) == b""
            except ConnectionResetError:
                ended = True
            if ended:
                open_ones.remove(connection)
    return open_ones


def test_session_control_without_credentials_is_refused(
    server, producer, rtsp_id, password_file
):
    """With credentials, a session id was enough to PAUSE, TEARDOWN, PLAY, GET_PARAMETER or
    SET_PARAMETER that viewer's session without any credentials (gst-rtsp-server's own
    authentication checks the media factory only), and any request naming the session, OPTIONS
    included, followed by a disconnection ended the viewer's media: anyone who saw a session id
    could stop it."""
    producer(rtsp_id)
    rtsp = server(rtsp_id, "--user", USER, "--password-file", password_file)
    rtsp.wait_for("stream-added", id=rtsp_id)
    url = rtsp.url(rtsp_id)
    viewer = RtspConnection(rtsp.port, credentials=(USER, PASSWORD))
    try:
        session = viewer.play_over_tcp(url)
        assert viewer.media_bytes(1)
        attacker = RtspConnection(rtsp.port)
        for method in ("GET_PARAMETER", "SET_PARAMETER", "PAUSE", "PLAY", "TEARDOWN"):
            status, head, _ = attacker.send(method, url, f"Session: {session}")
            assert status == 401, (method, head)
            assert "WWW-Authenticate: Digest" in head
        assert attacker.send("OPTIONS", url, f"Session: {session}")[0] == 200
        attacker.close()
        rtsp.wait_for("client-disconnected", client=2)
        # The viewer's session is untouched: it still plays, and its own requests work.
        assert viewer.media_bytes(10_000)
        viewer.request("GET_PARAMETER", url, f"Session: {session}")
        assert rtsp.count("pipeline-stopped") == 0
    finally:
        viewer.close()


def test_without_credentials_an_existing_and_a_missing_id_get_the_same_answer(
    server, producer, rtsp_id, password_file, gst_env, tmp_path
):
    """Serving every segment with credentials, an unauthenticated DESCRIBE answered 401 for an
    id that exists and 404 for one that does not: ids could be enumerated."""
    env = dict(gst_env, PVSHM_SHM_DIR=str(tmp_path))
    producer(rtsp_id, env=env)
    rtsp = server("--user", USER, "--password-file", password_file, env=env)
    rtsp.wait_for("stream-added", id=rtsp_id)
    attacker = RtspConnection(rtsp.port)
    try:
        for path in (rtsp_id, f"{rtsp_id}-missing"):
            for method, headers in (
                ("DESCRIBE", ["Accept: application/sdp"]),
                ("SETUP", ["Transport: RTP/AVP/TCP;unicast;interleaved=0-1"]),
            ):
                status, head, _ = attacker.send(method, rtsp.url(path), *headers)
                assert status == 401, (path, method, head)
        assert attacker.send("OPTIONS", rtsp.url(rtsp_id))[0] == 200
        # With the password, the existing id plays and the missing one is not found.
        viewer = RtspConnection(rtsp.port, credentials=(USER, PASSWORD))
        assert viewer.send("DESCRIBE", rtsp.url(f"{rtsp_id}-missing"))[0] == 404
        viewer.play_over_tcp(rtsp.url(rtsp_id))
        assert viewer.media_bytes(1)
        viewer.close()
    finally:
        attacker.close()


def test_idle_connections_neither_end_a_viewers_stream_nor_stay(
    server, producer, spawn, rtsp_id, gst_env
):
    """Idle connections exhausted the server's file descriptors: the listing of segments failed,
    was taken for "no segment", and every viewer got the end of the stream as if its id had been
    cleared; and they stayed open for good."""
    producer(rtsp_id)
    rtsp = server(rtsp_id, wrapper=("prlimit", f"--nofile={FILE_LIMIT}:{FILE_LIMIT}", "--"))
    rtsp.wait_for("stream-added", id=rtsp_id)
    watching = watching_gst_viewer(spawn, gst_env, rtsp.url(rtsp_id))
    assert next_frame_size(watching) == 320 * 240 * 3
    idle = open_idle(rtsp.port, IDLE_CONNECTIONS)
    try:
        # Frames keep coming while the idle connections are open, and a second viewer gets in.
        for _ in range(60):
            assert next_frame_size(watching) == 320 * 240 * 3
        second = RtspConnection(rtsp.port)
        second.play_over_tcp(rtsp.url(rtsp_id))
        assert second.media_bytes(1)
        second.close()
        # The idle ones are closed, those over the cap at once, the others after a timeout.
        assert wait_until_closed_by_server(idle) == []
        assert rtsp.count("stream-removed") == 0
        assert next_frame_size(watching) == 320 * 240 * 3
    finally:
        for connection in idle:
            connection.close()


def test_a_viewer_that_asked_stays_when_silent_connections_flood_in(server, producer, rtsp_id):
    """Each connection over the cap closed the oldest pending one, so a viewer whose DESCRIBE was
    still unanswered when a burst of idle connections came in was closed with them."""
    producer(rtsp_id)
    rtsp = server(rtsp_id, wrapper=("prlimit", f"--nofile={FILE_LIMIT}:{FILE_LIMIT}", "--"))
    rtsp.wait_for("stream-added", id=rtsp_id)
    asking = RtspConnection(rtsp.port)
    asking.begin("DESCRIBE", rtsp.url(rtsp_id), "Accept: application/sdp")
    idle = open_idle(rtsp.port, IDLE_CONNECTIONS)
    try:
        status, _, sdp = asking.answer("DESCRIBE")
        assert status == 200 and "m=video" in sdp
        asking.play_over_tcp(rtsp.url(rtsp_id))
        assert asking.media_bytes(1)
    finally:
        asking.close()
        for connection in idle:
            connection.close()


def test_silent_tls_connections_neither_keep_a_viewer_out_nor_stay(
    server, producer, viewer, rtsp_id, tls_certificate
):
    """TCP connections that never send a ClientHello each held one of GLib's TLS handshake
    threads: 60 delayed a legitimate viewer by seconds, 100 made its handshake time out, and
    they stayed open for good."""
    certificate, key = tls_certificate
    producer(rtsp_id)
    rtsp = server(rtsp_id, "--tls-cert", certificate, "--tls-key", key)
    url = rtsp.wait_for("stream-added", id=rtsp_id)["url"]
    silent = open_idle(rtsp.port, SILENT_CONNECTIONS)
    try:
        # OpenCV gives up after 10 s (opencv_viewer.py's --timeout-ms).
        secure = viewer(url, "--frames", 3)
        assert secure.outcome == "opened"
        assert_colour(next_frame(secure)["rgb"], BLUE)
        assert wait_until_closed_by_server(silent) == []
    finally:
        for connection in silent:
            connection.close()
