# SPDX-License-Identifier: LGPL-2.1-or-later
"""Every frame in order (read_next, view_next, iteration), several ids at once (wait_any), and
lossless replay: CONTRACT section 8."""

import os
import sys
import threading
import time

import numpy as np
import pytest

import pvshm
from conftest import stamp_of


def gray(value):
    return np.full((3, 4), value, np.uint8)


def sequences_until_none(next_frame, reader):
    got = []
    while next_frame() is not None:
        got.append(reader.metadata["sequence"])
    return got


def test_read_next_returns_every_frame_in_order_then_none(shm_id):
    writer = pvshm.Writer(shm_id, slots=8)
    reader = pvshm.Reader(shm_id)
    assert reader.read_next() is None, "no frame yet"
    writer.write(gray(1))
    assert (reader.read_next() == 1).all()
    for value in range(2, 6):
        writer.write(gray(value))
    for value in range(2, 6):
        rgb, info = reader.read_next(with_info=True)
        assert info["sequence"] == value and (rgb == value).all()
    assert reader.read_next() is None
    assert reader.view_next() is None
    assert reader.frames_skipped == 0
    writer.close()


def test_the_first_every_frame_call_starts_at_the_newest_frame(shm_id):
    writer = pvshm.Writer(shm_id)
    for value in (1, 2, 3):
        writer.write(gray(value))
    reader = pvshm.Reader(shm_id)
    assert (reader.view_next() == 3).all()
    assert reader.frames_skipped == 0
    writer.close()


# What a new writer holds between taking the id and storing where its run starts: the writer's
# lock (lib/src/layout.hpp: kWriterLockByte), an OFD write lock that readers cannot take.
HOLD_WRITER_LOCK = """
import fcntl, os, struct, sys
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.fcntl(fd, 37, struct.pack("hh4xqqi4x", fcntl.F_WRLCK, os.SEEK_SET, 0, 1, 0))  # F_OFD_SETLK
print("locked", flush=True)
sys.stdin.read()
"""


def first_read_next_while_a_writer_holds_only_its_lock(shm_id, spawn):
    """(reader, what its first read_next returned) while another process holds the id's writer
    lock and nothing else, as a writer taking the id does before it stores its run."""
    directory = os.environ.get("PVSHM_SHM_DIR") or "/dev/shm"
    next_writer = spawn([sys.executable, "-c", HOLD_WRITER_LOCK, f"{directory}/pvshm.{shm_id}"])
    next_writer.expect("locked")
    reader = pvshm.Reader(shm_id)
    assert reader.writer_alive
    frame = reader.read_next()
    assert next_writer.finish() == 0
    return reader, frame


def test_a_reader_looking_while_the_next_writer_takes_the_id_skips_the_last_run(shm_id, spawn):
    # Guards a replay that handed its reader the previous run's last frame (1 run in 20): the
    # next writer had its lock but had not yet stored where its run starts.
    with pvshm.Writer(shm_id) as previous:
        previous.write(gray(1))
    _, frame = first_read_next_while_a_writer_holds_only_its_lock(shm_id, spawn)
    assert frame is None  # frame 1 is the previous run's: not new to this reader


# A writer that dies without ending: its run's start stays stored, and nothing says the run is over
# but its run lock (lib/src/layout.hpp, runs), gone with the process.
CRASHING_WRITER = """
import sys, numpy, pvshm
writer = pvshm.Writer(sys.argv[1])
for value in (1, 2, 3):
    writer.write(numpy.full((8, 8), value, numpy.uint8))
print("wrote", flush=True)
sys.stdin.read()
"""


def test_a_reader_looking_while_a_crashed_writers_successor_takes_the_id_skips_the_last_run(
        shm_id, spawn):
    # Guards the window after a crash: the next writer had its lock but had not yet stored where
    # its run starts, and the crashed run's start, still stored, made the previous run's last
    # frame look like a frame of the new one.
    crashed = spawn([sys.executable, "-c", CRASHING_WRITER, shm_id])
    crashed.expect("wrote")
    crashed.kill()  # SIGKILL: no destructor, nothing stored at the end
    reader, frame = first_read_next_while_a_writer_holds_only_its_lock(shm_id, spawn)
    assert frame is None  # frame 3 is the crashed run's: not new to this reader
    # The successor's own run, once it takes the id for real, comes through from its first frame.
    with pvshm.Writer(shm_id) as successor:
        successor.write(gray(4))
        assert reader.wait(5.0)
        frame = reader.read_next(with_info=True)
        assert frame is not None and frame[1]["sequence"] == 4


