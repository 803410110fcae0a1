# SPDX-License-Identifier: LGPL-2.1-or-later
"""What the tests of `pvshm rtsp` share: the server, producers and players as second processes, and
just enough RTSP spoken by hand for what players do not do. Every connection is to 127.0.0.1."""


import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import pipeline_env, segment_path, unique_id

# Generous: the machine's two cores are shared with encoders, decoders and other tests.
WAIT = 30.0
BLUE = (0, 0, 255)  # videotestsrc foreground-color=0xff0000ff (ARGB)
RED = (255, 0, 0)  # 0xffff0000
BLACK = (0, 0, 0)
# H.264 and JPEG, through limited-range I420, stay this close to a flat colour.
CODEC_TOLERANCE = 20
VIEWER = Path(__file__).resolve().parent / "opencv_viewer.py"


def argb(colour):
    red, green, blue = colour
    return f"0xff{red:02x}{green:02x}{blue:02x}"


def is_colour(rgb, expected):
    return all(abs(a - b) <= CODEC_TOLERANCE for a, b in zip(rgb, expected))


def assert_colour(rgb, expected):
    assert is_colour(rgb, expected), (rgb, expected)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def gst_env(cli_path, tmp_path_factory):
    """The environment of every process here: the built plugin and a registry of our own."""
    env = pipeline_env(cli_path, tmp_path_factory.mktemp("gst"), ("pvshmsrc",))
    help_text = subprocess.run([cli_path, "rtsp", "--help"], capture_output=True, text=True)
    if "not in this build" in help_text.stdout:
        pytest.skip("pvshm was built without gst-rtsp-server")
    return env


@pytest.fixture
def opencv():
    pytest.importorskip("cv2", reason="OpenCV's Python module (python3-opencv) is missing")


@pytest.fixture
def rtsp_id(request, pvshm):
    shared_mem_id = unique_id("rtsp", request.node.name, os.getpid())
    yield shared_mem_id
    pvshm("clear", "--force", shared_mem_id)
    assert not segment_path(shared_mem_id).exists()


class Server:
    """`pvshm rtsp --json` and the events it printed."""

    def __init__(self, child, port):
        self.child = child
        self.port = port
        self.events = []

    def url(self, shared_mem_id, credentials=""):
        return f"rtsp://{credentials}127.0.0.1:{self.port}/{shared_mem_id}"

    def wait_for(self, name, timeout=WAIT, **fields):
        """The first event `name` with `fields`, seen before or read now."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if event["event"] == name and all(event.get(k) == v for k, v in fields.items()):
                    return event
            self.events.append(json.loads(self.child.read_line(deadline - time.monotonic())))

    def count(self, name, **fields):
        return sum(
            e["event"] == name and all(e.get(k) == v for k, v in fields.items())
            for e in self.events
        )


@pytest.fixture
def producer(spawn, gst_env, rtsp_id):
    """Starts videotestsrc -> pvshmsink of a solid colour (width, height, colour). The writers
    stop before rtsp_id clears the id: a live writer would create its segment again."""
    writers = []

    def start(shared_mem_id, width=320, height=240, colour=BLUE, env=None, pattern="solid-color",
              stored=()):
        """`stored`: elements (and caps) that make what pvshmsink stores, after the raw caps."""
        writer = spawn(
            [
                "gst-launch-1.0", "-q",
                "videotestsrc", f"pattern={pattern}",
                *(["foreground-color=" + argb(colour)] if colour else []), "is-live=true", "!",
                f"video/x-raw,width={width},height={height},framerate=30/1", "!",
                *stored,
                "pvshmsink", f"shared-mem-id={shared_mem_id}",
            ],
            env or gst_env,
        )
        writers.append(writer)
        return writer

    yield start
    for writer in writers:
        writer.kill()


@pytest.fixture
def server(spawn, cli_path, gst_env):
    """Starts `pvshm rtsp --json ARGS` on a free port; returns a Server once it listens."""

    def start(*args, env=None, wrapper=()):
        """`wrapper`: a command that runs the server (prlimit ... --)."""
        port = free_port()
        child = spawn([*wrapper, cli_path, "rtsp", "--json", "--port", str(port),
                       *map(str, args)], env or gst_env)
        started = Server(child, port)
        started.wait_for("listening")
        return started

    return start


@pytest.fixture
def viewer(spawn, gst_env, opencv):
    """Starts opencv_viewer.py on a URL; returns the child once it said opened or refused."""

    def start(url, *args, env=None):
        child = spawn([sys.executable, str(VIEWER), url, *map(str, args)], env or gst_env)
        child.outcome = child.read_line(WAIT)
        return child

    return start


def next_frame(child):
    line = child.read_line(WAIT)
    assert line != "end", "the stream ended"
    return json.loads(line)


def gst_viewer_argv(url, *rtspsrc_args, sink):
    return [
        "gst-launch-1.0", "-q", "rtspsrc", f"location={url}", "protocols=tcp", "latency=0",
        *rtspsrc_args, "!", "decodebin", "!", "videoconvert", "!", "video/x-raw,format=RGB",
        "!", *sink,
    ]


def watching_gst_viewer(spawn, gst_env, url):
    """gst-launch-1.0 rtspsrc ... ! fakesink that prints a line per frame: "(N bytes" each."""
    argv = gst_viewer_argv(url, sink=["fakesink", "name=out", "silent=false"])
    argv[1] = "-v"
    return spawn(argv, gst_env)


def next_frame_size(child):
    """Bytes of the next frame the watching viewer got."""
    for _ in range(1000):
        line = child.read_line(WAIT)
        if "last-message = chain" in line:
            return int(re.search(r"\((\d+) bytes", line).group(1))
        assert "EOS" not in line, line
    pytest.fail("the viewer printed no frame in 1000 lines")


def drain(child):
    """Reads what the child prints from now on, so that it never blocks on a full pipe."""

    def read_to_end():
        while os.read(child.process.stdout.fileno(), 65536):
            pass

    threading.Thread(target=read_to_end, daemon=True).start()


def rtsp_describe(port, path):
    """The head of the server's answer to an unauthenticated DESCRIBE."""
    request = (
        f"DESCRIBE rtsp://127.0.0.1:{port}/{path} RTSP/1.0\r\nCSeq: 1\r\n"
        "Accept: application/sdp\r\n\r\n"
    )
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as connection:
        connection.sendall(request.encode())
        for _ in range(64):
            chunk = connection.recv(4096)
            answer += chunk
            if not chunk or b"\r\n\r\n" in answer:
                break
    return answer.decode(errors="replace")


