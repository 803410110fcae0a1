"""Fixtures of the pvshm CLI tests: the binary, an id per test, second processes."""

import os
import re
import sys
import shutil
import subprocess
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "helpers"))
from pvshm_pytest import TIMEOUT, helper, segment_path, spawn  # noqa: E402,F401


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


@pytest.fixture
def shm_id(request, pvshm):
    """An id unique to the test and this process; the test must leave no segment behind."""
    shared_mem_id = re.sub(r"[^A-Za-z0-9._-]", "_", f"cli-{request.node.name}-{os.getpid()}")
    yield shared_mem_id
    pvshm("clear", "--force", shared_mem_id)
    assert not segment_path(shared_mem_id).exists()