def test_frames_overwritten_before_they_were_read_are_counted_as_skipped(shm_id):
    writer = pvshm.Writer(shm_id, slots=3)
    reader = pvshm.Reader(shm_id)
    writer.write(gray(1))
    assert reader.view_next() is not None
    for value in range(2, 12):
        writer.write(gray(value))
    got = sequences_until_none(reader.view_next, reader)
    assert got == sorted(got) and got[-1] == 11
    assert got[0] == 2, "the frame the reader needed next is overwritten last"
    assert reader.frames_skipped > 0
    assert len(got) + reader.frames_skipped == 10
    writer.close()


def test_iteration_gives_every_frame_of_a_lossless_writer_in_order(shm_id, helper):
    count = 50
    writer = helper("pvshm-test-writer", shm_id, 32, 8, count, "--lossless", "--go", "--hold")
    writer.expect("ready")
    reader = pvshm.Reader(shm_id)
    assert reader.view_next() is None  # reads every frame from now on: the writer waits for it
    writer.send("go")
    expected = 1
    for rgb, info in reader.frames(timeout=10.0, with_info=True):
        assert info["sequence"] == expected
        assert stamp_of(rgb[..., 0]) == expected
        if expected == count:
            break
        expected += 1
    assert expected == count
    assert writer.expect("done").split()[1:] == [str(count), "dropped", "0", "lossless-drops", "0"]
    start = time.monotonic()
    assert list(reader.frames(timeout=0.2)) == [], "nothing new: ends after the timeout"
    assert time.monotonic() - start >= 0.19
    assert writer.finish() == 0


def test_a_reader_is_iterable_and_frames_can_be_views(shm_id):
    writer = pvshm.Writer(shm_id, slots=8)
    reader = pvshm.Reader(shm_id)
    writer.write(gray(1))
    writer.write(gray(2))
    got = []
    for rgb in reader:  # starts at the newest frame, then every one after it
        got.append(int(rgb[0, 0, 0]))
        if len(got) == 3:
            break
        writer.write(gray(len(got) + 2))
    assert got == [2, 3, 4]
    writer.write(gray(5))
    views = reader.frames(view=True, timeout=0)
    view = next(views)
    assert view.shape == (3, 4, 1) and not view.flags.writeable and (view == 5).all()
    del view
    with pytest.raises(StopIteration):
        next(views)
    writer.close()


@pytest.mark.parametrize("arguments", [{"timeout": -1}, {"color_space": "HSV"}])
def test_frames_refuses_bad_arguments_at_once(shm_id, arguments):
    with pytest.raises(ValueError):
        pvshm.Reader(shm_id).frames(**arguments)


def test_wait_any_returns_the_readers_with_a_new_frame_in_the_order_given(shm_ids):
    ids = shm_ids(3)
    writers = [pvshm.Writer(shared_mem_id) for shared_mem_id in ids]
    a, b, c = readers = [pvshm.Reader(shared_mem_id) for shared_mem_id in ids]
    writers[2].write(gray(1))
    writers[1].write(gray(1))
    ready = pvshm.wait_any([a, c, b, c], timeout=5.0)
    assert len(ready) == 3 and ready[0] is c and ready[1] is b and ready[2] is c
    c.view_next()
    assert pvshm.wait_any(readers, 0) == [b]
    b.read()
    assert pvshm.wait_any(iter(readers), 0) == []
    for writer in writers:
        writer.close()


def test_wait_any_times_out_with_an_empty_list(shm_ids):
    readers = [pvshm.Reader(shared_mem_id) for shared_mem_id in shm_ids(2)]  # no segments
    start = time.monotonic()
    cpu_start = time.process_time()
    assert pvshm.wait_any(readers, timeout=1.0) == []
    assert time.monotonic() - start >= 0.99
    # Guards a busy loop: with no id's segment there, no wake word to sleep on.
    assert time.process_time() - cpu_start < 0.1, "sleeps between its looks at the ids"


def test_wait_any_releases_the_gil_and_sees_a_segment_that_appears(shm_ids):
    first, second = shm_ids(2)
    readers = [pvshm.Reader(first), pvshm.Reader(second)]
    result = {}
    thread = threading.Thread(target=lambda: result.update(ready=pvshm.wait_any(readers, 10.0)))
    thread.start()
    pvshm.write_image_array_to_shared_memory(second, gray(7))
    thread.join(10.0)
    assert result["ready"] == [readers[1]]


@pytest.mark.parametrize(
    "readers, timeout, error",
    [([], None, ValueError), ([1], None, TypeError), ("reader", None, TypeError),
     (None, None, TypeError), (3, None, TypeError), ("list", -1.0, ValueError),
     ("list", float("nan"), ValueError)],
)  # fmt: skip
def test_wait_any_refuses_what_is_not_a_list_of_readers(shm_id, readers, timeout, error):
    reader = pvshm.Reader(shm_id)
    readers = {"reader": reader, "list": [reader]}[readers] if isinstance(readers, str) else readers
    with pytest.raises(error, match="wait_any"):
        pvshm.wait_any(readers, timeout)


