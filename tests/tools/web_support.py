# SPDX-License-Identifier: LGPL-2.1-or-later
"""What the `pvshm web` tests share: a private shared-memory directory with videotestsrc
producers in it, the server, and HTTP requests sent exactly as written (http.client: no path
normalisation, no retries)."""

import http.client
import json
import os
import re
import shutil
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import pipeline_env

# Generous: two cores shared with encoders, browsers and the other tests.
WAIT = 30.0
RED = (255, 0, 0)
GREEN = (0, 255, 0)
BLUE = (0, 0, 255)


def argb(colour):
    red, green, blue = colour
    return f"0xff{red:02x}{green:02x}{blue:02x}"


class Console:
    """A running `pvshm web`, and requests to it."""

    def __init__(self, child, url):
        self.child = child
        self.url = url
        self.port = int(re.search(r":(\d+)/$", url).group(1))
        self.https = url.startswith("https:")

    def connection(self, timeout=WAIT):
        if self.https:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                               context=context)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def get(self, path, headers=None, method="GET"):
        """(status, headers, body bytes) of one request."""
        connection = self.connection()
        try:
            connection.request(method, path, headers=headers or {})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def json(self, path, headers=None):
        status, _, body = self.get(path, headers)
        assert status == 200, (path, status, body)
        return json.loads(body)

    def open_stream(self, path, headers=None):
        """The response of a stream request, its parts read with read_part()."""
        connection = self.connection()
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        response.connection_ = connection
        return response


def read_part(response):
    """The next JPEG of a multipart/x-mixed-replace response."""
    boundary = response.getheader("Content-Type").split("boundary=")[1].encode()
    line = response.readline()
    while line.strip() == b"":
        line = response.readline()
    assert line.strip() == b"--" + boundary, line
    length = None
    while True:
        line = response.readline().strip()
        if not line:
            break
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    assert length, "a part without Content-Length"
    return response.read(length)


class Line:
    """A private shared-memory directory, its producers and its `pvshm web`."""

    def __init__(self, cli_path, spawn, pvshm, gst_env):
        self.directory = Path(tempfile.mkdtemp(prefix="pvshm-web-"))
        self.env = dict(gst_env, PVSHM_SHM_DIR=str(self.directory))
        self.cli_path = cli_path
        self.spawn = spawn
        self.pvshm = lambda *args: pvshm(*args, env=self.env)
        self.producers = []

    def produce(self, shared_mem_id, colour=RED, width=320, height=240, rate=30,
                pattern="solid-color", stored=(), extra=()):
        """videotestsrc -> pvshmsink in a process of its own."""
        child = self.spawn(
            ["gst-launch-1.0", "-q", "videotestsrc", f"pattern={pattern}",
             *([f"foreground-color={argb(colour)}"] if pattern == "solid-color" else []),
             "is-live=true", "!",
             f"video/x-raw,width={width},height={height},framerate={rate}/1", "!", *stored,
             "pvshmsink", f"shared-mem-id={shared_mem_id}", *extra],
            self.env,
        )
        self.producers.append(child)
        return child

    def write_result(self, shared_mem_id, metadata):
        """An algorithm's result: a small array with user metadata, written by the Python module
        of the build tree in a process of its own."""
        module = Path(self.cli_path).resolve().parent.parent / "python"
        if not list(module.glob("pvshm*")):
            pytest.skip("the Python module is not built")
        subprocess.run(
            ["/usr/bin/python3", "-c",
             "import sys, json, numpy, pvshm\n"
             "pvshm.write_image_array_to_shared_memory(sys.argv[1], "
             "numpy.full((48, 64, 3), 200, numpy.uint8), metadata=json.loads(sys.argv[2]))",
             shared_mem_id, json.dumps(metadata)],
            env=dict(self.env, PYTHONPATH=str(module)), check=True, timeout=WAIT,
        )

    def serve(self, *args):
        """Starts `pvshm web --port 0 ARGS` and returns a Console once it listens."""
        child = self.spawn([self.cli_path, "web", "--port", "0", *map(str, args)], self.env)
        line = child.read_line(WAIT)
        match = re.search(r"listening on (\S+)", line)
        assert match, line
        return Console(child, match.group(1))

    def close(self):
        for child in self.producers:
            child.kill()
        shutil.rmtree(self.directory)


def wait_for_frames(console, shared_mem_id, frames=1, headers=None):
    """The id's /api object once its writer published `frames` frames."""
    deadline = time.monotonic() + WAIT
    while True:
        status, _, body = console.get(f"/api/ids/{shared_mem_id}", headers)
        if status == 200 and (json.loads(body)["frames_written"] or 0) >= frames:
            return json.loads(body)
        assert time.monotonic() < deadline, f"{shared_mem_id}: no frame within {WAIT} s"
        time.sleep(0.05)  # polls the condition, bounded by the deadline


@pytest.fixture
def line(cli_path, spawn, pvshm, tmp_path_factory):
    env = pipeline_env(cli_path, tmp_path_factory.mktemp("gst"), ("pvshmsink", "videotestsrc"))
    help_text = subprocess.run([cli_path, "web", "--help"], capture_output=True, text=True)
    if "not in this build" in help_text.stdout:
        pytest.skip("pvshm was built without libsoup 3")
    made = Line(cli_path, spawn, pvshm, env)
    yield made
    made.close()


def web_id(request, name="camera"):
    """An id of the test's own (its shared-memory directory is private): short, as on a line."""
    return f"{name}-{os.getpid()}"
