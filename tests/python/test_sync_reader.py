# SPDX-License-Identifier: LGPL-2.1-or-later
"""pvshm.SyncReader: the frames of several writer processes in sets that belong together, by an
equal metadata value or capture times within a tolerance; a whole set or none."""

import math
import sys
import threading
import time

import numpy as np
import pytest

import pvshm
from conftest import TIMEOUT

# A camera: for every "TRIGGER TIMESTAMP_NS" line on stdin, a gray frame of value TRIGGER with
# that capture time and {"trigger": TRIGGER} as metadata (none for a negative TRIGGER); answers
# "wrote SEQUENCE". Lossless: a reader that looked before the first frame takes every frame from
# frame 1; eight slots hold every frame a test writes, so that writing never waits for it.
CAMERA = """
import sys
import numpy as np
import pvshm
writer = pvshm.Writer(sys.argv[1], slots=8, camera_id=sys.argv[1], lossless=True)
print("ready", flush=True)
for line in sys.stdin:
    trigger, timestamp_ns = map(int, line.split())
    metadata = {"trigger": trigger} if trigger >= 0 else None
    frame = np.full((4, 6), trigger % 256, np.uint8)
    print("wrote", writer.write(frame, metadata=metadata, timestamp_ns=timestamp_ns), flush=True)
"""

# Capture times of the tests: trigger n at BASE_NS + n * PERIOD_MS, plus each camera's offset.
BASE_NS = time.time_ns() - 60 * 10**9
PERIOD_MS = 100


class Camera:
    def __init__(self, child, shared_mem_id):
        self.child = child
        self.id = shared_mem_id

    def write(self, trigger, offset_ms=0.0):
        """Writes the frame of `trigger`, captured `offset_ms` after the trigger's time."""
        timestamp_ns = BASE_NS + round((trigger * PERIOD_MS + offset_ms) * 1e6)
        self.child.send(f"{trigger} {timestamp_ns}")
        assert self.child.expect("wrote").split()[1] != "None", "a frame was dropped"


@pytest.fixture
def cameras(spawn, shm_ids):
    """start(count): that many camera processes, each the writer of an id of its own."""

    def start(count):
        started = []
        for shared_mem_id in shm_ids(count):
            child = spawn([sys.executable, "-c", CAMERA, shared_mem_id])
            child.expect("ready")  # its segment is there, without a frame
            started.append(Camera(child, shared_mem_id))
        return started

    return start


def looking_at(cameras, **options):
    """A SyncReader of the cameras that has looked at each: it takes their every frame."""
    sync = pvshm.SyncReader([camera.id for camera in cameras], **options)
    assert sync.read_set(timeout=0) is None
    return sync


def sets_there(sync):
    """Every set the frames already written complete, each a list of (rgb, info)."""
    sets = []
    while (frames := sync.read_set(timeout=0, with_info=True)) is not None:
        sets.append(frames)
    return sets


def triggers_of(frames):
    """The trigger of each frame of a set of read_set(with_info=True), checked against its
    pixels."""
    triggers = []
    for rgb, info in frames:
        trigger = info["metadata"]["trigger"]
        assert rgb.shape == (4, 6, 3) and (rgb == trigger).all()
        triggers.append(trigger)
    return triggers


def test_sets_by_a_metadata_key_never_mix_triggers(cameras):
    # Clocks a second apart: capture times could match nothing, only the key matches.
    first, second, third = started = cameras(3)
    sync = looking_at(started, key="trigger")
    for trigger in range(1, 7):
        first.write(trigger, 0)
        if trigger != 3:  # the second camera missed trigger 3
            second.write(trigger, 1000)
        third.write(trigger, 2000)
    sets = [triggers_of(frames) for frames in sets_there(sync)]
    assert sets == [[trigger] * 3 for trigger in (1, 2, 4, 5, 6)], "never a mix of triggers"
    assert sync.frames_unmatched == 2, "trigger 3 of the first and third camera"


def test_frames_without_the_key_belong_to_no_set(cameras):
    first, second = started = cameras(2)
    sync = looking_at(started, key="trigger")
    first.write(-1)
    second.write(-1)
    assert sync.read_set(timeout=0) is None
    first.write(1)
    second.write(1)
    assert triggers_of(sync.read_set(timeout=TIMEOUT, with_info=True)) == [1, 1]
    assert sync.frames_unmatched == 2


def test_sets_by_capture_time_lie_within_the_tolerance_of_each_other(cameras):
    first, second, third = started = cameras(3)
    sync = looking_at(started, tolerance=0.010)
    for trigger in range(1, 6):
        first.write(trigger, 0)
        # Trigger 3: each within 10 ms of the first camera's frame, but 16 ms apart.
        second.write(trigger, 8 if trigger == 3 else 3)
        third.write(trigger, -8 if trigger == 3 else -4)
    sets = sets_there(sync)
    for frames in sets:
        times = [info["timestamp_ns"] for _, info in frames]
        assert max(times) - min(times) <= 10_000_000
    assert [triggers_of(frames) for frames in sets] == [[trigger] * 3 for trigger in (1, 2, 4, 5)]
    assert sync.frames_unmatched == 3


