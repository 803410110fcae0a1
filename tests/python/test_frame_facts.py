# SPDX-License-Identifier: LGPL-2.1-or-later
"""Facts that travel with each frame: user metadata, sequence, capture time, age, liveness.

CONTRACT section 7: with_info=True returns (frame, info) describing exactly the frame returned,
and Reader.metadata always describes the last frame the reader returned.
"""

import math
import time

import numpy as np
import pytest

import pvshm
from conftest import png_bytes, stamp_of

FACT_KEYS = {"metadata", "age_ms", "writer_alive", "bit_depth", "sequence", "timestamp_ms"}


def stamp_metadata(stamp):
    """What pvshm-test-writer --metadata stores with the frame of `stamp`."""
    return {"serial": f"S-{stamp}", "stamp": stamp, "gain": stamp + 0.5}


def test_user_metadata_written_by_another_process_comes_with_its_frame(shm_id, helper):
    writer = helper("pvshm-test-writer", shm_id, 16, 8, 3, "--metadata", "--hold")
    writer.expect("ready")
    writer.expect("done")
    reader = pvshm.Reader(shm_id)
    view, info = reader.view(with_info=True)
    assert stamp_of(view) == 3
    assert info["metadata"] == stamp_metadata(3)
    assert type(info["metadata"]["stamp"]) is int and type(info["metadata"]["gain"]) is float
    assert info["sequence"] == 3 and info["format"] == "GRAY8"
    assert FACT_KEYS <= info.keys()
    assert set(reader.metadata) <= info.keys(), "info has at least the keys of Reader.metadata"
    assert reader.metadata == {k: v for k, v in info.items() if k in reader.metadata}
    assert info["timestamp_ms"] == info["timestamp_ns"] // 1_000_000
    assert info["writer_alive"] is True
    assert 0 <= info["age_ms"] < 60_000
    assert writer.finish() == 0


@pytest.mark.parametrize("call", ["read", "view", "read_next", "view_next"])
def test_info_describes_the_frame_returned_while_the_writer_goes_on(shm_id, helper, call):
    """The writer publishes as fast as it can: a second look at the segment would see a newer
    frame than the one returned, so frame and info must come from the same view."""
    writer = helper("pvshm-test-writer", shm_id, 64, 16, 0, "--metadata")
    writer.expect("ready")
    reader = pvshm.Reader(shm_id)
    checked = 0
    while checked < 200:
        assert reader.wait(5.0)
        result = getattr(reader, call)(with_info=True)
        if result is None:
            continue
        frame, info = result
        stamp = stamp_of(frame[..., 0] if call.startswith("read") else frame)
        assert stamp is not None, "an intact frame"
        assert info["metadata"] == stamp_metadata(stamp)
        assert info["sequence"] == stamp, "pvshm-test-writer stamps frame n with n"
        assert reader.metadata["sequence"] == stamp
        assert reader.metadata["metadata"] == info["metadata"]
        del frame
        checked += 1


def test_age_and_writer_liveness_are_those_of_the_frame_when_taken(shm_id, python_writer):
    writer = python_writer(shm_id, 4, 3)
    writer.send("5")
    writer.expect("wrote")
    reader = pvshm.Reader(shm_id)
    _, first = reader.read(with_info=True)
    assert first["writer_alive"] is True
    assert 0 <= first["age_ms"] < 10_000
    assert writer.finish() == 0
    _, later = reader.read(with_info=True)
    assert later["sequence"] == first["sequence"], "the frame outlives its writer"
    assert later["writer_alive"] is False
    assert later["age_ms"] >= first["age_ms"]


def test_age_counts_from_the_capture_time_the_writer_gave(shm_id):
    captured = time.time_ns() - 2_000_000_000
    with pvshm.Writer(shm_id) as writer:
        writer.write(np.zeros((2, 2), np.uint8), timestamp_ns=captured)
    _, info = pvshm.Reader(shm_id).view(with_info=True)
    assert info["timestamp_realtime_ns"] == captured
    assert info["timestamp_ms"] == captured // 1_000_000
    assert 2000 <= info["age_ms"] < 12_000
    monotonic_ago_ms = (time.monotonic_ns() - info["timestamp_monotonic_ns"]) / 1e6
    assert abs(monotonic_ago_ms - info["age_ms"]) < 1000, "both capture times as long ago"
    assert info["writer_alive"] is False


# C++'s FrameInfo names the capture times timestamp_realtime_ns and timestamp_monotonic_ns; the
# Python module's first releases called them timestamp_ns and monotonic_ns, and programs read them.
def test_capture_times_under_the_libraries_names_and_the_older_ones(shm_id):
    with pvshm.Writer(shm_id) as writer:
        writer.write(np.zeros((2, 2), np.uint8), timestamp_ns=time.time_ns() - 1_000_000)
    reader = pvshm.Reader(shm_id)
    _, info = reader.view(with_info=True)
    for frame in (info, reader.metadata):
        assert frame["timestamp_ns"] == frame["timestamp_realtime_ns"] > 0
        assert frame["monotonic_ns"] == frame["timestamp_monotonic_ns"] > 0


def test_metadata_describes_the_last_frame_returned_and_nothing_else(shm_id):
    writer = pvshm.Writer(shm_id)
    reader = pvshm.Reader(shm_id)

    def write(n):
        writer.write(np.full((2, 2), n, np.uint8), metadata={"n": n})

    write(1)
    assert reader.view_next() is not None
    assert reader.metadata["metadata"] == {"n": 1}
    write(2)
    write(3)
    assert reader.metadata["sequence"] == 1, "frames not yet returned change nothing"
    assert (reader.read() == 3).all()
    assert reader.metadata["metadata"] == {"n": 3}
    assert reader.view_next() is None, "nothing newer than the last frame returned"
    assert reader.metadata["sequence"] == 3, "a call that returns None changes nothing"
    write(4)
    assert reader.read_next(with_info=True)[1]["metadata"] == {"n": 4}
    assert reader.metadata["sequence"] == 4
    writer.close()


