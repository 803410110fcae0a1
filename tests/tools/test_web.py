# SPDX-License-Identifier: LGPL-2.1-or-later
"""`pvshm web` over HTTP: every path of CONTRACT section 11, its errors, authentication, TLS, the
cap on clients and /metrics read by Prometheus' own checker. Producers are videotestsrc ->
pvshmsink processes in a shared-memory directory of the test's own; every request goes to
127.0.0.1."""

import base64
import http.client
import json
import os
import shutil
import subprocess
import urllib.request
import ssl
import time

import pytest

import pngfile
from pvshm_pytest import OTHER_UID
from web_support import BLUE, GREEN, RED, WAIT, line, read_part, wait_for_frames, web_id  # noqa: F401

# JPEG through limited-range YUV stays this close to a flat colour.
TOLERANCE = 12


def close(rgb, expected):
    return all(abs(int(a) - b) <= TOLERANCE for a, b in zip(rgb, expected))


def jpeg_centre(jpeg):
    cv2 = pytest.importorskip("cv2", reason="python3-opencv decodes the JPEG parts")
    import numpy

    image = cv2.imdecode(numpy.frombuffer(jpeg, numpy.uint8), cv2.IMREAD_COLOR)
    assert image is not None, "a part that is not a JPEG"
    blue, green, red = image[image.shape[0] // 2, image.shape[1] // 2]
    return image.shape, (red, green, blue)


def test_every_path_answers_as_the_contract_says(line, request):
    camera = web_id(request)
    line.produce(camera, RED)
    console = line.serve()
    info = wait_for_frames(console, camera)

    status, headers, body = console.get("/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b"<script" in body and b"src=" not in body  # everything inline, nothing fetched
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    status, headers, body = console.get(f"/ids/{camera}")
    assert status == 200 and b"Dygraph" in body

    # The API is `pvshm list --json` and `pvshm info --json`, key for key.
    listed = console.json("/api/ids")
    cli_listed = json.loads(line.pvshm("list", "--json").stdout)
    assert [e["id"] for e in listed] == [e["id"] for e in cli_listed] == [camera]
    assert list(listed[0]) == list(cli_listed[0])
    cli_info = json.loads(line.pvshm("info", camera, "--json").stdout)
    assert list(info) == list(cli_info)
    for key in ("id", "format", "width", "height", "slots", "writer_pid", "writer_alive"):
        assert info[key] == cli_info[key], key
    assert (info["width"], info["height"]) == (320, 240)
    assert info["writer_alive"] is True

    status, headers, body = console.get(f"/api/ids/{camera}/snapshot.png")
    assert status == 200 and headers["Content-Type"] == "image/png"
    width, height, pixels = pngfile.decode(body)[:3]
    assert (width, height) == (320, 240)
    assert close(pixels[height // 2][width // 2], RED)

    stream = console.open_stream(f"/api/ids/{camera}/stream.mjpeg")
    assert stream.status == 200
    assert stream.getheader("Content-Type").startswith("multipart/x-mixed-replace;boundary=")
    shape, centre = jpeg_centre(read_part(stream))
    assert shape[:2] == (240, 320) and close(centre, RED), centre
    read_part(stream)  # a second picture, as frames arrive
    stream.connection_.close()

    scaled = console.open_stream(f"/api/ids/{camera}/stream.mjpeg?width=160")
    shape, centre = jpeg_centre(read_part(scaled))
    assert shape[:2] == (120, 160) and close(centre, RED)
    scaled.connection_.close()


def test_errors_and_paths_outside_the_contract(line, request, tmp_path):
    camera = web_id(request)
    line.produce(camera)
    console = line.serve()
    wait_for_frames(console, camera)
    long_id = "a" * 201
    for path in (f"/api/ids/{long_id}", "/api/ids/.hidden", "/api/ids/a%2Fb",
                 f"/ids/{long_id}", "/api/ids/bad%20id/stream.mjpeg",
                 f"/api/ids/{camera}/stream.mjpeg?width=abc",
                 f"/api/ids/{camera}/stream.mjpeg?width=1", f"/api/ids/{camera}/snapshot.png?raw=2"):
        status, headers, body = console.get(path)
        assert status == 400, (path, status, body)
        assert "error" in json.loads(body), path
    for path in ("/api/ids/no-such-id", "/ids/no-such-id", "/api/ids/no-such-id/snapshot.png",
                 "/api/ids/no-such-id/stream.mjpeg"):
        status, headers, body = console.get(path)
        assert status == 404 and headers["Content-Type"] == "application/json", path
        assert "no-such-id" in json.loads(body)["error"]
    # Nothing beyond section 11 serves anything: dot segments, encoded or not, encoded slashes,
    # trailing slashes, a long path, other files.
    for path in ("/etc/passwd", "/../../../etc/passwd", "/ids/../../etc/passwd", "/api/ids/..",
                 "/api/ids/%2e%2e", "/api/ids/%2e%2e/%2e%2e/etc/passwd",
                 "/%2e%2e/%2e%2e/etc/passwd", "/api%2Fids", f"/api/ids/{camera}/", "/api/ids/",
                 "/api/", f"/api/ids/{camera}/info", "/metrics/", "/favicon.ico",
                 "/" + "a" * 8000, "/ids/" + "b/" * 2000):
        status, _, body = console.get(path)
        assert status in (400, 404), (path, status)
        assert b"pvshm_frames" not in body and b"<html" not in body, path
    # Bytes stored as a frame that are no image: there, but nothing to show.
    bad, junk = web_id(request, "junk"), tmp_path / "junk.jpg"
    junk.write_bytes(b"not an image")
    assert line.pvshm("write", bad, junk).returncode == 0
    status, _, body = console.get(f"/api/ids/{bad}/snapshot.png")
    assert status == 422 and "error" in json.loads(body)
    status, headers, _ = console.get("/api/ids", method="POST")
    assert status == 405 and headers["Allow"] == "GET, HEAD"


def test_another_users_segment_is_refused_with_the_hint_the_other_commands_give(
        line, request, tmp_path):
    """The console answered 409 with the library's bare text, not saying how to allow it."""
    if os.geteuid() != 0:
        pytest.skip("another user's segment needs root to chown it")
    theirs, image = web_id(request, "theirs"), tmp_path / "one.png"
    image.write_bytes(pngfile.encode(2, 1, [[(1, 2, 3), (4, 5, 6)]]))
    assert line.pvshm("write", theirs, image).returncode == 0
    os.chown(line.directory / f"pvshm.{theirs}", OTHER_UID, -1)
    console = line.serve()
    for path in (f"/api/ids/{theirs}", f"/ids/{theirs}", f"/api/ids/{theirs}/snapshot.png"):
        status, _, body = console.get(path)
        assert status == 409, (path, status, body)
        assert "allow it with --allow-other-owner" in json.loads(body)["error"], path
    allowed = line.serve("--allow-other-owner")
    assert allowed.json(f"/api/ids/{theirs}")["owner_uid"] == OTHER_UID


def test_raw_snapshot_of_16_bit_gray_and_jpeg_frames_passed_through(line, request, tmp_path):
    gray = web_id(request, "gray16")
    line.produce(gray, pattern="gradient", width=64, height=32,
                 stored=("videoconvert", "!", "video/x-raw,format=GRAY16_LE", "!"))
    jpeg = web_id(request, "jpeg")
    console = line.serve()
    wait_for_frames(console, gray)
    status, _, body = console.get(f"/api/ids/{gray}/snapshot.png?raw=1")
    assert status == 200
    assert body[24] == 16, "a 16-bit PNG"  # IHDR bit depth
    status, _, body = console.get(f"/api/ids/{gray}/snapshot.png")
    assert status == 200 and body[24] == 8

    # A stored JPEG goes out as it is, unless a smaller width is asked for.
    picture = tmp_path / "picture.jpg"
    stream = console.open_stream(f"/api/ids/{gray}/stream.mjpeg")
    picture.write_bytes(read_part(stream))
    stream.connection_.close()
    assert line.pvshm("write", jpeg, picture).returncode == 0
    stream = console.open_stream(f"/api/ids/{jpeg}/stream.mjpeg")
    assert read_part(stream) == picture.read_bytes()
    stream.connection_.close()
    stream = console.open_stream(f"/api/ids/{jpeg}/stream.mjpeg?width=32")
    assert jpeg_centre(read_part(stream))[0][:2] == (16, 32)
    stream.connection_.close()


def test_user_metadata_of_the_newest_frame(line, request):
    result = web_id(request, "result")
    line.write_result(result, {"part": "A17", "score": 0.93, "source_sequence": 1234})
    console = line.serve()
    info = console.json(f"/api/ids/{result}")
    assert info["metadata"] == {"part": "A17", "score": 0.93, "source_sequence": 1234}
    assert info["writer_alive"] is False


def test_metrics_are_prometheus_text(line, request, tmp_path):
    promtool = shutil.which("promtool")
    if not promtool:
        pytest.skip("promtool (Debian package prometheus) is not installed")
    live, gone = web_id(request, "live"), web_id(request, "gone")
    line.produce(live)
    stopped = line.produce(gone)
    console = line.serve()
    wait_for_frames(console, live, frames=30)
    wait_for_frames(console, gone)
    stopped.kill()
    status, headers, body = console.get("/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
    checked = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True,
                             timeout=WAIT)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    samples = {}
    for text in body.decode().splitlines():
        if text and not text.startswith("#"):
            name, value = text.rsplit(" ", 1)
            samples[name] = float(value)
    assert samples[f'pvshm_frames_written_total{{id="{live}"}}'] >= 30
    assert samples[f'pvshm_frames_dropped_total{{id="{live}"}}'] == 0
    assert 0 <= samples[f'pvshm_frame_age_seconds{{id="{live}"}}'] < WAIT
    assert samples[f'pvshm_writer_alive{{id="{live}"}}'] == 1
    assert samples[f'pvshm_writer_alive{{id="{gone}"}}'] == 0
    # The rate needs two samples, a second apart.
    rate = f'pvshm_frame_rate{{id="{live}"}} '
    deadline = time.monotonic() + WAIT
    while rate not in (text := console.get("/metrics")[2].decode()):
        assert time.monotonic() < deadline, "no frame rate"
        time.sleep(0.1)  # polls the condition, bounded by the deadline
    value = float(text.split(rate)[1].split()[0])
    assert 5 < value < 60, value


def write_password(tmp_path, password="s3cret pass"):
    path = tmp_path / "password"
    path.write_text(password + "\n")
    path.chmod(0o600)
    return path


def opener(console, user, password, digest=True):
    manager = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    manager.add_password(None, console.url, user, password)
    handler = (urllib.request.HTTPDigestAuthHandler if digest else
               urllib.request.HTTPBasicAuthHandler)(manager)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return urllib.request.build_opener(handler, urllib.request.HTTPSHandler(context=context))


def status_of(open_url, url):
    try:
        with open_url(url, timeout=WAIT) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_with_credentials_every_path_needs_them(line, request, tmp_path):
    camera = web_id(request)
    line.produce(camera)
    console = line.serve("--user", "operator", "--password-file", write_password(tmp_path))
    paths = ["/", f"/ids/{camera}", "/api/ids", f"/api/ids/{camera}",
             f"/api/ids/{camera}/snapshot.png", f"/api/ids/{camera}/stream.mjpeg", "/metrics",
             "/no-such-path", "/api/ids/no-such-id"]
    for path in paths:
        status, headers, _ = console.get(path)
        assert status == 401, path
        assert headers["WWW-Authenticate"].startswith("Digest "), path
        # Basic outside TLS would send the password in clear: not offered, not accepted.
        basic = base64.b64encode(b"operator:s3cret pass").decode()
        assert console.get(path, {"Authorization": f"Basic {basic}"})[0] == 401, path
    wrong = opener(console, "operator", "wrong").open
    assert status_of(wrong, console.url + "api/ids") == 401
    right = opener(console, "operator", "s3cret pass")
    snapshot = console.url + f"api/ids/{camera}/snapshot.png"
    deadline = time.monotonic() + WAIT
    while status_of(right.open, snapshot) != 200:  # until the producer's first frame
        assert time.monotonic() < deadline, "no frame"
        time.sleep(0.05)
    for path in paths[:-2]:
        with right.open(console.url + path.lstrip("/"), timeout=WAIT) as response:
            assert response.status == 200, path
            response.read(1000)
    assert status_of(right.open, console.url + "no-such-path") == 404


def test_tls_with_basic_and_digest(line, request, tmp_path, tls_certificate):
    certificate, key = tls_certificate
    camera = web_id(request)
    line.produce(camera)
    console = line.serve("--tls-cert", certificate, "--tls-key", key, "--user", "operator",
                         "--password-file", write_password(tmp_path))
    assert console.url.startswith("https://127.0.0.1:")
    assert console.get("/api/ids")[0] == 401
    basic = base64.b64encode(b"operator:s3cret pass").decode()
    status, _, body = console.get("/api/ids", {"Authorization": f"Basic {basic}"})
    assert status == 200 and camera in body.decode()
    assert status_of(opener(console, "operator", "s3cret pass").open, console.url + "metrics") == 200
    # Plain HTTP to the TLS port gets no page.
    plain = http.client.HTTPConnection("127.0.0.1", console.port, timeout=WAIT)
    try:
        plain.request("GET", "/api/ids")
        assert plain.getresponse().status != 200
    except (ConnectionError, http.client.HTTPException):
        pass
    finally:
        plain.close()


def test_a_flood_of_connections_does_not_starve_a_connected_viewer(line, request):
    import socket

    camera = web_id(request)
    line.produce(camera, GREEN)
    console = line.serve("--max-clients", 4)
    wait_for_frames(console, camera)
    viewer = console.open_stream(f"/api/ids/{camera}/stream.mjpeg?width=64")
    read_part(viewer)
    flood = [socket.create_connection(("127.0.0.1", console.port), timeout=WAIT) for _ in range(20)]
    try:
        # The first three took the free places (they send nothing); the others are told 503.
        for connection in flood[3:]:
            assert connection.recv(100).startswith(b"HTTP/1.1 503"), "not refused"
        for _ in range(10):
            assert close(jpeg_centre(read_part(viewer))[1], GREEN)
    finally:
        for connection in flood:
            connection.close()
        viewer.connection_.close()


def resident_bytes(pid):
    with open(f"/proc/{pid}/status") as status:
        for text in status:
            if text.startswith("VmRSS:"):
                return int(text.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_a_stalled_viewer_costs_one_picture_not_a_queue(line, request):
    """A viewer that takes nothing must neither hold back another nor make the server keep
    every picture it did not take: pictures of noise (some 400 kB each) that a queue would
    pile up by the tens of megabytes."""
    import socket

    camera = web_id(request)
    line.produce(camera, pattern="snow", width=1280, height=720, rate=15)
    console = line.serve()
    wait_for_frames(console, camera)
    path = f"/api/ids/{camera}/stream.mjpeg"
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.connect(("127.0.0.1", console.port))
    stalled.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    reader = console.open_stream(path)
    sizes = [len(read_part(reader)) for _ in range(5)]
    before = resident_bytes(console.child.process.pid)
    sizes += [len(read_part(reader)) for _ in range(60)]
    grown = resident_bytes(console.child.process.pid) - before
    piled = sum(sizes[5:])
    assert piled > 10_000_000, "pictures too small to tell a queue from none"
    assert grown < piled / 3, (grown, piled)
    reader.connection_.close()
    stalled.close()