class RtspConnection:
    """Just enough RTSP over one TCP connection to play (digest authentication included), for
    clients that then stop reading or send what players do not."""

    def __init__(self, port, receive_buffer=None, credentials=None):
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer:
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.socket.settimeout(WAIT)
        self.socket.connect(("127.0.0.1", port))
        self.credentials = credentials  # (user, password)
        self.challenge = None  # (realm, nonce) of the last 401
        self.cseq = 0
        self.pending = b""

    def _authorization(self, method, url):
        if not self.credentials or not self.challenge:
            return []
        user, password = self.credentials
        realm, nonce = self.challenge
        md5 = lambda text: hashlib.md5(text.encode()).hexdigest()  # noqa: E731
        response = md5(f"{md5(f'{user}:{realm}:{password}')}:{nonce}:{md5(f'{method}:{url}')}")
        return [f'Authorization: Digest username="{user}", realm="{realm}", nonce="{nonce}", '
                f'uri="{url}", response="{response}"']

    def _exchange(self, method, url, headers):
        self.begin(method, url, *headers)
        return self.answer(method)

    def begin(self, method, url, *headers):
        """Sends a request; answer() reads what the server said to it."""
        self.cseq += 1
        lines = [f"{method} {url} RTSP/1.0", f"CSeq: {self.cseq}", *headers,
                 *self._authorization(method, url), "", ""]
        self.socket.sendall("\r\n".join(lines).encode())

    def answer(self, method):
        """(status, head, body) of the answer to the request `method` begun last."""
        for _ in range(1000):
            # Interleaved media ($, channel, 2-byte length) may come before the answer.
            while self.pending[:1] == b"$" and len(self.pending) >= 4:
                size = 4 + int.from_bytes(self.pending[2:4], "big")
                if len(self.pending) < size:
                    break
                self.pending = self.pending[size:]
            if self.pending[:1] not in (b"", b"$") and b"\r\n\r\n" in self.pending:
                break
            chunk = self.socket.recv(65536)
            assert chunk, f"the server closed the connection before answering {method}"
            self.pending += chunk
        head, _, self.pending = self.pending.partition(b"\r\n\r\n")
        head = head.decode()
        length = re.search(r"Content-Length: *(\d+)", head, re.IGNORECASE)
        size = int(length.group(1)) if length else 0
        for _ in range(1000):
            if len(self.pending) >= size:
                break
            self.pending += self.socket.recv(4096)
        body, self.pending = self.pending[:size].decode(), self.pending[size:]
        return int(head.split()[1]), head, body

    def send(self, method, url, *headers):
        """(status, head, body) of the answer; with credentials, a 401 is answered once."""
        status, head, body = self._exchange(method, url, headers)
        challenge = re.search(r'WWW-Authenticate: *Digest realm="([^"]*)", *nonce="([^"]*)"', head)
        if status == 401 and self.credentials and challenge:
            self.challenge = challenge.groups()
            status, head, body = self._exchange(method, url, headers)
        return status, head, body

    def request(self, method, url, *headers):
        status, head, body = self.send(method, url, *headers)
        assert status == 200, head
        return head, body

    def play_over_tcp(self, url):
        """Plays `url` with the media interleaved in this connection; returns the session id."""
        _, sdp = self.request("DESCRIBE", url, "Accept: application/sdp")
        control = re.search(r"a=control:(\S+)", sdp.split("m=video", 1)[1]).group(1)
        track = control if control.startswith("rtsp://") else f"{url}/{control}"
        head, _ = self.request("SETUP", track, "Transport: RTP/AVP/TCP;unicast;interleaved=0-1")
        session = re.search(r"Session: *([^;\r\n]+)", head).group(1)
        self.request("PLAY", url, f"Session: {session}")
        return session

    def media_bytes(self, count):
        """Reads interleaved media frames until `count` bytes came; False if the connection
        ended first."""
        received = 0
        for _ in range(100000):
            if received >= count:
                return True
            if self.pending[:1] == b"$" and len(self.pending) >= 4:
                size = 4 + int.from_bytes(self.pending[2:4], "big")
                if len(self.pending) >= size:
                    self.pending = self.pending[size:]
                    received += size
                    continue
            assert self.pending[:1] in (b"", b"$"), self.pending[:80]
            chunk = self.socket.recv(65536)
            if not chunk:
                return False
            self.pending += chunk
        return False

    def close(self):
        self.socket.close()
