# SPDX-License-Identifier: LGPL-2.1-or-later
"""pvshm.Writer: the one writer of an id, from Python, read here and by other processes."""

import errno
import threading
import time

import numpy as np
import pytest

import pvshm
from conftest import stamp_byte


def gradient(height, width, channels=3, dtype=np.uint8, scale=7):
    values = np.arange(height * width * channels, dtype=np.uint64) * scale
    return (values % (np.iinfo(dtype).max + 1)).astype(dtype).reshape(height, width, channels)


def stamped(stamp, height, width):
    """A GRAY8 frame pvshm-test-reader accepts as intact (tests/helpers/stamp.hpp)."""
    frame = np.full(height * width, stamp_byte(stamp), np.uint8)
    frame[:8] = np.frombuffer(np.uint64(stamp).tobytes(), np.uint8)
    return frame.reshape(height, width)


COLOUR = gradient(5, 6)
GRAY = gradient(5, 6, 1)
GRAY16 = gradient(5, 6, 1, np.uint16, scale=997)


@pytest.mark.parametrize(
    "array, fmt, stored",
    [
        (COLOUR, "rgb3-unordered", COLOUR),
        (COLOUR[:, ::2], "rgb3-unordered", COLOUR[:, ::2]),  # column steps: copied once
        (COLOUR[..., ::-1], "rgb3-unordered", COLOUR[..., ::-1]),
        (COLOUR[1:4, 1:5], "rgb3-unordered", COLOUR[1:4, 1:5]),  # a crop: used in place
        (GRAY[..., 0], "GRAY8", GRAY),
        (GRAY, "GRAY8", GRAY),
        (GRAY[::-1], "GRAY8", GRAY[::-1]),
        (GRAY16[..., 0], "GRAY16_LE", GRAY16[..., 0]),
        (GRAY16, "GRAY16_LE", GRAY16[..., 0]),
        (GRAY16[..., 0].astype(">u2"), "GRAY16_LE", GRAY16[..., 0]),
        (GRAY16[:, ::2, 0], "GRAY16_LE", GRAY16[:, ::2, 0]),
    ],
)
def test_each_accepted_array_is_stored_as_it_looks(shm_id, array, fmt, stored):
    with pvshm.Writer(shm_id) as writer:
        assert writer.write(array) == 1
    view, info = pvshm.Reader(shm_id).view(with_info=True)
    assert info["format"] == fmt
    assert (info["width"], info["height"]) == (array.shape[1], array.shape[0])
    np.testing.assert_array_equal(view, stored)


@pytest.mark.parametrize("color_space, fmt", [(None, "rgb3-unordered"), ("", "rgb3-unordered"),
                                              ("RGB", "RGB"), ("bgr", "BGR")])  # fmt: skip
def test_color_space_states_the_channel_order(shm_id, color_space, fmt):
    with pvshm.Writer(shm_id) as writer:
        writer.write(COLOUR, color_space=color_space)
    rgb, info = pvshm.Reader(shm_id).read(with_info=True)
    assert info["format"] == fmt
    np.testing.assert_array_equal(rgb, COLOUR[..., ::-1] if fmt == "BGR" else COLOUR)


@pytest.mark.parametrize(
    "bit_depth, value, as_8_bits",
    [(0, 65535, 255), (0, 4095, 15), (12, 4095, 255), (12, 2048, 128)],
)
def test_bit_depth_says_how_readers_scale_16_bit_gray(shm_id, bit_depth, value, as_8_bits):
    with pvshm.Writer(shm_id, bit_depth=bit_depth) as writer:
        writer.write(np.full((2, 3), value, np.uint16))
    reader = pvshm.Reader(shm_id)
    view, info = reader.view(with_info=True)
    assert view.dtype == np.uint16 and view.shape == (2, 3) and (view == value).all()
    assert info["bit_depth"] == bit_depth
    assert (reader.read() == as_8_bits).all()


@pytest.mark.parametrize(
    "array, error",
    [
        (np.zeros((2, 2, 3), np.float32), TypeError),
        (np.zeros((2, 2), np.int16), TypeError),
        ([[1, 2], [3, 4]], TypeError),
        (np.zeros((2, 2, 4), np.uint8), ValueError),
        (np.zeros((2, 2, 3), np.uint16), ValueError),  # 16 bits: gray only
        (np.zeros((2,), np.uint8), ValueError),
        (np.zeros((0, 2), np.uint8), ValueError),
    ],
)
def test_other_arrays_are_refused(shm_id, array, error):
    with pvshm.Writer(shm_id) as writer:
        with pytest.raises(error, match="Writer.write"):
            writer.write(array)
        assert writer.stats["frames_written"] == 0


