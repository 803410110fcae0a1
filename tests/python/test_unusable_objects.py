# SPDX-License-Identifier: LGPL-2.1-or-later
"""Objects under a segment's name that are not this user's segments: FIFOs, sockets,
directories, another user's files. The seed read gives zeros, never an exception or a hang;
Reader says what is wrong. Each case runs in a second process over a private PVSHM_SHM_DIR."""

import pytest

# Prints the shape and the sum of what the seed read returns for 3x4, or the exception.
SEED_READ = """
import sys, pvshm
try:
    image = pvshm.read_image_from_shared_memory(sys.argv[1], {"width": 4, "height": 3})
    print(list(image.shape), int(image.sum()))
except Exception as error:
    print("raised", type(error).__name__, error)
"""

# Prints what pvshm.Reader(ID, allow_other_owner=...).read() gives, or the exception.
READER_READ = """
import sys, pvshm
try:
    frame = pvshm.Reader(sys.argv[1], allow_other_owner=sys.argv[2] == "True").read()
    print("read", None if frame is None else int(frame.max()))
except pvshm.SegmentError as error:
    print("SegmentError", error)
"""

UNUSABLE = ["fifo", "socket", "directory", "other-user-0600", "other-user-0644"]


@pytest.mark.parametrize("kind", UNUSABLE)
def test_the_seed_read_gives_zeros_for_an_unusable_object(private_shm, kind):
    """Regression: a FIFO hung the read, a socket or a directory raised OSError."""
    private_shm.plant(kind, "bad")
    assert private_shm.python(SEED_READ, "bad") == "[3, 4, 3] 0"


@pytest.mark.parametrize("kind", ["fifo", "socket", "directory"])
def test_a_reader_of_an_unusable_object_raises_segment_error(private_shm, kind):
    private_shm.plant(kind, "bad")
    assert private_shm.python(READER_READ, "bad", False).startswith("SegmentError")


def test_a_reader_names_the_switch_for_another_users_segment(private_shm):
    private_shm.plant("other-user-0600", "theirs")
    refused = private_shm.python(READER_READ, "theirs", False)
    assert refused.startswith("SegmentError") and "allow_other_owner=True" in refused
    assert private_shm.python(READER_READ, "theirs", True) == "read 7"


def test_the_seed_read_of_another_users_segment_reads_it_when_the_environment_allows(
    private_shm,
):
    private_shm.plant("other-user-0644", "theirs")
    private_shm.env["PVSHM_ALLOW_OTHER_OWNERS"] = "1"
    assert private_shm.python(SEED_READ, "theirs") == f"[3, 4, 3] {3 * 4 * 3 * 7}"
