#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""How much later a frame becomes readable in the receiving id than in the sending one, beyond
SRT's own latency: the frames of both ids are matched by their bytes (a CRC-32 of the payload),
so a relay that keeps no capture time (gdppay) is measured like one that does.

    bench/srt_latency.py SENT RECEIVED --frames N --srt-latency MS [--timeout S]

One reader of each id in this process wakes on both (pvshm.wait_any) and notes when each frame
first became readable; the wake-up costs the same on both sides. Prints one line:

    frames/s F  beyond p50 P50  p99 P99  matched M

(F: frames readable per second in RECEIVED; P50, P99: ms after SENT, minus MS; M: frames matched.)
Exits 1 when fewer than half of N frames were matched before the timeout.
"""

import argparse
import sys
import time
import zlib

import numpy as np
import pvshm


def payload_key(reader):
    """The CRC-32 of the newest frame's bytes, or None."""
    view = reader.view()
    if view is None:
        return None
    planes = view if isinstance(view, tuple) else (view,)
    key = 0
    for plane in planes:
        key = zlib.crc32(np.ascontiguousarray(plane), key)
    del view, planes
    return key


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sent")
    parser.add_argument("received")
    parser.add_argument("--frames", type=int, required=True)
    parser.add_argument("--srt-latency", type=float, required=True)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()

    sent, received = pvshm.Reader(args.sent), pvshm.Reader(args.received)
    seen = {sent: {}, received: {}}  # reader: {payload CRC: first time readable, ns}
    arrivals = []
    deadline = time.monotonic() + args.timeout
    while len(arrivals) < args.frames and time.monotonic() < deadline:
        for reader in pvshm.wait_any([sent, received], timeout=1.0):
            now = time.monotonic_ns()
            key = payload_key(reader)
            if key is None or key in seen[reader]:
                continue
            seen[reader][key] = now
            if reader is received and key in seen[sent]:
                arrivals.append((now, (now - seen[sent][key]) / 1e6 - args.srt_latency))

    if len(arrivals) < max(args.frames // 2, 2):
        print(f"matched only {len(arrivals)} of {args.frames} frames", file=sys.stderr)
        return 1
    beyond = sorted(late for _, late in arrivals)
    seconds = (arrivals[-1][0] - arrivals[0][0]) / 1e9
    p50 = beyond[len(beyond) // 2]
    p99 = beyond[min(len(beyond) - 1, int(len(beyond) * 0.99))]
    print(f"frames/s {(len(arrivals) - 1) / seconds:.1f}  beyond p50 {p50:.1f}  p99 {p99:.1f}  "
          f"matched {len(arrivals)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
