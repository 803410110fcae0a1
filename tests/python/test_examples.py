# SPDX-License-Identifier: LGPL-2.1-or-later
"""The examples run as their docstrings and usage lines say, so that they cannot rot."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import pvshm
from conftest import TIMEOUT, package_env, segment_path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_the_four_cameras_example_prints_synchronised_sets_and_cleans_up():
    example = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "04_four_cameras.py"), "--sets", "5", "--fps", "50"],
        env=package_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        out, err = example.communicate(timeout=60)
    finally:
        example.kill()
    assert example.returncode == 0, err
    sets = [line.split() for line in out.splitlines() if line.startswith("set ")]
    assert [int(words[1]) for words in sets] == [1, 2, 3, 4, 5]
    triggers = [int(words[3]) for words in sets]
    assert triggers == sorted(set(triggers)), "one set per trigger, in order"
    assert out.splitlines()[-1] == "5 sets of 4 frames"
    for index in range(4):
        assert not segment_path(f"four-cameras-{example.pid}-{index}").exists()


@pytest.fixture
def example():
    """Runs a C++ example (pvshm-example-NAME ARGS...) to its end; returns the CompletedProcess."""
    directory = os.environ.get("PVSHM_EXAMPLES")
    if not directory:
        pytest.skip("PVSHM_EXAMPLES is not set (run through meson test, examples built)")

    def run(name, *args):
        return subprocess.run(
            [str(Path(directory) / f"pvshm-example-{name}"), *map(str, args)],
            capture_output=True, text=True, timeout=TIMEOUT,
        )  # fmt: skip

    return run


def test_the_read_one_frame_example_saves_the_newest_frame_as_png(example, shm_id, tmp_path):
    pvshm.write_image_array_to_shared_memory(shm_id, np.full((6, 8, 3), 9, np.uint8))
    out = tmp_path / "frame.png"
    result = example("read-one-frame", shm_id, 8, 6, out)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"wrote 8x6 frame to {out}\n"
    assert out.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    result = example("read-one-frame", shm_id, 0, 6, out)
    assert (result.returncode, result.stderr) == (1, "width and height must be positive\n")


def test_the_algorithm_example_reads_frames_and_saves_a_snapshot(example, helper, shm_id, tmp_path):
    writer = helper("pvshm-test-writer", shm_id, 32, 24, 0)  # writes until killed
    writer.expect("ready")
    snapshot = tmp_path / "snapshot.png"
    result = example("algorithm", shm_id, "--frames", 5, "--timeout", 5, "--snapshot", snapshot)
    assert result.returncode == 0, result.stderr
    assert "frames read: 5\n" in result.stdout
    assert f"snapshot: {snapshot}\n" in result.stdout
    assert snapshot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_the_algorithm_example_ends_after_its_timeout_without_frames(example, shm_id):
    result = example("algorithm", shm_id, "--frames", 1, "--timeout", 0.1)
    assert result.returncode == 1
    assert "frames read: 0\n" in result.stdout


@pytest.mark.parametrize(
    "name, args",
    [
        ("read-one-frame", []),
        ("read-one-frame", ["cam0", "wide", "6", "out.png"]),
        ("read-one-frame", ["cam0", "8", "6", "out.png", "extra"]),
        ("algorithm", []),
        ("algorithm", ["cam0", "--frames", "many"]),
        ("algorithm", ["cam0", "--frames", "0"]),
        ("algorithm", ["cam0", "--timeout", "-1"]),
        ("algorithm", ["cam0", "--unknown"]),
    ],
)
def test_the_cpp_examples_refuse_bad_usage_with_status_2(example, name, args):
    result = example(name, *args)
    assert result.returncode == 2
    assert "--help" in result.stderr


@pytest.mark.parametrize("name", ["read-one-frame", "algorithm"])
def test_the_cpp_examples_describe_their_usage(example, name):
    result = example(name, "--help")
    assert result.returncode == 0
    assert result.stdout.startswith("Reads" if name == "read-one-frame" else "A vision")
    assert "ID" in result.stdout
