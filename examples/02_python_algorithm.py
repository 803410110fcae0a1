#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Example 2: a Python algorithm that reads the newest frame of an id and prints its mean colour.

The Python twin of 02_algorithm.cpp: waits for each new frame, computes its mean colour per
channel, then reports frames read, frame rate and read latency (capture to read, CLOCK_REALTIME).

Run it next to a writer, e.g. under `meson devenv -C build`:

    gst-launch-1.0 videotestsrc ! pvshmsink shared-mem-id=cam0 &
    /usr/bin/python3 examples/02_python_algorithm.py cam0 --frames 100
"""

import argparse
import sys
import time

import pvshm


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("id", help="shared-memory id to read")
    parser.add_argument("--frames", type=int, default=30, help="frames to process (default 30)")
    parser.add_argument(
        "--timeout", type=float, default=5.0, help="seconds to wait for a frame before giving up"
    )
    args = parser.parse_args()
    if args.frames < 1:
        parser.error("--frames must be at least 1")

    reader = pvshm.Reader(args.id)
    latencies_ms = []
    start = time.monotonic()
    for _ in range(args.frames):
        # The algorithm sees the newest frame each time; frames written while it works are skipped.
        if not reader.wait(args.timeout):
            print(f"no new frame on '{args.id}' within {args.timeout} s", file=sys.stderr)
            return 1
        rgb = reader.read()
        meta = reader.metadata
        latencies_ms.append((time.time_ns() - meta["timestamp_realtime_ns"]) / 1e6)
        red, green, blue = rgb.reshape(-1, 3).mean(axis=0)
        print(
            f"frame {meta['sequence']:6d}  {meta['width']}x{meta['height']} {meta['format']:>8}"
            f"  mean R {red:6.2f}  G {green:6.2f}  B {blue:6.2f}",
            flush=True,
        )
    elapsed = time.monotonic() - start
    count = len(latencies_ms)
    print(
        f"read {count} frames in {elapsed:.2f} s ({count / elapsed:.1f} fps), latency mean"
        f" {sum(latencies_ms) / count:.2f} ms, max {max(latencies_ms):.2f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
