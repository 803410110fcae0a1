# SPDX-License-Identifier: LGPL-2.1-or-later
"""What the pytest suites share: second processes talked to by lines, and where segments live."""

import os
import re
import selectors
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

TIMEOUT = 10.0


def unique_id(*parts):
    """An id of `parts` joined by '-' (other characters than an id's as '_'), starting with this
    run's prefix, t-<PVSHM_TEST_RUN>- (tests/meson.build), so that the check at the end of the run
    (tests/shm_leftovers.py) finds and removes what the run left behind and nothing else."""
    run = os.environ.get("PVSHM_TEST_RUN")
    prefix = f"t-{run}-" if run else "t-"
    return re.sub(r"[^A-Za-z0-9._-]", "_", prefix + "-".join(map(str, parts)))[:200]


def segment_path(shared_mem_id):
    return Path(os.environ.get("PVSHM_SHM_DIR") or "/dev/shm") / f"pvshm.{shared_mem_id}"


class Child:
    """A second process, talked to through its stdin and stdout lines, with timeouts."""

    def __init__(self, argv, env=None, stderr=None):
        # Unbuffered bytes: a buffered reader could hold lines that select() no longer sees.
        # stderr=subprocess.STDOUT reads its stderr lines too.
        self.process = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0, env=env, stderr=stderr
        )
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.process.stdout, selectors.EVENT_READ)
        self._pending = b""

    def read_line(self, timeout=TIMEOUT):
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

    def expect(self, prefix, timeout=TIMEOUT):
        line = self.read_line(timeout)
        assert line.startswith(prefix), line
        return line

    def send(self, line):
        self.process.stdin.write(line.encode() + b"\n")
        self.process.stdin.flush()

    def finish(self):
        """Closes its stdin and returns its exit status."""
        self.process.stdin.close()
        return self.process.wait(TIMEOUT)

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(TIMEOUT)
        self.process.stdout.close()
        if not self.process.stdin.closed:
            self.process.stdin.close()


@pytest.fixture
def spawn():
    """Starts second processes (argv, env=None, stderr=None) and kills those still running at
    the end."""
    children = []

    def start(argv, env=None, stderr=None):
        child = Child(argv, env, stderr)
        children.append(child)
        return child

    yield start
    for child in children:
        child.kill()


@pytest.fixture
def helper(spawn):
    """Starts a C++ program of tests/helpers (pvshm-test-writer, pvshm-test-reader)."""
    directory = os.environ.get("PVSHM_TEST_HELPERS")
    if not directory:
        pytest.skip("PVSHM_TEST_HELPERS is not set (run through meson test)")

    def start(name, *args):
        return spawn([str(Path(directory) / name), *map(str, args)])

    return start


# uid of "another user" for the tests that run as root: nobody.
OTHER_UID = 65534


class PrivateShmDir:
    """A shared-memory directory (PVSHM_SHM_DIR) of one test alone, for what must not meet the
    tests of other processes in /dev/shm: FIFOs and sockets under a segment name (they hang
    readers that lack the library's check), other users' files, `pvshm clear --dead`. Second
    processes take `env` (the library reads the variable once per process). A suite gives
    write_segment(shared_mem_id): a usable segment written by this user, the start of another
    user's."""

    def __init__(self, env):
        # Short, so that a socket path fits in sun_path's 108 bytes.
        self.path = Path(tempfile.mkdtemp(prefix="pvshm-"))
        self.env = dict(env, PVSHM_SHM_DIR=str(self.path))
        self.env.pop("PVSHM_ALLOW_OTHER_OWNERS", None)

    def object_path(self, shared_mem_id):
        return self.path / f"pvshm.{shared_mem_id}"

    def write_segment(self, shared_mem_id):
        raise NotImplementedError

    def plant(self, kind, shared_mem_id):
        """Puts an object that is not a usable segment of this user under the id's name: a
        "fifo", "socket", "directory", "truncated" file or "other-user-0600"/"-0644" segment."""
        path = self.object_path(shared_mem_id)
        if kind == "fifo":
            os.mkfifo(path, 0o600)
        elif kind == "socket":
            with socket.socket(socket.AF_UNIX) as server:
                server.bind(str(path))  # the name stays after the socket is closed
        elif kind == "directory":
            path.mkdir(0o700)
        elif kind == "truncated":
            path.write_bytes(b"not a segment")
        elif kind.startswith("other-user"):
            if os.geteuid() != 0:
                pytest.skip("another user's segment needs root to chown it")
            self.write_segment(shared_mem_id)
            os.chown(path, OTHER_UID, -1)
            os.chmod(path, 0o644 if kind.endswith("0644") else 0o600)
        else:
            raise ValueError(kind)
        return path

    def remove(self):
        shutil.rmtree(self.path)
