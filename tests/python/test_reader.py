# SPDX-License-Identifier: LGPL-2.1-or-later
"""pvshm.Reader: frames of other processes, waiting, metadata, and views that pin their slot."""

import os
import threading
import time

import numpy as np
import pytest

import pvshm
from conftest import stamp_of


def test_a_reader_before_any_frame(shm_id):
    reader = pvshm.Reader(shm_id)
    assert reader.read() is None
    assert reader.view() is None
    assert reader.metadata is None
    assert not reader.writer_alive
    assert reader.id == shm_id


def test_reads_the_frames_another_python_process_writes(shm_id, python_writer):
    reader = pvshm.Reader(shm_id)
    writer = python_writer(shm_id, 8, 6)
    for value in (10, 20, 30):
        writer.send(str(value))
        writer.expect("wrote")
        assert reader.wait(5.0)
        frame = reader.read()
        assert frame.shape == (6, 8, 3)
        assert (frame == value).all()
        assert reader.metadata["sequence"] == value // 10
    assert reader.writer_alive
    assert writer.finish() == 0
    assert not reader.writer_alive
    assert (reader.read() == 30).all(), "the last frame outlives its writer"


def test_reads_the_frames_a_cpp_writer_writes(shm_id, helper):
    writer = helper("pvshm-test-writer", shm_id, 16, 8, 3, "--hold")
    writer.expect("ready")
    writer.expect("done")
    reader = pvshm.Reader(shm_id)
    assert reader.wait(5.0)
    view = reader.view()
    assert view.shape == (8, 16, 1) and view.dtype == np.uint8
    assert stamp_of(view) == 3
    meta = reader.metadata
    assert (meta["width"], meta["height"], meta["format"]) == (16, 8, "GRAY8")
    assert meta["sequence"] == 3
    now_ns = time.time_ns()
    assert now_ns - 60e9 < meta["timestamp_ns"] <= now_ns
    assert 0 < meta["monotonic_ns"] <= time.monotonic_ns()
    rgb = reader.read()
    assert rgb.shape == (8, 16, 3)
    np.testing.assert_array_equal(rgb[..., 0], view[..., 0])
    assert writer.finish() == 0


def test_metadata_text_that_is_not_utf8_is_replaced_not_raised(shm_id, helper):
    """Regression: a camera id or caps of invalid UTF-8 raised UnicodeDecodeError."""
    camera_id, caps = b"cam\xff\xfe0", b"video/x-raw,\xc3("
    writer = helper(
        "pvshm-test-writer", shm_id, 4, 2, 1, "--hold",
        "--camera-id", os.fsdecode(camera_id), "--caps", os.fsdecode(caps),
    )  # fmt: skip
    writer.expect("ready")
    writer.expect("done")
    reader = pvshm.Reader(shm_id)
    assert reader.read() is not None
    meta = reader.metadata
    assert meta["camera_id"] == "cam\ufffd\ufffd0"
    assert meta["caps"] == "video/x-raw,\ufffd("
    assert writer.finish() == 0


def test_a_view_is_read_only_and_a_read_is_not(shm_id):
    pvshm.write_image_array_to_shared_memory(shm_id, np.full((4, 4, 3), 9, np.uint8))
    reader = pvshm.Reader(shm_id)
    view = reader.view()
    assert view.shape == (4, 4, 3)
    with pytest.raises(ValueError):
        view[0, 0, 0] = 1
    with pytest.raises(ValueError):
        view.flags.writeable = True
    copy = reader.read()
    copy[0, 0, 0] = 1
    assert view[0, 0, 0] == 9


def test_an_encoded_frame_is_viewed_as_its_bytes(shm_id):
    pvshm.dev_write_image_to_shared_memory(shm_id, b"not an image")
    reader = pvshm.Reader(shm_id)
    assert reader.view().tobytes() == b"not an image"
    assert reader.metadata["format"] == "encoded"
    with pytest.raises(pvshm.DecodeError):
        reader.read()


def test_a_view_keeps_its_frame_intact_while_the_writer_goes_on(shm_id, helper):
    """The writer writes as fast as it can into the slots left; the pinned one must not change.

    Three slots: the writer never reuses the pinned slot nor the one holding the newest frame.
    """
    writer = helper("pvshm-test-writer", shm_id, 320, 240, 0, "--slots", 3)
    writer.expect("ready")
    reader = pvshm.Reader(shm_id)
    assert reader.wait(5.0)
    view = reader.view()
    pinned = reader.metadata["sequence"]
    stamp = stamp_of(view)
    assert stamp is not None
    copy = view.copy()

    watcher = pvshm.Reader(shm_id)
    deadline = time.monotonic() + 10.0
    while watcher.wait(5.0) and watcher.read() is not None:
        if watcher.metadata["sequence"] >= pinned + 500 or time.monotonic() > deadline:
            break
    assert watcher.metadata["sequence"] >= pinned + 500, "the writer stalled"
    np.testing.assert_array_equal(view, copy)
    assert stamp_of(view) == stamp