def test_wait_any_reads_every_frame_of_four_lossless_writers_and_idles_without_cpu(
    shm_ids, helper
):
    """Four C++ writer processes; this process waits on all four at once and takes every frame
    of each in order. Lossless writers wait for it, so no frame may be missing."""
    count = 200
    ids = shm_ids(4)
    writers = []
    for index, shared_mem_id in enumerate(ids):
        base = 10_000 * (index + 1)
        writers.append(helper(
            "pvshm-test-writer", shared_mem_id, 64, 48, count, "--lossless", "--go", "--hold",
            "--metadata", "--stamp-base", base,
        ))  # fmt: skip
        writers[-1].expect("ready")
    readers = [pvshm.Reader(shared_mem_id) for shared_mem_id in ids]
    for reader in readers:
        assert reader.view_next() is None  # reads every frame from now on
    for writer in writers:
        writer.send("go")

    received = {reader.id: [] for reader in readers}
    while any(len(got) < count for got in received.values()):
        ready = pvshm.wait_any(readers, timeout=10.0)
        assert ready, f"no frame within 10 s; received {[len(g) for g in received.values()]}"
        for reader in ready:
            while (frame := reader.view_next(with_info=True)) is not None:
                view, info = frame
                received[reader.id].append((info["sequence"], stamp_of(view), info["metadata"]))
                del view, frame

    for index, reader in enumerate(readers):
        base = 10_000 * (index + 1)
        expected = [(n, base + n - 1) for n in range(1, count + 1)]
        assert [(sequence, stamp) for sequence, stamp, _ in received[reader.id]] == expected
        assert all(meta["stamp"] == stamp for _, stamp, meta in received[reader.id])
        assert reader.frames_skipped == 0
    for writer in writers:
        assert writer.expect("done").split()[1:] == [
            str(count), "dropped", "0", "lossless-drops", "0"
        ]

    # Nothing is published any more: the wait must sleep, not poll.
    cpu, wall = time.process_time(), time.monotonic()
    assert pvshm.wait_any(readers, timeout=0.5) == []
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    assert wall >= 0.49
    assert cpu < 0.05, f"{cpu * 1000:.1f} ms of CPU in {wall * 1000:.0f} ms of waiting"
    for writer in writers:
        assert writer.finish() == 0


def slow_reader_sequences(reader, count, work, patience=5.0):
    """Sequence numbers of the frames read_next() gives, `work` after each; stops at `count` or
    when no new frame comes within `patience` seconds."""
    sequences = []
    while len(sequences) < count:
        frame = reader.read_next(with_info=True)
        if frame is None:
            if not reader.wait(patience):
                break
            continue
        rgb, info = frame
        assert stamp_of(rgb[..., 0]) == info["sequence"]
        sequences.append(info["sequence"])
        work(rgb)
    return sequences


def test_a_slow_python_reader_gets_all_300_frames_of_a_lossless_writer(shm_id, helper):
    count = 300
    writer = helper("pvshm-test-writer", shm_id, 320, 240, count, "--lossless", "--go", "--reserve")
    writer.expect("ready")
    reader = pvshm.Reader(shm_id)
    assert reader.read_next() is None  # reads every frame from now on
    writer.send("go")
    rng = np.random.default_rng(0)

    def work(rgb):  # the algorithm: slower than the writer, which must wait for it
        np.sort(rng.random(20_000))
        rgb.astype(np.float32).mean()

    assert slow_reader_sequences(reader, count, work) == list(range(1, count + 1))
    assert reader.frames_skipped == 0
    assert writer.expect("done").split()[1:] == [str(count), "dropped", "0", "lossless-drops", "0"]
    assert writer.finish() == 0


# Guards a bug: a lossless writer that grew its segment (here at its first frame, larger than
# the one page it starts with) overwrote frames its readers had not taken.
def test_a_lossless_writer_that_grows_its_segment_still_waits_for_its_readers(shm_id, helper):
    count = 20
    writer = helper(
        "pvshm-test-writer", shm_id, 320, 240, count, "--lossless", "--go", "--slots", 3
    )
    writer.expect("ready")
    reader = pvshm.Reader(shm_id)
    assert reader.read_next() is None
    writer.send("go")
    work = lambda rgb: np.sort(np.random.random(200_000))  # noqa: E731
    assert slow_reader_sequences(reader, count, work, patience=1.0) == list(range(1, count + 1))
