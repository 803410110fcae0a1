#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes a photo-like BGR picture as PNG: smooth shading at two scales, hard and soft edges
(rectangles, discs, rings), a slight blur as a lens gives, and sensor noise (sigma 2 levels), the
noise that lossless compression cannot remove. The same picture for the same size and seed.

    bench/natural_picture.py OUT.png [--size WxH] [--seed N]
"""

import argparse

import cv2
import numpy as np


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out")
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    width, height = (int(n) for n in args.size.split("x"))
    rng = np.random.default_rng(args.seed)

    def shading(cells):
        small = rng.integers(0, 256, (max(height // cells, 2), max(width // cells, 2), 3),
                             dtype=np.uint8)
        return cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC).astype(np.float32)

    image = 0.7 * shading(40) + 0.3 * shading(8)
    for k in range(40):
        corner = tuple(int(v) for v in rng.integers(0, max(width, height), 2))
        other = tuple(int(v) for v in rng.integers(0, max(width, height), 2))
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        cv2.rectangle(image, corner, other, colour, int(rng.integers(1, 8)))
        cv2.circle(image, corner, int(rng.integers(5, 200)), colour, -1 if k % 3 == 0 else 3,
                   lineType=cv2.LINE_AA)
    image = cv2.GaussianBlur(image, (3, 3), 0.8) + rng.normal(0, 2.0, image.shape)
    cv2.imwrite(args.out, np.clip(image, 0, 255).astype(np.uint8))


if __name__ == "__main__":
    main()
