# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Python examples run as their docstrings say, so that they cannot rot."""

import subprocess
import sys
from pathlib import Path

from conftest import package_env, segment_path

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