def test_closest_spread_says_why_free_running_cameras_give_no_set(cameras):
    """Cameras not triggered together are up to a frame interval apart: no set at a tolerance of
    5 ms, and closest_spread tells the user how close the frames came."""
    first, second, third = started = cameras(3)
    sync = looking_at(started, tolerance=0.005)
    assert sync.closest_spread is None
    first.write(1, 0)
    second.write(1, 12)
    third.write(1, 25)
    assert sync.read_set(timeout=0) is None
    assert math.isclose(sync.closest_spread, 0.025, abs_tol=1e-9)
    assert sync.frames_unmatched == 2  # the first and second camera's frames are passed over


def test_closest_spread_is_none_when_matching_a_key(cameras):
    first, second = started = cameras(2)
    sync = looking_at(started, key="trigger")
    first.write(1)
    second.write(2)
    assert sync.read_set(timeout=0) is None
    assert sync.closest_spread is None


@pytest.mark.parametrize("options", [{"key": "trigger"}, {"tolerance": 0.010}])
def test_a_camera_that_missed_a_frame_gives_no_set_rather_than_a_mix(cameras, options):
    first, second = started = cameras(2)
    sync = looking_at(started, **options)
    first.write(1)
    second.write(2)  # missed trigger 1
    assert sync.read_set(timeout=0) is None
    first.write(2)
    assert triggers_of(sync.read_set(timeout=TIMEOUT, with_info=True)) == [2, 2]
    assert sync.frames_unmatched == 1


def test_no_set_while_a_camera_writes_nothing_until_the_timeout(cameras, shm_ids):
    (camera,) = cameras(1)
    (silent,) = shm_ids(1)  # no writer, no segment
    sync = pvshm.SyncReader([camera.id, silent], key="trigger")
    assert sync.read_set(timeout=0) is None
    for trigger in (1, 2, 3):  # more than the two frames kept waiting for a partner
        camera.write(trigger)
    start = time.monotonic()
    cpu_start = time.process_time()
    assert sync.read_set(timeout=1.0) is None
    assert time.monotonic() - start >= 0.99
    assert time.process_time() - cpu_start < 0.1, "waits without polling"


def test_read_set_returns_a_set_completed_while_it_waits(cameras):
    first, second = started = cameras(2)
    sync = looking_at(started, key="trigger")
    first.write(1)
    result = {}
    thread = threading.Thread(target=lambda: result.update(frames=sync.read_set(timeout=TIMEOUT)))
    start = time.monotonic()
    thread.start()
    second.write(1)
    thread.join(TIMEOUT)
    assert time.monotonic() - start < TIMEOUT
    assert [int(rgb[0, 0, 0]) for rgb in result["frames"]] == [1, 1]


def test_view_set_gives_the_frames_in_place_in_the_order_of_the_ids(cameras):
    first, second = started = cameras(2)
    sync = looking_at(list(reversed(started)), key="trigger")
    assert sync.ids == [second.id, first.id]
    first.write(5)
    second.write(5)
    views = sync.view_set(timeout=TIMEOUT, with_info=True)
    assert [info["camera_id"] for _, info in views] == [second.id, first.id]
    for view, info in views:
        assert view.shape == (4, 6, 1) and not view.flags.writeable and (view == 5).all()
        assert info["writer_alive"] and info["metadata"] == {"trigger": 5}
    assert [info["sequence"] for _, info in views] == [1, 1]


def test_a_set_times_out_after_the_timeout(shm_ids):
    sync = pvshm.SyncReader(shm_ids(2))
    assert sync.read_set(timeout=0) is None
    start = time.monotonic()
    assert sync.view_set(timeout=0.2) is None
    assert time.monotonic() - start >= 0.19


@pytest.mark.parametrize(
    "ids, options",
    [
        ([], {}),
        (["a", "a"], {}),
        (["bad/id"], {}),
        (["a"], {"key": ""}),
        (["a"], {"key": "trigger", "tolerance": 0.01}),
        (["a"], {"tolerance": -0.001}),
        (["a"], {"tolerance": math.nan}),
        (["a"], {"tolerance": 2e9}),
        (["a"], {"pending_per_id": 0}),
        (["a"], {"pending_per_id": 65}),
    ],
)
def test_bad_lists_and_options_are_value_errors(ids, options):
    with pytest.raises(ValueError):
        pvshm.SyncReader(ids, **options)


@pytest.mark.parametrize(
    "ids, options",
    [
        ("cam0", {}),
        (None, {}),
        (["a", 1], {}),
        (["a"], {"key": 5}),
        (["a"], {"tolerance": "5 ms"}),
    ],
)
def test_ids_and_options_of_another_type_are_type_errors(ids, options):
    with pytest.raises(TypeError):
        pvshm.SyncReader(ids, **options)


@pytest.mark.parametrize(
    "call",
    [
        lambda sync: sync.read_set(timeout=-1),
        lambda sync: sync.view_set(timeout=math.nan),
        lambda sync: sync.read_set(timeout=0, color_space="HSV"),
    ],
)
def test_bad_timeouts_and_color_spaces_are_value_errors(shm_ids, call):
    with pytest.raises(ValueError):
        call(pvshm.SyncReader(shm_ids(2)))


def test_ids_are_read_from_any_iterable_and_shown(shm_ids):
    ids = shm_ids(2)
    sync = pvshm.SyncReader(iter(ids))
    assert sync.ids == ids
    assert repr(sync) == f"<pvshm.SyncReader ids={ids!r}>"
    assert sync.frames_unmatched == 0
