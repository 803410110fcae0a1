#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Example 4: four cameras read together, each synchronised set of four frames processed as one.

Waits on the four ids at once (pvshm.wait_any: one sleep, no polling), takes every frame of each
in order (read_next) and groups them into sets: frames whose user metadata "trigger" is equal
(the trigger count a triggered camera stores with each frame) or, for frames without one, whose
capture times lie within --tolerance-ms. For each complete set it prints what an algorithm
would compute from it: here each camera's mean brightness and how far apart the four were
captured. Frames whose set cannot be completed (a camera lost its frame) are passed over.

Without ids it starts four writer processes itself (pvshm.Writer, a trigger count in each
frame's metadata, now and then a lost frame). Given ids, it reads those, e.g. under
`meson devenv -C build`:

    /usr/bin/python3 examples/04_four_cameras.py --sets 10
    for i in 0 1 2 3; do
        gst-launch-1.0 videotestsrc is-live=true pattern=$i ! pvshmsink shared-mem-id=cam$i &
    done
    /usr/bin/python3 examples/04_four_cameras.py cam0 cam1 cam2 cam3 --tolerance-ms 20
"""

import argparse
import collections
import os
import subprocess
import sys
import time

import numpy as np

import pvshm

Frame = collections.namedtuple("Frame", "trigger time_ms rgb")


def run_camera(shared_mem_id, fps):
    """A triggered camera: one frame per tick of a clock the four share, numbered by its tick."""
    rng = np.random.default_rng()
    with pvshm.Writer(shared_mem_id, camera_id=shared_mem_id) as writer:
        try:
            while True:
                tick = int(time.time() * fps) + 1
                time.sleep(max(0.0, tick / fps - time.time()))  # the camera's frame rate
                if rng.random() < 0.05:
                    continue  # a lost frame: its set stays incomplete
                rgb = np.full((240, 320, 3), rng.integers(100, 156), np.uint8)
                writer.write(rgb, color_space="RGB", metadata={"trigger": tick})
        except KeyboardInterrupt:  # Ctrl-C reaches every process of the terminal's group
            pass


def complete_sets(pending, tolerance_ms):
    """Takes every complete set off the fronts of the per-camera queues in `pending`."""
    while all(pending):
        heads = [queue[0] for queue in pending]
        by_trigger = all(head.trigger is not None for head in heads)
        keys = [head.trigger if by_trigger else head.time_ms for head in heads]
        if max(keys) - min(keys) <= (0 if by_trigger else tolerance_ms):
            yield [queue.popleft() for queue in pending]
        else:  # the oldest front matches nothing any more: every other camera is past it
            pending[keys.index(min(keys))].popleft()


def report(number, frames):
    """What an algorithm would compute from a set: here each camera's mean brightness."""
    means = "  ".join(f"{frame.rgb.mean():5.1f}" for frame in frames)
    trigger = "" if frames[0].trigger is None else f" trigger {frames[0].trigger}"
    times = [frame.time_ms for frame in frames]
    spread = max(times) - min(times)
    print(f"set {number:4d}{trigger}  mean {means}  captured within {spread:.1f} ms", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ids", nargs="*", help="four shared-memory ids (default: start writers)")
    parser.add_argument("--sets", type=int, default=20, help="sets to process (0: until Ctrl-C)")
    parser.add_argument("--tolerance-ms", type=float, default=10.0, help="without triggers")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for a frame")
    parser.add_argument("--camera", help=argparse.SUPPRESS)  # a writer this example started
    parser.add_argument("--fps", type=float, default=30.0, help="frame rate of started writers")
    args = parser.parse_args()
    if args.camera:
        return run_camera(args.camera, args.fps)
    if args.ids and len(args.ids) != 4:
        parser.error("give four ids, or none to start four writers")

    ids = args.ids or [f"four-cameras-{os.getpid()}-{index}" for index in range(4)]
    readers = [pvshm.Reader(shared_mem_id) for shared_mem_id in ids]
    command = [sys.executable, __file__, "--fps", str(args.fps), "--camera"]
    cameras = [] if args.ids else [subprocess.Popen(command + [id_]) for id_ in ids]
    # Copies (read_next), not views: frames wait here for their set, and a held view would
    # keep its slot from the writer.
    pending = [collections.deque(maxlen=30) for _ in readers]
    done = 0
    try:
        while args.sets == 0 or done < args.sets:
            ready = pvshm.wait_any(readers, timeout=args.timeout)
            if not ready:
                print(f"no frame within {args.timeout} s", file=sys.stderr)
                return 1
            for reader in ready:
                while (frame := reader.read_next(with_info=True)) is not None:
                    rgb, info = frame
                    trigger = info["metadata"].get("trigger")
                    pending[readers.index(reader)].append(
                        Frame(trigger, info["timestamp_ns"] / 1e6, rgb)
                    )
            for frames in complete_sets(pending, args.tolerance_ms):
                done += 1
                report(done, frames)
                if done == args.sets:
                    break
    except KeyboardInterrupt:
        pass
    finally:
        for camera in cameras:
            camera.terminate()
            camera.wait()
            pvshm.dev_clear_shared_memory(camera.args[-1])
    print(f"{done} sets of {len(ids)} frames")
    return 0


if __name__ == "__main__":
    sys.exit(main())
