# SPDX-License-Identifier: LGPL-2.1-or-later
"""The four seed functions on numpy arrays, case by case as CONTRACT section 5 states them."""

import numpy as np
import pytest

import pvshm
from conftest import png_bytes

INVALID_IDS = ["", ".hidden", "a/b", "../etc", "with space", "x" * 201, "caf\u00e9", "a\0b"]


def gradient(height, width):
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([x * 7, y * 11, (x + y) * 3], axis=-1).astype(np.uint8)


def read(shared_mem_id, width, height, **meta):
    return pvshm.read_image_from_shared_memory(
        shared_mem_id, {"width": width, "height": height, **meta}
    )


def test_rgb_passes_through_unchanged(shm_id):
    image = gradient(17, 33)
    pvshm.write_image_array_to_shared_memory(shm_id, image)
    result = read(shm_id, 33, 17)
    assert result.dtype == np.uint8 and result.shape == (17, 33, 3)
    np.testing.assert_array_equal(result, image)


def test_bgr_color_space_is_converted_to_rgb(shm_id):
    image = gradient(8, 9)
    pvshm.write_image_array_to_shared_memory(shm_id, image)
    np.testing.assert_array_equal(read(shm_id, 9, 8, color_space="BGR"), image[..., ::-1])


@pytest.mark.parametrize("shape", [(6, 5), (6, 5, 1)])
def test_gray_is_expanded_to_three_channels(shm_id, shape):
    gray = np.arange(30, dtype=np.uint8).reshape(shape)
    pvshm.write_image_array_to_shared_memory(shm_id, gray)
    result = read(shm_id, 5, 6)
    assert result.shape == (6, 5, 3)
    for channel in range(3):
        np.testing.assert_array_equal(result[..., channel], gray.reshape(6, 5))


def test_non_image_bytes_give_zeros(shm_id):
    pvshm.dev_write_image_to_shared_memory(shm_id, b"these are not the bytes of an image")
    result = read(shm_id, 7, 4)
    assert result.shape == (4, 7, 3) and result.dtype == np.uint8
    assert not result.any()


def test_missing_id_gives_zeros_of_the_requested_size(shm_id):
    result = read(shm_id, 7, 5)
    assert result.shape == (5, 7, 3)
    assert not result.any()


def test_png_bytes_are_decoded(shm_id):
    image = gradient(12, 10)
    pvshm.dev_write_image_to_shared_memory(shm_id, png_bytes(image))
    np.testing.assert_array_equal(read(shm_id, 10, 12), image)


@pytest.mark.parametrize("wrap", [bytes, bytearray, memoryview])
def test_any_bytes_like_object_is_accepted(shm_id, wrap):
    image = gradient(3, 4)
    pvshm.dev_write_image_to_shared_memory(shm_id, wrap(png_bytes(image)))
    np.testing.assert_array_equal(read(shm_id, 4, 3), image)


def test_text_is_not_image_bytes(shm_id):
    with pytest.raises(TypeError):
        pvshm.dev_write_image_to_shared_memory(shm_id, "not bytes")


def test_the_frame_size_wins_over_image_meta(shm_id):
    image = gradient(6, 8)
    pvshm.write_image_array_to_shared_memory(shm_id, image)
    np.testing.assert_array_equal(read(shm_id, 100, 100), image)


@pytest.mark.parametrize(
    "meta",
    [
        {},
        {"width": 4},
        {"height": 4},
        {"width": 0, "height": 4},
        {"width": 4, "height": -1},
        {"width": 4.0, "height": 4},
        {"width": "4", "height": 4},
        {"width": None, "height": 4},
        {"width": True, "height": 4},
    ],
)
def test_missing_or_non_positive_size_gives_none(shm_id, meta):
    pvshm.write_image_array_to_shared_memory(shm_id, gradient(4, 4))
    assert pvshm.read_image_from_shared_memory(shm_id, meta) is None


def test_numpy_integers_are_sizes(shm_id):
    pvshm.write_image_array_to_shared_memory(shm_id, gradient(4, 4))
    assert read(shm_id, np.int64(4), np.uint16(4)).shape == (4, 4, 3)


def test_optional_keys_are_accepted_and_type_checked(shm_id):
    pvshm.write_image_array_to_shared_memory(shm_id, gradient(2, 2))
    result = read(shm_id, 2, 2, color_space="RGB", timestamp_ms=1234, camera_id="cam0")
    assert result.shape == (2, 2, 3)
    with pytest.raises(TypeError, match="color_space"):
        read(shm_id, 2, 2, color_space=3)


