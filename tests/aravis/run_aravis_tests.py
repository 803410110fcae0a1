#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Runs test_aravis.py where it can run: as root (network namespaces), with iproute2, Aravis'
simulated camera (aravis-tools) and its GStreamer source (libaravis-0.8-0). Elsewhere it exits 77,
which meson counts as skipped. Segments go to a shared-memory directory of the run's own."""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def missing():
    if os.geteuid() != 0:
        return "network namespaces need root"
    for program, package in [("ip", "iproute2"), ("arv-fake-gv-camera-0.8", "aravis-tools"),
                             ("gst-inspect-1.0", "gstreamer1.0-tools")]:
        if not shutil.which(program):
            return f"{program} not found (Debian: {package})"
    # Not --exists: that also wants the plugin version to be GStreamer's (Aravis has its own).
    found = subprocess.run(["gst-inspect-1.0", "aravissrc"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=60)
    if found.returncode != 0:
        return "GStreamer element aravissrc not found (Debian: libaravis-0.8-0)"
    return None


def main():
    reason = missing()
    if reason:
        print(reason)
        return 77
    import pytest

    shm_dir = tempfile.mkdtemp(prefix="pvshm-aravis-")
    os.environ["PVSHM_SHM_DIR"] = shm_dir
    try:
        # No bytecode and no cache provider: nothing written into the source tree.
        sys.dont_write_bytecode = True
        return pytest.main(["-q", "-p", "no:cacheprovider",
                            str(Path(__file__).resolve().parent / "test_aravis.py"),
                            *sys.argv[1:]])
    finally:
        shutil.rmtree(shm_dir)


if __name__ == "__main__":
    sys.exit(main())
