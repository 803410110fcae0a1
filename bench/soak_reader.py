#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The soak test's Python reader (bench/soak.py): pvshm.Reader wait() + view() (zero copy, the
slot pinned while the array lives), checking with numpy that every frame is intact: its first 8
bytes hold a stamp n (little-endian), every other byte (n * 31 + 7) & 0xff (tests/helpers/stamp.hpp).

    soak_reader.py ID WIDTH HEIGHT STATS_FILE

STATS_FILE holds "frames torn backwards", rewritten after every frame so that the figures survive
a SIGKILL. A torn frame (or one of the wrong size) is also reported on stderr at once. Runs until
killed.
"""

import ctypes
import os
import signal
import sys

import numpy as np
import pvshm

PR_SET_PDEATHSIG = 1


def die_with_parent():
    parent = os.getppid()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGTERM)


def stamp_of(frame, expected_size):
    """The stamp of an intact frame, None for a torn one."""
    flat = np.asarray(frame).reshape(-1)
    if flat.dtype != np.uint8 or flat.size != expected_size or flat.size < 8:
        return None
    stamp = int.from_bytes(flat[:8].tobytes(), "little")
    value = (stamp * 31 + 7) & 0xFF
    if flat.size % 8 == 0 and flat.ctypes.data % 8 == 0:
        words = flat.view(np.uint64)[1:]
        if not np.all(words == np.uint64(value * 0x0101010101010101)):
            return None
    elif not np.all(flat[8:] == value):
        return None
    return stamp


def main():
    if len(sys.argv) != 5:
        print(f"usage: {sys.argv[0]} ID WIDTH HEIGHT STATS_FILE", file=sys.stderr)
        return 2
    die_with_parent()
    shm_id, width, height, stats_path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    expected_size = width * height
    fd = os.open(stats_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    frames = torn = backwards = 0
    last_stamp = 0

    def report():
        os.pwrite(fd, b"%20d %20d %20d\n" % (frames, torn, backwards), 0)

    report()
    reader = pvshm.Reader(shm_id)
    while True:
        if not reader.wait(1.0):
            continue
        view = reader.view()
        if view is None:
            continue
        frames += 1
        stamp = stamp_of(view, expected_size)
        if stamp is None:
            torn += 1
            metadata = reader.metadata or {}
            print(
                f"soak_reader.py: TORN frame, sequence {metadata.get('sequence')}, "
                f"shape {view.shape}",
                file=sys.stderr,
                flush=True,
            )
        else:
            if stamp <= last_stamp:
                backwards += 1
            last_stamp = stamp
        del view
        report()


if __name__ == "__main__":
    sys.exit(main())
