#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Python module's reads of a 1920x1080 frame next to a plain numpy copy of the same array.

pvshm.read_image_from_shared_memory, pvshm.Reader.read (normalized copies) and pvshm.Reader.view
(zero copy) on a frame stored with write_image_array_to_shared_memory, each against numpy copying
the very array the segment holds (Reader.view()'s bytes) in the same run. Prints JSON lines in
bench/report.py's format (values: repeated measurements of the mean time per call, in µs).

    meson devenv -C build /usr/bin/python3 bench/python_read.py [--quick]
"""

import json
import os
import sys
import time

import numpy as np
import pvshm

WIDTH, HEIGHT = 1920, 1080
SECTION = "Python module, 1920x1080 RGB frame"


def row(case, metric, values, anchor=None, anchor_values=None):
    print(
        json.dumps(
            {
                "section": SECTION,
                "case": case,
                "metric": metric,
                "unit": "us",
                "value": [round(v, 4) for v in values],
                "anchor": anchor,
                "anchor_value": (
                    None if anchor_values is None else [round(v, 4) for v in anchor_values]
                ),
            }
        ),
        flush=True,
    )


def time_pair(repeats, batch, measured, anchor):
    """Mean µs per call of `batch` calls, `repeats` times, the two alternating."""
    for _ in range(2):
        measured()
        anchor()
    values, anchor_values = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(batch):
            measured()
        values.append((time.perf_counter() - start) * 1e6 / batch)
        start = time.perf_counter()
        for _ in range(batch):
            anchor()
        anchor_values.append((time.perf_counter() - start) * 1e6 / batch)
    return values, anchor_values


def main():
    quick = "--quick" in sys.argv[1:]
    unknown = [a for a in sys.argv[1:] if a != "--quick"]
    if unknown:
        print(f"usage: {sys.argv[0]} [--quick]", file=sys.stderr)
        return 2
    repeats, batch, view_batch = (2, 2, 50) if quick else (15, 10, 2000)

    shm_id = f"bench-python-read-{os.getpid()}"
    rng = np.random.default_rng(5)
    image = rng.integers(0, 256, size=(HEIGHT, WIDTH, 3), dtype=np.uint8)
    meta = {"width": WIDTH, "height": HEIGHT}
    try:
        pvshm.write_image_array_to_shared_memory(shm_id, image)
        reader = pvshm.Reader(shm_id)
        source = reader.view()  # the array the segment holds, pinned while `source` lives
        if source is None or source.shape != (HEIGHT, WIDTH, 3):
            shape = None if source is None else source.shape
            print(f"python_read: unexpected frame {shape}", file=sys.stderr)
            return 1
        target = np.empty_like(source)

        def numpy_copy():
            return source.copy()

        def numpy_copyto():
            np.copyto(target, source)

        values, anchor = time_pair(
            repeats, batch, lambda: pvshm.read_image_from_shared_memory(shm_id, meta), numpy_copy
        )
        row("pvshm.read_image_from_shared_memory", "time per call", values, "numpy: view.copy()",
            anchor)

        values, anchor = time_pair(repeats, batch, reader.read, numpy_copy)
        row("pvshm.Reader.read()", "time per call", values, "numpy: view.copy()", anchor)

        values, anchor = time_pair(repeats, batch, reader.read, numpy_copyto)
        row("pvshm.Reader.read()", "time per call", values, "numpy: np.copyto into a reused array",
            anchor)

        def view_once():
            frame = reader.view()
            del frame  # releases the slot

        views, _ = time_pair(repeats, view_batch, view_once, lambda: None)
        _, copies = time_pair(repeats, batch, lambda: None, numpy_copy)
        row("pvshm.Reader.view() (zero copy)", "time per call", views, "numpy: view.copy()", copies)
        del source
    finally:
        pvshm.dev_clear_shared_memory(shm_id)
    return 0


if __name__ == "__main__":
    sys.exit(main())