def test_views_pin_their_slots_until_every_derived_array_is_gone(shm_id, helper):
    """With both slots of a 2-slot segment held, the writer drops frames instead of waiting."""
    writer = helper("pvshm-test-writer", shm_id, 64, 48, 0, "--slots", 2)
    writer.expect("ready")
    reader = pvshm.Reader(shm_id)
    assert reader.wait(5.0)
    first = reader.view()
    assert reader.wait(5.0)
    second = reader.view()
    assert reader.metadata["sequence"] > 0
    part = first[10:20]  # a derived array holds the pin as well
    del first

    watcher = pvshm.Reader(shm_id)
    watcher.read()
    # Every slot is held, so no frame can be published: only a timeout can end this wait.
    assert not watcher.wait(0.3)
    assert stamp_of(second) is not None

    del part, second
    assert watcher.wait(5.0), "releasing the views lets the writer publish again"


def test_wait_times_out(shm_id):
    pvshm.write_image_array_to_shared_memory(shm_id, np.zeros((2, 2), np.uint8))
    reader = pvshm.Reader(shm_id)
    assert reader.wait(0), "a frame not yet read counts as new"
    reader.read()
    start = time.monotonic()
    assert not reader.wait(0.2)
    assert time.monotonic() - start >= 0.19
    assert not reader.wait(timeout=0)


def test_wait_on_a_missing_segment_times_out(shm_id):
    start = time.monotonic()
    assert not pvshm.Reader(shm_id).wait(0.15)
    assert time.monotonic() - start >= 0.14


def test_a_spinning_reader_takes_every_frame_of_a_writer_process_and_keeps_its_timeout(
    shm_id, helper
):
    writer = helper("pvshm-test-writer", shm_id, 64, 48, 200, "--lossless", "--go", "--hold")
    writer.expect("ready")
    reader = pvshm.Reader(shm_id, spin=2.0)
    assert reader.view_next() is None  # registers as a reader of every frame
    writer.send("go")
    sequences = []
    while len(sequences) < 200 and reader.wait(10.0):
        while (frame := reader.view_next(with_info=True)) is not None:
            view, info = frame
            assert stamp_of(view) == info["sequence"], "intact"
            sequences.append(info["sequence"])
    assert sequences == list(range(1, 201))
    writer.expect("done 200 dropped 0 lossless-drops 0")
    # No frame comes: the wait ends at its timeout, not after the spin, and it spun.
    start, cpu = time.monotonic(), time.thread_time()
    assert not reader.wait(0.2)
    assert 0.19 <= time.monotonic() - start < 1.5
    assert time.thread_time() - cpu >= 0.02
    assert writer.finish() == 0


@pytest.mark.parametrize("spin", [-0.001, float("nan"), float("inf"), 3601])
def test_a_reader_refuses_a_spin_outside_0_to_3600_seconds(shm_id, spin):
    with pytest.raises(ValueError, match="spin"):
        pvshm.Reader(shm_id, spin=spin)


@pytest.mark.parametrize("timeout", [-1, float("nan")])
def test_wait_rejects_bad_timeouts(shm_id, timeout):
    with pytest.raises(ValueError):
        pvshm.Reader(shm_id).wait(timeout)


def test_wait_releases_the_gil(shm_id):
    """A thread blocked in wait() must let this thread write the frame it waits for."""
    reader = pvshm.Reader(shm_id)
    result = {}
    thread = threading.Thread(target=lambda: result.update(arrived=reader.wait(10.0)))
    thread.start()
    pvshm.write_image_array_to_shared_memory(shm_id, np.ones((3, 3, 3), np.uint8))
    thread.join(10.0)
    assert result == {"arrived": True}


def test_a_reader_follows_a_segment_that_is_cleared_and_written_again(shm_id):
    pvshm.write_image_array_to_shared_memory(shm_id, np.full((2, 2, 3), 1, np.uint8))
    reader = pvshm.Reader(shm_id)
    assert (reader.read() == 1).all()
    pvshm.dev_clear_shared_memory(shm_id)
    for value in (2, 3):  # sequence 2 of the new segment is newer than 1 of the old one
        pvshm.write_image_array_to_shared_memory(shm_id, np.full((5, 5, 3), value, np.uint8))
    assert reader.wait(5.0)
    frame = reader.read()
    assert frame.shape == (5, 5, 3) and (frame == 3).all()


def test_wait_sees_the_first_frame_of_a_re_created_segment(shm_id):
    pvshm.write_image_array_to_shared_memory(shm_id, np.full((2, 2, 3), 1, np.uint8))
    reader = pvshm.Reader(shm_id)
    reader.read()
    pvshm.dev_clear_shared_memory(shm_id)
    pvshm.write_image_array_to_shared_memory(shm_id, np.full((2, 2, 3), 2, np.uint8))
    assert reader.wait(1.0)


def test_read_honours_the_color_space_of_raw_arrays(shm_id):
    image = np.zeros((1, 1, 3), np.uint8)
    image[0, 0] = (1, 2, 3)
    pvshm.write_image_array_to_shared_memory(shm_id, image)
    reader = pvshm.Reader(shm_id)
    assert reader.read(color_space="BGR")[0, 0].tolist() == [3, 2, 1]
    with pytest.raises(ValueError):
        reader.read(color_space="HSV")