ACCEPTED = {
    "text": "caf\u00e9 \u2603",
    "negative": -5,
    "big": 2**63 - 1,
    "small": -(2**63),
    "fraction": 0.25,
    "numpy_int": np.int16(7),
    "numpy_float": np.float32(0.5),
}
EXPECTED = dict(ACCEPTED, numpy_int=7, numpy_float=0.5)


def write_seed(shm_id, metadata):
    image = np.zeros((2, 3, 3), np.uint8)
    pvshm.write_image_array_to_shared_memory(shm_id, image, metadata=metadata)


def write_encoded(shm_id, metadata):
    png = png_bytes(np.zeros((2, 3, 3), np.uint8))
    pvshm.dev_write_image_to_shared_memory(shm_id, png, metadata=metadata)


def write_stream(shm_id, metadata):
    with pvshm.Writer(shm_id) as writer:
        writer.write(np.zeros((2, 3, 3), np.uint8), metadata=metadata)


WRITES = [write_seed, write_encoded, write_stream]


@pytest.mark.parametrize("write", WRITES)
def test_metadata_values_keep_their_type(shm_id, write):
    write(shm_id, ACCEPTED)
    _, info = pvshm.Reader(shm_id).view(with_info=True)
    assert info["metadata"] == EXPECTED
    for key, value in EXPECTED.items():
        assert type(info["metadata"][key]) is type(value), key


@pytest.mark.parametrize("write", WRITES)
@pytest.mark.parametrize(
    "metadata, error",
    [
        ({"flag": True}, TypeError),  # would come back as 1
        ({"flag": np.bool_(False)}, TypeError),
        ({1: "one"}, TypeError),
        ({"none": None}, TypeError),
        ({"list": [1, 2]}, TypeError),
        ([("key", "value")], TypeError),
        ("key=value", TypeError),
        ({"huge": 2**63}, ValueError),
        ({"nan": math.nan}, ValueError),
        ({"inf": math.inf}, ValueError),
        ({"": 1}, ValueError),
        ({"surrogate": "\udc80"}, ValueError),
        ({"long": "x" * 4097}, ValueError),
        ({f"key{i}": i for i in range(500)}, ValueError),  # over 4 KiB serialized
    ],
)
def test_metadata_that_cannot_be_stored_is_refused_and_nothing_is_written(
    shm_id, write, metadata, error
):
    with pytest.raises(error):
        write(shm_id, metadata)
    assert pvshm.Reader(shm_id).view() is None


def test_metadata_up_to_4_kib_is_stored(shm_id):
    metadata = {"long": "x" * (4096 - len('{"long":""}'))}
    write_seed(shm_id, metadata)
    assert pvshm.Reader(shm_id).read(with_info=True)[1]["metadata"] == metadata


@pytest.mark.parametrize(
    "color_space, stored",
    [(None, "rgb3-unordered"), ("", "rgb3-unordered"), ("RGB", "RGB"), ("BGR", "BGR")],
)
def test_a_3_channel_array_is_stored_with_the_order_stated(shm_id, color_space, stored):
    """A stated order decides the conversion; without one, the reader's color_space does."""
    image = np.zeros((1, 2, 3), np.uint8)
    image[0, 0] = (1, 2, 3)
    pvshm.write_image_array_to_shared_memory(shm_id, image, color_space=color_space)
    rgb, info = pvshm.Reader(shm_id).read(color_space="BGR", with_info=True)
    assert info["format"] == stored
    np.testing.assert_array_equal(rgb, image if color_space == "RGB" else image[..., ::-1])
    rgb = pvshm.read_image_from_shared_memory(shm_id, {"width": 2, "height": 1})  # RGB
    np.testing.assert_array_equal(rgb, image[..., ::-1] if color_space == "BGR" else image)


@pytest.mark.parametrize("color_space, error", [("HSV", ValueError), (3, TypeError)])
def test_an_unknown_color_space_is_refused(shm_id, color_space, error):
    with pytest.raises(error):
        pvshm.write_image_array_to_shared_memory(
            shm_id, np.zeros((1, 1, 3), np.uint8), color_space=color_space
        )
    assert pvshm.Reader(shm_id).view() is None


def test_max_age_ms_turns_an_old_frame_into_zeros(shm_id):
    with pvshm.Writer(shm_id) as writer:
        writer.write(np.full((2, 2, 3), 9, np.uint8), timestamp_ns=time.time_ns() - 5_000_000_000)
    meta = {"width": 2, "height": 2}
    assert (pvshm.read_image_from_shared_memory(shm_id, dict(meta, max_age_ms=1000)) == 0).all()
    for accepting in (0, 600_000):
        result = pvshm.read_image_from_shared_memory(shm_id, dict(meta, max_age_ms=accepting))
        assert (result == 9).all(), accepting


@pytest.mark.parametrize(
    "value, error", [(-1, ValueError), (2**62, ValueError), ("1000", TypeError), (True, TypeError)]
)
def test_max_age_ms_is_checked(shm_id, value, error):
    with pytest.raises(error, match="max_age_ms"):
        pvshm.read_image_from_shared_memory(shm_id, {"width": 2, "height": 2, "max_age_ms": value})