@pytest.mark.parametrize(
    "options",
    [{"slots": 0}, {"slots": 1}, {"slots": 65}, {"slots": -1}, {"bit_depth": 17}, {"bit_depth": -1},
     {"lossless_timeout": -1.0}, {"lossless_timeout": float("nan")},
     {"lossless_timeout": float("inf")}, {"camera_id": "c" * 128}],
)  # fmt: skip
def test_options_out_of_range_are_refused(shm_id, options):
    with pytest.raises(ValueError):
        pvshm.Writer(shm_id, **options)


def test_invalid_ids_are_refused():
    with pytest.raises(ValueError, match="a/b"):
        pvshm.Writer("a/b")


def test_frames_carry_sequence_numbers_camera_id_and_counters(shm_id):
    with pvshm.Writer(shm_id, camera_id="left") as writer:
        assert [writer.write(GRAY) for _ in range(3)] == [1, 2, 3]
        assert writer.stats == {
            "frames_written": 3,
            "frames_dropped": 0,
            "bytes_written": 3 * GRAY.size,
            "lossless_drops": 0,
        }
    assert pvshm.Reader(shm_id).read(with_info=True)[1]["camera_id"] == "left"


def test_another_live_writer_of_the_id_is_refused(shm_id, python_writer):
    other = python_writer(shm_id, 2, 2)
    other.send("1")
    other.expect("wrote")
    with pytest.raises(OSError) as raised:
        pvshm.Writer(shm_id)
    assert raised.value.errno == errno.EBUSY
    assert other.finish() == 0
    with pvshm.Writer(shm_id) as writer:  # a writer that exited leaves the id free
        assert writer.write(GRAY) == 2, "the sequence goes on from the last frame"


def test_close_gives_the_id_up_and_keeps_the_last_frame(shm_id):
    writer = pvshm.Writer(shm_id)
    writer.write(GRAY)
    writer.close()
    writer.close()  # idempotent
    assert writer.closed and "closed" in repr(writer)
    with pytest.raises(ValueError, match="closed"):
        writer.write(GRAY)
    with pytest.raises(ValueError, match="closed"):
        writer.stats
    reader = pvshm.Reader(shm_id)
    np.testing.assert_array_equal(reader.view(), GRAY)
    assert not reader.writer_alive
    with pvshm.Writer(shm_id) as again:
        assert not again.closed
    assert again.closed


def test_a_lossless_python_writer_waits_for_a_slow_cpp_reader_of_every_frame(shm_id, helper):
    count = 100
    writer = pvshm.Writer(shm_id, slots=3, lossless=True)
    reader = helper("pvshm-test-reader", shm_id, "read-all", count, 2000)  # 2 ms per frame
    reader.expect("ready")
    reader.expect("registered")
    for stamp in range(1, count + 1):
        assert writer.write(stamped(stamp, 24, 32)) == stamp
    assert reader.expect("read").split() == ["read", str(count), "torn", "0", "gaps", "0",
                                             "last", str(count)]  # fmt: skip
    assert writer.stats["frames_dropped"] == 0 and writer.stats["lossless_drops"] == 0
    assert reader.finish() == 0
    writer.close()


def stalled_lossless_writer(shm_id, helper, **options):
    """A lossless writer whose every slot but the newest holds a frame a stalled reader needs."""
    writer = pvshm.Writer(shm_id, slots=3, lossless=True, **options)
    reader = helper("pvshm-test-reader", shm_id, "read-all", 1000, "stall")
    reader.expect("ready")
    reader.expect("registered")
    for sequence in (1, 2, 3):
        assert writer.write(stamped(sequence, 2, 8)) == sequence
    return writer


def test_a_lossless_wait_ends_when_another_thread_cancels_it(shm_id, helper):
    writer = stalled_lossless_writer(shm_id, helper)
    result = {}
    thread = threading.Thread(target=lambda: result.update(sequence=writer.write(stamped(4, 2, 8))))
    thread.start()
    # A cancel ends only a wait under way: the thread may not be waiting yet at the first one.
    deadline = time.monotonic() + 10.0
    while thread.is_alive() and time.monotonic() < deadline:
        writer.cancel_wait()
        thread.join(0.01)
    assert not thread.is_alive() and result == {"sequence": None}, "the frame was dropped"
    assert writer.stats["frames_dropped"] == 1
    writer.close()


def test_close_ends_a_lossless_wait_of_another_thread(shm_id, helper):
    writer = stalled_lossless_writer(shm_id, helper)
    result = {}

    def write():
        try:
            result["sequence"] = writer.write(stamped(4, 2, 8))
        except ValueError as error:  # close() came first
            result["error"] = str(error)

    thread = threading.Thread(target=write)
    thread.start()
    writer.close()
    thread.join(10.0)
    assert not thread.is_alive()
    assert result == {"sequence": None} or "closed" in result["error"]


def test_a_lossless_wait_drops_the_reader_after_lossless_timeout(shm_id, helper):
    writer = stalled_lossless_writer(shm_id, helper, lossless_timeout=0.2)
    assert writer.write(stamped(4, 2, 8)) == 4
    assert writer.stats["lossless_drops"] == 1
    writer.close()

