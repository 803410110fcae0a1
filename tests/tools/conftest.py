"""Fixtures of the pvshm CLI tests: the binary, an id per test, second processes."""

import os
import re
import selectors
import shutil
import subprocess
import time
from pathlib import Path

import pytest

TIMEOUT = 10.0


def pytest_addoption(parser):
    parser.addoption("--pvshm-cli", help="the pvshm program to test (default: pvshm on PATH)")


@pytest.fixture(scope="session")
def cli_path(pytestconfig):
    path = pytestconfig.getoption("pvshm_cli") or shutil.which("pvshm")
    if not path:
        pytest.skip("no pvshm program: pass --pvshm-cli or put it on PATH")
    return path


@pytest.fixture
def pvshm(cli_path):
    """Runs `pvshm ARGS...` to its end; returns the CompletedProcess (text output)."""

    def run(*args, timeout=TIMEOUT):
        return subprocess.run(
            [cli_path, *map(str, args)], capture_output=True, text=True, timeout=timeout
        )

    return run


def segment_path(shared_mem_id):
    return Path(os.environ.get("PVSHM_SHM_DIR") or "/dev/shm") / f"pvshm.{shared_mem_id}"


@pytest.fixture
def shm_id(request, pvshm):
    """An id unique to the test and this process; the test must leave no segment behind."""
    shared_mem_id = re.sub(r"[^A-Za-z0-9._-]", "_", f"cli-{request.node.name}-{os.getpid()}")
    yield shared_mem_id
    pvshm("clear", "--force", shared_mem_id)
    assert not segment_path(shared_mem_id).exists()


class Child:
    """A second process, talked to through its stdin and stdout lines, with timeouts."""

    def __init__(self, argv):
        # Unbuffered bytes: a buffered reader could hold lines that select() no longer sees.
        self.process = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0
        )
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.process.stdout, selectors.EVENT_READ)
        self._pending = b""

    def expect(self, prefix, timeout=TIMEOUT):
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
        line = line.decode()
        assert line.startswith(prefix), line
        return line

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
def helper():
    """Starts a C++ program of tests/helpers (pvshm-test-writer); kills it when the test ends."""
    directory = os.environ.get("PVSHM_TEST_HELPERS")
    if not directory:
        pytest.skip("PVSHM_TEST_HELPERS is not set (run through meson test)")
    children = []

    def start(name, *args):
        child = Child([str(Path(directory) / name), *map(str, args)])
        children.append(child)
        return child

    yield start
    for child in children:
        child.kill()
