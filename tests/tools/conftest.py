# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fixtures of the pvshm CLI tests: the binary, an id per test, second processes."""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import pngfile

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "helpers"))
from pvshm_pytest import (  # noqa: E402,F401
    TIMEOUT,
    PrivateShmDir,
    helper,
    segment_path,
    spawn,
    unique_id,
)


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

    def run(*args, timeout=TIMEOUT, env=None):
        return subprocess.run(
            [cli_path, *map(str, args)], capture_output=True, text=True, timeout=timeout, env=env
        )

    return run


@pytest.fixture
def shm_id(request, pvshm):
    """An id unique to the test and this process; the test must leave no segment behind."""
    shared_mem_id = unique_id("cli", request.node.name, os.getpid())
    yield shared_mem_id
    pvshm("clear", "--force", shared_mem_id)
    assert not segment_path(shared_mem_id).exists()


class CliShmDir(PrivateShmDir):
    """A private shared-memory directory for the pvshm program and the test helpers."""

    def __init__(self, pvshm, spawn):
        super().__init__(os.environ)
        self._pvshm = pvshm
        self._spawn = spawn

    def pvshm(self, *args, timeout=TIMEOUT):
        return self._pvshm(*args, timeout=timeout, env=self.env)

    def writer(self, *args):
        """Starts pvshm-test-writer ARGS in this directory."""
        directory = os.environ.get("PVSHM_TEST_HELPERS")
        if not directory:
            pytest.skip("PVSHM_TEST_HELPERS is not set (run through meson test)")
        program = str(Path(directory) / "pvshm-test-writer")
        return self._spawn([program, *map(str, args)], self.env)

    def write_png(self, shared_mem_id, image_path):
        image_path.write_bytes(pngfile.encode(2, 1, [[(1, 2, 3), (4, 5, 6)]]))
        result = self.pvshm("write", shared_mem_id, image_path)
        assert result.returncode == 0, result.stderr

    def write_segment(self, shared_mem_id):
        with tempfile.TemporaryDirectory() as scratch:
            self.write_png(shared_mem_id, Path(scratch) / "image.png")


@pytest.fixture
def private_shm(pvshm, spawn):
    directory = CliShmDir(pvshm, spawn)
    yield directory
    directory.remove()


def pipeline_env(cli_path, registry_dir, elements):
    """The environment of processes running pipelines: the plugin built next to the CLI and a
    registry of their own; skips the test when one of `elements` is not found."""
    if not shutil.which("gst-launch-1.0"):
        pytest.skip("gst-launch-1.0 is not installed")
    env = dict(os.environ)
    built = Path(cli_path).resolve().parent.parent / "plugins"
    if built.is_dir():
        paths = [str(built), env.get("GST_PLUGIN_PATH")]
        env["GST_PLUGIN_PATH"] = os.pathsep.join(filter(None, paths))
    env["GST_REGISTRY"] = str(registry_dir / "registry.bin")
    # Builds the registry once, before processes would race to.
    for element in elements:
        found = subprocess.run(
            ["gst-inspect-1.0", element], env=env, capture_output=True, timeout=120
        )
        if found.returncode != 0:
            pytest.skip(f"the GStreamer element {element} is not found")
    return env


@pytest.fixture
def tls_certificate(tmp_path):
    """A self-signed certificate for localhost and its key: (certificate path, key path)."""
    if not shutil.which("openssl"):
        pytest.skip("openssl is not installed")
    certificate, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-keyout", key, "-out", certificate],
        check=True, capture_output=True, timeout=60,
    )
    return certificate, key
