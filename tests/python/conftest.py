"""Fixtures of the pvshm Python tests: an id per test, second processes, a PNG encoder."""

import os
import re
import selectors
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest

import pvshm

# A second process must import the same pvshm as this one, built or installed.
PACKAGE_PARENT = str(Path(pvshm.__file__).resolve().parent.parent)
CHILD_TIMEOUT = 10.0


def segment_path(shared_mem_id):
    return Path(os.environ.get("PVSHM_SHM_DIR") or "/dev/shm") / f"pvshm.{shared_mem_id}"


@pytest.fixture
def shm_id(request):
    """An id unique to the test and this process; the test must leave no segment behind."""
    shared_mem_id = re.sub(r"[^A-Za-z0-9._-]", "_", f"py-{request.node.name}-{os.getpid()}")
    yield shared_mem_id
    pvshm.dev_clear_shared_memory(shared_mem_id)
    assert not segment_path(shared_mem_id).exists()


class Child:
    """A second process, talked to through its stdin and stdout lines, with timeouts."""

    def __init__(self, argv):
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [PACKAGE_PARENT, env.get("PYTHONPATH")]))
        # Unbuffered bytes: a buffered reader could hold lines that select() no longer sees.
        self.process = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0, env=env
        )
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.process.stdout, selectors.EVENT_READ)
        self._pending = b""

    def read_line(self, timeout=CHILD_TIMEOUT):
        deadline = time.monotonic() + timeout
        while b"\n" not in self._pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._selector.select(remaining):
                pytest.fail(f"{self.process.args[:2]} printed no line within {timeout} s")
            chunk = os.read(self.process.stdout.fileno(), 4096)
            if not chunk:
                pytest.fail(f"{self.process.args[:2]} ended with status {self.process.wait()}")
            self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        return line.decode()

    def expect(self, prefix):
        line = self.read_line()
        assert line.startswith(prefix), line
        return line

    def send(self, line):
        self.process.stdin.write(line.encode() + b"\n")
        self.process.stdin.flush()

    def finish(self):
        """Closes its stdin and returns its exit status."""
        self.process.stdin.close()
        return self.process.wait(CHILD_TIMEOUT)

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(CHILD_TIMEOUT)
        self.process.stdout.close()
        if not self.process.stdin.closed:
            self.process.stdin.close()


# Writes a frame filled with VALUE for every "VALUE" line on stdin, answering "wrote VALUE".
PYTHON_WRITER = """
import sys
import numpy as np
import pvshm
shared_mem_id, width, height = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
print("ready", flush=True)
for line in sys.stdin:
    value = int(line)
    pvshm.write_image_array_to_shared_memory(
        shared_mem_id, np.full((height, width, 3), value, np.uint8))
    print("wrote", value, flush=True)
"""


@pytest.fixture
def spawn():
    """Starts second processes and kills those still running when the test ends."""
    children = []

    def start(argv):
        child = Child(argv)
        children.append(child)
        return child

    yield start
    for child in children:
        child.kill()


@pytest.fixture
def python_writer(spawn):
    def start(shared_mem_id, width, height):
        child = spawn([sys.executable, "-c", PYTHON_WRITER, shared_mem_id, str(width), str(height)])
        child.expect("ready")
        return child

    return start


@pytest.fixture
def helper(spawn):
    """Starts a C++ program of tests/helpers (pvshm-test-writer, pvshm-test-reader)."""
    directory = os.environ.get("PVSHM_TEST_HELPERS")
    if not directory:
        pytest.skip("PVSHM_TEST_HELPERS is not set (run through meson test)")

    def start(name, *args):
        return spawn([str(Path(directory) / name), *map(str, args)])

    return start


def png_bytes(rgb):
    """An 8-bit RGB PNG of a (H,W,3) uint8 array, with no dependency beyond zlib."""
    height, width, _ = rgb.shape
    raw = b"".join(b"\x00" + row.tobytes() for row in rgb)  # filter 0 on every row

    def chunk(kind, data):
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
