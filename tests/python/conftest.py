# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fixtures of the pvshm Python tests: an id per test, second processes, a PNG encoder."""

import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

import pvshm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "helpers"))
from pvshm_pytest import (  # noqa: E402,F401
    TIMEOUT,
    PrivateShmDir,
    helper,
    segment_path,
    spawn as spawn_process,
    unique_id,
)

# A second process must import the same pvshm as this one, built or installed.
PACKAGE_PARENT = str(Path(pvshm.__file__).resolve().parent.parent)


@pytest.fixture
def spawn(spawn_process):
    """Starts second processes that import this pvshm."""
    env = package_env()
    return lambda argv: spawn_process(argv, env)


def package_env(extra=None):
    """The environment of a second process that imports this pvshm."""
    env = dict(os.environ, **(extra or {}))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [PACKAGE_PARENT, env.get("PYTHONPATH")]))
    return env


@pytest.fixture
def shm_id(request):
    """An id unique to the test and this process; the test must leave no segment behind."""
    shared_mem_id = unique_id("py", request.node.name, os.getpid())
    yield shared_mem_id
    pvshm.dev_clear_shared_memory(shared_mem_id)
    assert not segment_path(shared_mem_id).exists()


@pytest.fixture
def shm_ids(shm_id):
    """make(count): that many more ids unique to the test; none may be left behind."""
    made = []

    def make(count):
        ids = [f"{shm_id}-{index}" for index in range(len(made), len(made) + count)]
        made.extend(ids)
        return ids

    yield make
    for shared_mem_id in made:
        pvshm.dev_clear_shared_memory(shared_mem_id)
        assert not segment_path(shared_mem_id).exists()


def stamp_byte(stamp):
    return (stamp * 31 + 7) & 0xFF


def stamp_of(view):
    """Stamp of an intact pvshm-test-writer frame (tests/helpers/stamp.hpp), None if torn."""
    data = np.ascontiguousarray(view).reshape(-1)
    stamp = int(data[:8].view("<u8")[0])
    return stamp if (data[8:] == stamp_byte(stamp)).all() else None


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
def python_writer(spawn):
    def start(shared_mem_id, width, height):
        child = spawn([sys.executable, "-c", PYTHON_WRITER, shared_mem_id, str(width), str(height)])
        child.expect("ready")
        return child

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


class PythonShmDir(PrivateShmDir):
    """A private shared-memory directory whose second processes import this pvshm."""

    def __init__(self):
        super().__init__(package_env())

    def python(self, code, *args, timeout=TIMEOUT):
        """Runs `code` in a second Python process; returns its stripped stdout."""
        result = subprocess.run(
            [sys.executable, "-c", code, *map(str, args)],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def write_segment(self, shared_mem_id):
        self.python(
            "import sys, numpy, pvshm\n"
            "pvshm.write_image_array_to_shared_memory(sys.argv[1], "
            "numpy.full((3, 4, 3), 7, numpy.uint8))",
            shared_mem_id,
        )


@pytest.fixture
def private_shm():
    directory = PythonShmDir()
    yield directory
    directory.remove()
