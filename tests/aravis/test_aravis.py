# SPDX-License-Identifier: LGPL-2.1-or-later
"""GigE Vision cameras through Aravis: `aravissrc ! pvshmsink` against Aravis' simulated camera
(arv-fake-gv-camera-0.8). Camera and pipeline run in a network namespace of the test's own whose
only interface is loopback: outside one, Aravis sends the stream to the machine's own interface
address. Readers are this process (the pvshm module), the producer a gst-launch-1.0 process."""

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "helpers"))
from pvshm_pytest import Child  # noqa: E402

import pvshm  # noqa: E402

WAIT = 30.0  # seconds; generous: the machine may be loaded
FRAMES = 12

# The simulated camera's pixel formats among Mono8, Mono16, Bayer 8-bit and RGB8, as the caps
# aravissrc gives them, and the format readers see.
FORMATS = {
    "Mono8": ("video/x-raw,format=GRAY8", "GRAY8"),
    "Mono16": ("video/x-raw,format=GRAY16_LE", "GRAY16_LE"),
    "BayerRG8": ("video/x-bayer,format=rggb", "bayer-rggb"),
    "BayerGR8": ("video/x-bayer,format=grbg", "bayer-grbg"),
    "BayerGB8": ("video/x-bayer,format=gbrg", "bayer-gbrg"),
    "BayerBG8": ("video/x-bayer,format=bggr", "bayer-bggr"),
    "RGB8": ("video/x-raw,format=RGB", "RGB"),
}


class Namespace:
    """A network namespace with loopback up, removed at the end."""

    def __init__(self, name):
        self.name = name
        for step in (["netns", "add", name], ["-n", name, "link", "set", "lo", "up"]):
            subprocess.run(["ip", *step], check=True, timeout=WAIT)

    def run(self, argv):
        return ["ip", "netns", "exec", self.name, *argv]

    def remove(self):
        subprocess.run(["ip", "netns", "delete", self.name], timeout=WAIT)


@pytest.fixture(scope="module")
def namespace():
    created = Namespace(f"pvshm-aravis-{os.getpid()}")
    yield created
    created.remove()


def start_camera(namespace, serial):
    """The simulated camera, named Aravis-Fake-SERIAL, once it listens. Its log is read to the
    end (a full pipe would stop the camera)."""
    camera = Child(namespace.run(["arv-fake-gv-camera-0.8", "-i", "127.0.0.1", "-s", serial,
                                  "-d", "device:2"]), stderr=subprocess.STDOUT)
    while "Listening to" not in camera.read_line(WAIT):
        pass
    output = camera.process.stdout.fileno()
    threading.Thread(target=lambda: all(iter(lambda: os.read(output, 4096), b"")),
                     daemon=True).start()
    return camera


def wait_for_frame(reader, launch):
    """Whether a new frame came within WAIT; fails at once when the producer ends first."""
    deadline = time.monotonic() + WAIT
    while not reader.wait(0.5):
        if launch.poll() is not None and not reader.wait(0):
            pytest.fail(f"the producer ended ({launch.returncode}): {launch.stdout.read()}")
        if time.monotonic() > deadline:
            return False
    return True


@pytest.fixture(scope="module")
def camera(namespace):
    serial = f"P{os.getpid()}"
    simulated = start_camera(namespace, serial)
    yield f"Aravis-Fake-{serial}"
    simulated.kill()


