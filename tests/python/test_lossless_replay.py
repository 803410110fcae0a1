# SPDX-License-Identifier: LGPL-2.1-or-later
"""Lossless replay of a recorded file: `filesrc ! ... ! pvshmsink lossless=true` in one process,
a deliberately slow Python reader of every frame in this one, `pvshmsrc mode=all` in a third,
and a fourth reader killed while it is owed frames. Both live readers get all 300 frames in
order; the dead one holds nobody."""

import fcntl
import os
import re
import shutil
import struct
import subprocess
import threading
import time

import numpy as np
import pytest

import pvshm

FRAMES = 300
NEED_LOCK_BASE = 1 << 32  # lib/src/layout.hpp: kNeedLockBase
F_OFD_GETLK = 36


def need_lock_held(shared_mem_id, sequence):
    """Whether a reader of every frame holds the need lock of frame `sequence` of the segment."""
    directory = os.environ.get("PVSHM_SHM_DIR") or "/dev/shm"
    fd = os.open(f"{directory}/pvshm.{shared_mem_id}", os.O_RDONLY)
    try:
        request = struct.pack("hh4xqqi4x", fcntl.F_WRLCK, os.SEEK_SET,
                              NEED_LOCK_BASE + sequence, 1, 0)
        return struct.unpack("hh4xqqi4x", fcntl.fcntl(fd, F_OFD_GETLK, request))[0] != fcntl.F_UNLCK
    finally:
        os.close(fd)


@pytest.fixture(scope="module")
def gst_env(tmp_path_factory):
    plugin_dir = os.environ.get("PVSHM_PLUGIN_DIR")
    if not plugin_dir or not shutil.which("gst-launch-1.0"):
        pytest.skip("needs gst-launch-1.0 and the pvshm plugin of the build tree")
    env = dict(os.environ)
    env["GST_PLUGIN_PATH"] = plugin_dir
    env["GST_REGISTRY"] = str(tmp_path_factory.mktemp("gst") / "registry.bin")
    subprocess.run(["gst-inspect-1.0", "pvshmsink"], env=env, capture_output=True, timeout=120,
                   check=True)
    return env


@pytest.fixture(scope="module")
def recording(gst_env, tmp_path_factory):
    """A 300-frame file, raw GRAY8 in Matroska: every frame decodes to itself."""
    path = tmp_path_factory.mktemp("recording") / "line.mkv"
    subprocess.run(
        ["gst-launch-1.0", "-q", "videotestsrc", f"num-buffers={FRAMES}", "pattern=ball", "!",
         "video/x-raw,format=GRAY8,width=160,height=120,framerate=30/1", "!", "matroskamux",
         "!", "filesink", f"location={path}"],
        env=gst_env, check=True, timeout=120)
    return path


def test_a_recording_replayed_losslessly_reaches_every_reader_of_every_frame(
        shm_id, helper, spawn_process, gst_env, recording):
    # The id exists, lossless, before anything reads it, so that every reader holds the replay
    # from its first frame: a writer that created it and left (pvshmsink takes it over).
    pvshm.Writer(shm_id, lossless=True).close()
    # Its output is read as it comes: a full pipe would stall it, and the lossless writer with it.
    pipeline_reader = subprocess.Popen(
        ["gst-launch-1.0", "pvshmsrc", f"shared-mem-id={shm_id}", "mode=all",
         f"num-buffers={FRAMES}", "timeout=30000000000", "!", "fakesink", "silent=false", "-v"],
        env=gst_env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    offsets = []

    def collect_offsets():
        for line in pipeline_reader.stdout:
            if match := re.search(r"chain\s+\*+ .*offset: (\d+)", line):
                offsets.append(int(match.group(1)))

    collector = threading.Thread(target=collect_offsets)
    collector.start()
    # pvshmsrc holds the replay once it holds the need lock of frame 1 (the library's protocol,
    # lib/src/layout.hpp); it is the only reader yet, so that lock is its.
    deadline = time.monotonic() + 60
    while not need_lock_held(shm_id, 1):
        assert time.monotonic() < deadline and pipeline_reader.poll() is None, "pvshmsrc never looked"
        time.sleep(0.01)
    reader = pvshm.Reader(shm_id)
    assert reader.read_next() is None  # reads every frame from now on
    dead = helper("pvshm-test-reader", shm_id, "read-all", FRAMES, "stall")
    dead.expect("ready")
    dead.expect("registered")
    replay = spawn_process(
        ["gst-launch-1.0", "-q", "filesrc", f"location={recording}", "!", "matroskademux", "!",
         "pvshmsink", f"shared-mem-id={shm_id}", "lossless=true", "sync=false"], gst_env)
    dead.kill()

    sequences = []
    while len(sequences) < FRAMES:
        frame = reader.read_next(with_info=True)
        if frame is None:
            assert reader.wait(10.0), f"stalled after {len(sequences)} frames"
            continue
        sequences.append(frame[1]["sequence"])
        np.sort(np.random.random(50_000))  # the algorithm: slower than the file can be read
    assert sequences == list(range(1, FRAMES + 1))
    assert reader.frames_skipped == 0
    assert replay.finish() == 0

    assert pipeline_reader.wait(60) == 0
    collector.join(10)
    assert offsets == list(range(1, FRAMES + 1))


def test_a_replay_waits_for_a_reader_started_after_it_and_skips_the_last_run(
        shm_id, spawn_process, gst_env, recording):
    # A persisted id whose newest frame comes from an earlier run, as a previous replay leaves it.
    with pvshm.Writer(shm_id) as previous:
        previous.write(np.zeros((120, 160), np.uint8))
    replay = spawn_process(
        ["gst-launch-1.0", "-q", "filesrc", f"location={recording}", "!", "matroskademux", "!",
         "pvshmsink", f"shared-mem-id={shm_id}", "lossless=true", "wait-for-readers=1",
         "sync=false"], gst_env)
    reader = pvshm.Reader(shm_id)
    deadline = time.monotonic() + 60
    while not reader.writer_alive:  # the replay holds the id: this reader comes after it
        assert time.monotonic() < deadline, "pvshmsink never took the id"
        time.sleep(0.01)
    sequences = []
    while len(sequences) < FRAMES:
        frame = reader.read_next(with_info=True)
        if frame is None:
            assert reader.wait(10.0), f"stalled after {len(sequences)} frames"
            continue
        sequences.append(frame[1]["sequence"])
    # The earlier run's frame was 1: not new to this reader, which gets the replay from its first.
    assert sequences == list(range(2, FRAMES + 2))
    assert reader.frames_skipped == 0
    assert replay.finish() == 0
