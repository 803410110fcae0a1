#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The viewer of bench/rtsp.sh and bench/web.sh: OpenCV's VideoCapture (FFmpeg's RTSP client,
over TCP, without its input buffering, or its reader of an HTTP MJPEG stream) decodes FRAMES
frames of URL and reads, from each, the capture time painted into it (bench/stamp_blocks.hpp).
Prints one JSON line: wall seconds for the frames and the glass-to-glass latency (this process's
CLOCK_MONOTONIC when the frame is decoded, minus the capture time) p50/p99 in ms, warm-up frames
left out.

    bench/rtsp_viewer.py URL FRAMES
"""

import json
import os
import sys
import time

# Before cv2 is imported: FFmpeg reads them when the capture opens.
os.environ["OPENCV_FFMPEG_CAPTURE_OPTIONS"] = "rtsp_transport;tcp|fflags;nobuffer|flags;low_delay"

import cv2  # noqa: E402
import numpy as np  # noqa: E402

STAMP_BITS = 48
STAMP_BLOCK = 40
WARM_UP = 15


def stamp_us(frame):
    """The 48-bit capture time in microseconds painted along the frame's top, or None."""
    if frame.shape[1] < STAMP_BITS * STAMP_BLOCK or frame.shape[0] < STAMP_BLOCK:
        return None
    centre = STAMP_BLOCK // 2
    samples = frame[centre, centre : STAMP_BITS * STAMP_BLOCK : STAMP_BLOCK].mean(axis=1)
    bits = (samples > 128).astype(np.uint64)
    return int((bits << np.arange(STAMP_BITS, dtype=np.uint64)).sum())


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[int(fraction * (len(ordered) - 1))]


def main():
    url, frames = sys.argv[1], int(sys.argv[2])
    capture = cv2.VideoCapture(url, cv2.CAP_FFMPEG)
    if not capture.isOpened():
        sys.exit(f"cannot open {url}")
    latencies_ms = []
    start = time.monotonic()
    for index in range(frames):
        ok, frame = capture.read()
        if not ok:
            sys.exit(f"{url} ended after {index} frames")
        now_us = time.monotonic_ns() // 1000
        stamp = stamp_us(frame)
        if index >= WARM_UP and stamp is not None:
            latencies_ms.append((now_us - stamp) / 1000)
    seconds = time.monotonic() - start
    capture.release()
    if not latencies_ms:
        sys.exit("no frame carried a capture time")
    print(json.dumps({
        "seconds": round(seconds, 3),
        "latency_p50_ms": round(percentile(latencies_ms, 0.5), 1),
        "latency_p99_ms": round(percentile(latencies_ms, 0.99), 1),
    }))


if __name__ == "__main__":
    main()