def producer(namespace, camera_name, tail):
    """gst-launch-1.0 -v: aravissrc, the caps, then `tail` (launch-line words)."""
    argv = ["gst-launch-1.0", "-v", "aravissrc", f"camera-name={camera_name}"]
    return subprocess.Popen(namespace.run(argv + tail), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def negotiated_caps(output):
    """The caps every pad of a pipeline without converters carries, as gst-launch -v printed
    them. gst-launch -v misses some pads' caps when two streaming threads set theirs at once
    (after a tee, about one run in 30 under load, with fakesinks as well), so any pad's line will
    do; all must agree."""
    found = set(re.findall(r"/GstPipeline:pipeline0/\S+\.Gst\w*Pad:\w+: caps = (.*)", output))
    assert len(found) == 1, output
    return found.pop()


def whole_frame(view):
    """The bytes of a frame view (an array, or a tuple of planes)."""
    planes = view if isinstance(view, tuple) else (view,)
    return b"".join(np.ascontiguousarray(plane).tobytes() for plane in planes)


@pytest.mark.parametrize("pixel_format", list(FORMATS))
def test_frames_equal_the_cameras_with_its_caps_capture_times_and_sequence(
        namespace, camera, tmp_path, pixel_format):
    caps, stored_format = FORMATS[pixel_format]
    shared_mem_id = f"aravis-{pixel_format}-{os.getpid()}"
    direct = tmp_path / "direct"
    direct.mkdir()
    # Opened before the segment exists: it is found when it appears, and with lossless=true no
    # frame is overwritten before this reader of every frame has it.
    reader = pvshm.Reader(shared_mem_id)
    started_monotonic, started_realtime = time.monotonic_ns(), time.time_ns()
    # The camera's buffers go both to pvshmsink and, unchanged, to files: what `aravissrc !
    # appsink` gives. No videoconvert anywhere.
    launch = producer(namespace, camera, [
        f"num-buffers={FRAMES}", "!", caps, "!", "tee", "name=t",
        "t.", "!", "queue", "!", "pvshmsink", f"shared-mem-id={shared_mem_id}", "sync=false",
        "lossless=true", "name=shm",
        "t.", "!", "queue", "!", "multifilesink", f"location={direct}/%05d.raw"])
    frames = []
    try:
        while not frames or frames[-1][1]["sequence"] < FRAMES:
            assert wait_for_frame(reader, launch), f"no frame within {WAIT} s after {len(frames)}"
            while (taken := reader.view_next(with_info=True)) is not None:
                view, info = taken
                frames.append((whole_frame(view), info, time.monotonic_ns(), time.time_ns()))
        output, _ = launch.communicate(timeout=WAIT)
    finally:
        if launch.poll() is None:
            launch.kill()
            launch.wait()
    assert launch.returncode == 0, output

    # Caps as the camera sent them: the segment's are those pvshmsink negotiated with aravissrc.
    sent_caps = negotiated_caps(output)
    assert sent_caps.startswith(caps.split(",")[0] + ", format=(string)" + caps.split("=")[-1])
    assert frames[0][1]["caps"] == sent_caps
    assert all(info["format"] == stored_format for _, info, _, _ in frames)

    # Sequence: every frame once, in order, the last one the camera's last.
    sequences = [info["sequence"] for _, info, _, _ in frames]
    assert sequences == list(range(sequences[0], FRAMES + 1)), sequences
    assert len(frames) >= 2
    assert len(list(direct.iterdir())) == FRAMES

    # Bytes: frame N is the camera's N-th buffer.
    for data, info, _, _ in frames:
        expected = (direct / f"{info['sequence'] - 1:05d}.raw").read_bytes()
        assert len(data) == len(expected) and data == expected, f"frame {info['sequence']}"

    # Capture times: increasing, after the producer started, before the reader had the frame,
    # in both clocks.
    previous = 0
    for _, info, read_monotonic, read_realtime in frames:
        assert previous < info["monotonic_ns"] <= read_monotonic
        assert started_monotonic <= info["monotonic_ns"]
        assert started_realtime <= info["timestamp_ns"] <= read_realtime
        previous = info["monotonic_ns"]
    pvshm.dev_clear_shared_memory(shared_mem_id)


@pytest.fixture
def own_namespace():
    """For a camera alone on its address (two simulated cameras answer on one)."""
    created = Namespace(f"pvshm-aravis-gone-{os.getpid()}")
    yield created
    created.remove()


def test_a_camera_that_disappears_leaves_readers_a_dead_writer_not_a_hang(own_namespace):
    namespace = own_namespace
    serial = f"Q{os.getpid()}"
    simulated = start_camera(namespace, serial)
    shared_mem_id = f"aravis-gone-{os.getpid()}"
    reader = pvshm.Reader(shared_mem_id)
    launch = producer(namespace, f"Aravis-Fake-{serial}", [
        "!", "video/x-raw,format=GRAY8", "!", "pvshmsink", f"shared-mem-id={shared_mem_id}",
        "sync=false"])
    try:
        assert wait_for_frame(reader, launch), "no first frame"
        assert reader.writer_alive
        simulated.kill()
        # aravissrc gives up on a camera that sends nothing (its buffer timeout), the pipeline
        # stops, and with the writer's process the writer is gone.
        deadline = time.monotonic() + 2 * WAIT
        while reader.writer_alive:
            assert time.monotonic() < deadline, "the writer still looks alive"
            reader.wait(1.0)
        output, _ = launch.communicate(timeout=WAIT)
    finally:
        if launch.poll() is None:
            launch.kill()
            launch.wait()
    assert launch.returncode != 0, output
    # The last frame stays readable, whole.
    last = reader.read(with_info=True)
    assert last is not None and last[0].shape == (512, 512, 3)
    assert not last[1]["writer_alive"]
    pvshm.dev_clear_shared_memory(shared_mem_id)
