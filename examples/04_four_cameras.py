#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Example 4: four cameras read together, each synchronised set of four frames processed as one.

One pvshm.SyncReader reads the four ids: it waits on all four at once (one sleep, no polling),
takes every frame of each in order and returns them in sets, one frame per camera: frames whose
user metadata "trigger" (--key) is equal, the trigger count a triggered camera stores with each
frame, or, for ids given without --key, frames whose capture times lie within --tolerance-ms.
For each set it prints what an algorithm would compute from it: here each camera's mean
brightness and how far apart the four were captured. A set one camera lost its frame of is
never returned: the other cameras' frames of it are passed over.

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
import os
import subprocess
import sys
import time

import numpy as np

import pvshm


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


def report(number, frames):
    """What an algorithm would compute from a set of (rgb, info): each camera's mean brightness."""
    means = "  ".join(f"{rgb.mean():5.1f}" for rgb, _ in frames)
    trigger = frames[0][1]["metadata"].get("trigger")
    label = "" if trigger is None else f" trigger {trigger}"
    times = [info["timestamp_realtime_ns"] / 1e6 for _, info in frames]
    spread = max(times) - min(times)
    print(f"set {number:4d}{label}  mean {means}  captured within {spread:.1f} ms", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ids", nargs="*", help="four shared-memory ids (default: start writers)")
    parser.add_argument("--sets", type=int, default=20, help="sets to process (0: until Ctrl-C)")
    parser.add_argument("--key", help="metadata key of a set (default: trigger for own writers)")
    parser.add_argument("--tolerance-ms", type=float, default=10.0, help="ids given without --key")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for a set")
    parser.add_argument("--camera", help=argparse.SUPPRESS)  # a writer this example started
    parser.add_argument("--fps", type=float, default=30.0, help="frame rate of started writers")
    args = parser.parse_args()
    if args.camera:
        return run_camera(args.camera, args.fps)
    if args.ids and len(args.ids) != 4:
        parser.error("give four ids, or none to start four writers")

    ids = args.ids or [f"four-cameras-{os.getpid()}-{index}" for index in range(4)]
    key = args.key or (None if args.ids else "trigger")
    match = {"key": key} if key else {"tolerance": args.tolerance_ms / 1000}
    sync = pvshm.SyncReader(ids, **match)
    command = [sys.executable, __file__, "--fps", str(args.fps), "--camera"]
    cameras = [] if args.ids else [subprocess.Popen(command + [id_]) for id_ in ids]
    done = 0
    try:
        while args.sets == 0 or done < args.sets:
            frames = sync.read_set(timeout=args.timeout, with_info=True)
            if frames is None:
                print(f"no set within {args.timeout} s", file=sys.stderr)
                return 1
            done += 1
            report(done, frames)
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