@pytest.mark.parametrize(
    "key, value, low, high",
    [
        ("timestamp_ms", 2**70, -(2**63), 2**63 - 1),
        ("timestamp_ms", -(2**64), -(2**63), 2**63 - 1),
        ("width", 2**40, 1, 65535),
        ("height", 2**70, 1, 65535),
        ("width", 65536, 1, 65535),
    ],
)
def test_out_of_range_image_meta_values_name_the_key_and_the_range(shm_id, key, value, low, high):
    """Regression: timestamp_ms=2**70 raised "must be an int, got int"."""
    meta = {"width": 2, "height": 2, key: value}
    expected = rf"image_meta\['{key}'\] = {value} is out of range: it must be from {low} to {high}"
    with pytest.raises(ValueError, match=expected):
        pvshm.read_image_from_shared_memory(shm_id, meta)


def test_the_result_is_a_private_writable_copy(shm_id):
    image = gradient(4, 4)
    pvshm.write_image_array_to_shared_memory(shm_id, image)
    first = read(shm_id, 4, 4)
    first[:] = 0
    np.testing.assert_array_equal(read(shm_id, 4, 4), image)


@pytest.mark.parametrize(
    "view",
    [
        lambda a: a[:, ::2],  # column step
        lambda a: a[::-1],  # negative row stride
        lambda a: a[..., ::-1],  # reversed channels
        lambda a: a[3:9, 2:7],  # crop: padded rows, used in place
        lambda a: np.asfortranarray(a),
        lambda a: a.transpose(1, 0, 2),
        lambda a: np.broadcast_to(a[:1], a.shape),  # zero row stride
    ],
    ids=[
        "column-step",
        "flipped",
        "channels-reversed",
        "crop",
        "fortran",
        "transposed",
        "broadcast",
    ],
)
def test_non_contiguous_arrays_are_written_as_they_look(shm_id, view):
    array = view(gradient(12, 10))
    assert not array.flags.c_contiguous
    pvshm.write_image_array_to_shared_memory(shm_id, array)
    np.testing.assert_array_equal(read(shm_id, array.shape[1], array.shape[0]), array)


def test_non_contiguous_gray_is_accepted(shm_id):
    gray = np.arange(64, dtype=np.uint8).reshape(8, 8)[::2, ::3]
    pvshm.write_image_array_to_shared_memory(shm_id, gray[..., np.newaxis])
    np.testing.assert_array_equal(read(shm_id, 3, 4)[..., 1], gray)


def test_read_only_arrays_are_accepted(shm_id):
    image = gradient(3, 3)
    image.flags.writeable = False
    pvshm.write_image_array_to_shared_memory(shm_id, image)
    np.testing.assert_array_equal(read(shm_id, 3, 3), image)


@pytest.mark.parametrize("dtype", [np.float32, np.int8, np.uint16, np.int64, bool])
def test_other_dtypes_raise_type_error(shm_id, dtype):
    with pytest.raises(TypeError, match="uint8"):
        pvshm.write_image_array_to_shared_memory(shm_id, np.zeros((4, 4, 3), dtype))


@pytest.mark.parametrize("shape", [(16,), (4, 4, 2), (4, 4, 4), (2, 4, 4, 3), (0, 4, 3), (4, 0)])
def test_other_shapes_raise_value_error(shm_id, shape):
    with pytest.raises(ValueError, match=r"shape"):
        pvshm.write_image_array_to_shared_memory(shm_id, np.zeros(shape, np.uint8))


@pytest.mark.parametrize("not_an_array", [[[1, 2], [3, 4]], b"\x00" * 12, None])
def test_non_arrays_raise_type_error(shm_id, not_an_array):
    with pytest.raises(TypeError, match="numpy.ndarray"):
        pvshm.write_image_array_to_shared_memory(shm_id, not_an_array)


@pytest.mark.parametrize("bad_id", INVALID_IDS)
def test_invalid_ids_raise_value_error_naming_the_id(bad_id):
    calls = [
        lambda: pvshm.read_image_from_shared_memory(bad_id, {"width": 2, "height": 2}),
        lambda: pvshm.read_image_from_shared_memory(bad_id, {}),
        lambda: pvshm.write_image_array_to_shared_memory(bad_id, np.zeros((2, 2, 3), np.uint8)),
        lambda: pvshm.dev_write_image_to_shared_memory(bad_id, b"\x89PNG"),
        lambda: pvshm.dev_clear_shared_memory(bad_id),
        lambda: pvshm.Reader(bad_id),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="shared_mem_id"):
            call()


def test_clear_of_a_missing_id_is_not_an_error(shm_id):
    pvshm.dev_clear_shared_memory(shm_id)
    pvshm.dev_clear_shared_memory(shm_id)
