# SPDX-License-Identifier: LGPL-2.1-or-later
"""Reader.view() of every stored layout: one array per plane, over the stored rows, no copy."""

import numpy as np
import pytest

import pvshm

PADDING = 6  # bytes after every row of every plane (pvshm-test-writer --row-padding)


def pattern(plane, rows, row_bytes):
    """The bytes pvshm-test-writer --format puts in a plane (tests/helpers/pattern.hpp)."""
    row = np.arange(rows)[:, None]
    byte = np.arange(row_bytes)[None, :]
    return ((plane * 50 + row * 3 + byte) % 251).astype(np.uint8)


def written(helper, shm_id, fmt, width, height):
    writer = helper(
        "pvshm-test-writer", shm_id, width, height, 1, "--hold",
        "--format", fmt, "--row-padding", PADDING,
    )  # fmt: skip
    writer.expect("ready")
    writer.expect("done")
    return writer


def half(n):
    return (n + 1) // 2


def check_plane(array, expected, dtype=np.uint8):
    """`array` shows exactly `expected`, read-only, in place over rows padded by PADDING."""
    assert array.dtype == dtype
    assert array.shape == expected.shape
    np.testing.assert_array_equal(array, expected)
    assert not array.flags.writeable
    row_bytes = expected[0].size * array.itemsize
    assert array.strides[0] == row_bytes + PADDING, "the stored stride, not a packed copy"


@pytest.mark.parametrize("width, height", [(8, 6), (7, 5)])
def test_nv12_is_a_y_plane_and_an_interleaved_uv_plane(shm_id, helper, width, height):
    writer = written(helper, shm_id, "NV12", width, height)
    reader = pvshm.Reader(shm_id)
    planes, info = reader.view(with_info=True)
    assert isinstance(planes, tuple) and len(planes) == 2
    y, uv = planes
    check_plane(y, pattern(0, height, width))
    uv_expected = pattern(1, half(height), 2 * half(width)).reshape(half(height), half(width), 2)
    check_plane(uv, uv_expected)
    assert info["format"] == "NV12" and (info["width"], info["height"]) == (width, height)
    assert writer.finish() == 0


@pytest.mark.parametrize("width, height", [(8, 6), (7, 5)])
def test_i420_is_three_planes(shm_id, helper, width, height):
    writer = written(helper, shm_id, "I420", width, height)
    y, u, v = pvshm.Reader(shm_id).view()
    check_plane(y, pattern(0, height, width))
    check_plane(u, pattern(1, half(height), half(width)))
    check_plane(v, pattern(2, half(height), half(width)))
    assert writer.finish() == 0


@pytest.mark.parametrize("fmt", ["YUY2", "UYVY"])
@pytest.mark.parametrize("width", [8, 7])
def test_packed_422_is_pairs_of_bytes_per_pixel(shm_id, helper, fmt, width):
    """(H, 2*ceil(W/2), 2): an odd width keeps the chroma of its last pixel."""
    writer = written(helper, shm_id, fmt, width, 3)
    view = pvshm.Reader(shm_id).view()
    check_plane(view, pattern(0, 3, 4 * half(width)).reshape(3, 2 * half(width), 2))
    assert writer.finish() == 0


def test_gray16_is_a_uint16_array_of_shape_h_w(shm_id, helper):
    writer = written(helper, shm_id, "GRAY16_LE", 5, 4)
    view = pvshm.Reader(shm_id).view()
    check_plane(view, pattern(0, 4, 10).view("<u2"), np.dtype("<u2"))
    assert writer.finish() == 0


@pytest.mark.parametrize(
    "fmt, channels", [("RGB", 3), ("BGRx", 4), ("GRAY8", 1), ("bayer-rggb", 1)]
)
def test_packed_formats_are_h_w_c(shm_id, helper, fmt, channels):
    writer = written(helper, shm_id, fmt, 5, 3)
    view = pvshm.Reader(shm_id).view()
    check_plane(view, pattern(0, 3, 5 * channels).reshape(3, 5, channels))
    assert writer.finish() == 0


def test_every_plane_pins_the_slot_until_the_last_is_gone(shm_id):
    """Two slots: with a view alive in each, the writer must drop frames instead of writing."""
    writer = pvshm.Writer(shm_id, slots=2)
    reader = pvshm.Reader(shm_id)
    writer.write(np.zeros((4, 4), np.uint8))
    first = reader.view()
    writer.write(np.ones((4, 4), np.uint8))
    part = reader.view()[1:3]  # a derived array holds the pin as well
    assert writer.write(np.ones((4, 4), np.uint8)) is None, "every slot is pinned"
    del first
    assert writer.write(np.full((4, 4), 2, np.uint8)) is not None
    assert (part == 1).all()
    del part
    writer.close()


def test_planes_of_one_view_share_the_pin(shm_id, helper):
    """Keeping only the UV plane of an NV12 view keeps its frame intact."""
    writer = written(helper, shm_id, "NV12", 8, 6)
    _, uv = pvshm.Reader(shm_id).view()
    copy = uv.copy()
    assert writer.finish() == 0
    pvshm.dev_clear_shared_memory(shm_id)  # the name goes; the mapping stays
    np.testing.assert_array_equal(uv, copy)
