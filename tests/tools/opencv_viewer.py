# SPDX-License-Identifier: LGPL-2.1-or-later
"""An RTSP viewer that pvshm did not write: OpenCV's VideoCapture with its FFmpeg backend.

Prints "opened" (or "refused" when the server does not let it play), then one JSON line per
decoded frame with its size and the mean colours (RGB) of its centre and of its bottom-right
corner (an eighth of each side), then "end" when the stream
ends, stalls for --timeout-ms or --frames were read.
"""

import argparse
import json

import cv2


def mean_rgb(bgr):
    blue, green, red = (round(float(v)) for v in bgr.reshape(-1, 3).mean(axis=0))
    return [red, green, blue]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--timeout-ms", type=int, default=10000)
    args = parser.parse_args()

    timeouts = [
        cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
        args.timeout_ms,
        cv2.CAP_PROP_READ_TIMEOUT_MSEC,
        args.timeout_ms,
    ]
    capture = cv2.VideoCapture(args.url, cv2.CAP_FFMPEG, timeouts)
    if not capture.isOpened():
        print("refused", flush=True)
        return
    print("opened", flush=True)
    for _ in range(args.frames):
        ok, frame = capture.read()
        if not ok:
            break
        height, width = frame.shape[:2]
        centre = frame[height // 4 : 3 * height // 4, width // 4 : 3 * width // 4]
        corner = frame[7 * height // 8 :, 7 * width // 8 :]
        print(json.dumps({"width": width, "height": height, "rgb": mean_rgb(centre),
                          "corner_rgb": mean_rgb(corner)}), flush=True)
    print("end", flush=True)
    capture.release()


if __name__ == "__main__":
    main()
