# SPDX-License-Identifier: LGPL-2.1-or-later
"""What the pytest suites share: second processes talked to by lines, and where segments live."""

import os
import selectors
import subprocess
import time
from pathlib import Path

import pytest

TIMEOUT = 10.0


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
