#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""What reaches a mirrored id in a while: frames per second, frames lost on the way (the
mirrored id's drops: gaps in the sender's sequence numbers), and how long after its capture each
frame became readable there, beyond SRT's own latency (the sender's realtime capture time, which
the mirrored id keeps, against this host's realtime clock when the frame became readable: one
host, one clock).

    bench/link_measure.py RECEIVED --seconds S --srt-latency MS

Prints one line:

    frames F  frames/s R  lost L  beyond p50 P50  p99 P99

Exits 1 when no frame arrived.
"""

import argparse
import json
import subprocess
import sys
import time

import pvshm


def counts(shared_mem_id):
    """(frames written, frames dropped) of the id, as `pvshm info --json` says."""
    info = json.loads(subprocess.run(["pvshm", "info", "--json", shared_mem_id], check=True,
                                     capture_output=True, text=True).stdout)
    return info["frames_written"], info["frames_dropped"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("received")
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--srt-latency", type=float, required=True)
    args = parser.parse_args()

    reader = pvshm.Reader(args.received)
    # Start from the newest frame: the frames before it are not measured.
    reader.view()
    written, dropped = counts(args.received)
    start = time.monotonic()
    beyond = []
    while time.monotonic() - start < args.seconds:
        if not reader.wait(1.0):
            continue
        while True:
            taken = reader.view_next(with_info=True)
            if taken is None:
                break
            now = time.time_ns()
            beyond.append((now - taken[1]["timestamp_ns"]) / 1e6 - args.srt_latency)
            del taken
    elapsed = time.monotonic() - start
    written_after, dropped_after = counts(args.received)
    frames = written_after - written
    if frames <= 0 or not beyond:
        print("no frame arrived", file=sys.stderr)
        return 1
    beyond.sort()
    p50 = beyond[len(beyond) // 2]
    p99 = beyond[min(len(beyond) - 1, int(len(beyond) * 0.99))]
    print(f"frames {frames}  frames/s {frames / elapsed:.1f}  lost {dropped_after - dropped}  "
          f"beyond p50 {p50:.1f}  p99 {p99:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
