# SPDX-License-Identifier: LGPL-2.1-or-later
"""The last test of a run (tests/meson.build): the shared-memory objects this run's tests left
behind. Every id a test makes starts with t-<PVSHM_TEST_RUN>- (the run's token), so that the
objects of other runs on the machine, started by other users or build trees, are never touched.
Fails naming each object found, and removes it, so that /dev/shm holds nothing the run made
whichever way its tests ended; skipped (77) without a token to look for."""

import os
import shutil
import sys
from pathlib import Path

run = os.environ.get("PVSHM_TEST_RUN")
if not run:
    print("PVSHM_TEST_RUN is not set: run through meson test")
    sys.exit(77)
directory = Path(os.environ.get("PVSHM_SHM_DIR") or "/dev/shm")
left = sorted(directory.glob(f"pvshm.t-{run}-*"))
for path in left:
    print(f"left behind: {path}")
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()
print(f"{len(left)} objects of test run {run} left in {directory}")
sys.exit(1 if left else 0)
