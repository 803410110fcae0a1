"""Fixtures of the pvshm Python tests: an id per test, second processes, a PNG encoder."""

import os
import re
import struct
import sys
import zlib
from pathlib import Path

import pytest

import pvshm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "helpers"))
from pvshm_pytest import helper, segment_path, spawn as spawn_process  # noqa: E402,F401

# A second process must import the same pvshm as this one, built or installed.
PACKAGE_PARENT = str(Path(pvshm.__file__).resolve().parent.parent)


@pytest.fixture
def spawn(spawn_process):
    """Starts second processes that import this pvshm."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [PACKAGE_PARENT, env.get("PYTHONPATH")]))
    return lambda argv: spawn_process(argv, env)


@pytest.fixture
def shm_id(request):
    """An id unique to the test and this process; the test must leave no segment behind."""
    shared_mem_id = re.sub(r"[^A-Za-z0-9._-]", "_", f"py-{request.node.name}-{os.getpid()}")
    yield shared_mem_id
    pvshm.dev_clear_shared_memory(shared_mem_id)
    assert not segment_path(shared_mem_id).exists()


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
