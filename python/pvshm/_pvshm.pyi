# SPDX-License-Identifier: LGPL-2.1-or-later
"""Type stubs of the pvshm extension, with a short docstring per call for editors; help() on the
extension's own objects gives the full text."""

from typing import (
    Any,
    Iterable,
    Iterator,
    List,
    Literal,
    Mapping,
    Optional,
    Tuple,
    TypedDict,
    Union,
    overload,
)

import numpy as np
import numpy.typing as npt

__version__: str

class SegmentError(RuntimeError):
    """The id names an object that is not a usable segment (corrupt, foreign, another user's)."""
class DecodeError(RuntimeError):
    """A frame's bytes could not be decoded into an image."""

class ImageMeta(TypedDict, total=False):
    """Keys read_image_from_shared_memory() understands (for annotations only)."""

    width: int
    height: int
    color_space: str
    timestamp_ms: int
    camera_id: str
    max_age_ms: int

# User metadata of a frame: str keys to str, int or float values (no bool), at most 4 KiB as JSON.
MetadataValue = Union[str, int, float]
UserMetadata = Mapping[str, MetadataValue]

class FrameMetadata(TypedDict):
    """Reader.metadata: the last frame returned (for annotations only)."""

    width: int
    height: int
    format: str
    sequence: int
    timestamp_realtime_ns: int
    timestamp_monotonic_ns: int
    timestamp_ns: int  # timestamp_realtime_ns, under the name of the first releases
    monotonic_ns: int  # timestamp_monotonic_ns, likewise
    timestamp_ms: int
    camera_id: str
    caps: str
    payload_size: int
    bit_depth: int
    metadata: dict[str, MetadataValue]

class FrameInfo(FrameMetadata):
    """The info of (frame, info) with_info=True returns: that very frame (for annotations only)."""

    age_ms: float
    writer_alive: bool

class WriterStats(TypedDict):
    """Writer.stats: counters of the id, across every writer it had."""

    frames_written: int
    frames_dropped: int
    bytes_written: int
    lossless_drops: int

_BytesLike = Union[bytes, bytearray, memoryview, npt.NDArray[np.uint8]]
_U8 = npt.NDArray[np.uint8]
# What view() returns by format: (H,W,C) uint8 for packed formats (C = 3 RGB/BGR, 4 with alpha or
# padding, 1 GRAY8/Bayer); (H,W) uint16 for GRAY16_LE; (H,2*ceil(W/2),2) uint8 for YUY2/UYVY;
# (Y (H,W), UV (ceil(H/2),ceil(W/2),2)) for NV12; (Y, U, V) with U/V (ceil(H/2),ceil(W/2)) for
# I420; (payload_size,) uint8 for encoded bytes. Read-only; they pin the frame's slot while alive.
FrameArrays = Union[_U8, npt.NDArray[np.uint16], Tuple[_U8, _U8], Tuple[_U8, _U8, _U8]]

def read_image_from_shared_memory(
    shared_mem_id: str, image_meta: Union[ImageMeta, Mapping[str, Any]]
) -> Optional[_U8]:
    """The id's newest frame as an (H,W,3) uint8 RGB array, or None (no frame, too old, or not
    the camera or size image_meta asks for)."""
def write_image_array_to_shared_memory(
    shared_mem_id: str,
    image_array: _U8,
    color_space: Optional[str] = None,
    metadata: Optional[UserMetadata] = None,
) -> None:
    """Stores a uint8 (H,W,3), (H,W) or (H,W,1) array as the id's newest frame; this process
    stays its writer until it exits or clears the id."""

def dev_write_image_to_shared_memory(
    shared_mem_id: str, image_bytes: _BytesLike, metadata: Optional[UserMetadata] = None
) -> None:
    """Stores encoded image bytes (JPEG, PNG, ...) as the id's newest frame."""

def dev_clear_shared_memory(shared_mem_id: str) -> None:
    """Removes the id's segment (no error when there is none); readers keep what they mapped."""

def wait_any(readers: Iterable[Reader], timeout: Optional[float] = None) -> List[Reader]:
    """Waits until one or more readers have a new frame; returns those, [] on timeout (seconds,
    None: forever). One sleep on every id at once, without polling."""

class FrameIterator(Iterator[Any]):
    """What Reader.frames() returns: every frame in order, waiting for each."""

    def __iter__(self) -> FrameIterator: ...
    def __next__(self) -> Any:
        """The next frame, as frames() was asked; StopIteration after its timeout passed."""

class Reader:
    """Streams the frames of one id; finds its segment once it appears and follows a writer
    that restarts."""

    def __init__(
        self, shared_mem_id: str, allow_other_owner: bool = False, spin: float = 0.0
    ) -> None:
        """ValueError for an invalid id. allow_other_owner reads another user's segment
        (SegmentError otherwise); spin: seconds each wait looks in a busy loop first."""
    @overload
    def read(
        self, color_space: str = "RGB", with_info: Literal[False] = False
    ) -> Optional[_U8]:
        """The newest frame as a new (H,W,3) uint8 array in color_space ("RGB" or "BGR"), or
        None; with_info=True: (array, info)."""
    @overload
    def read(
        self, color_space: str = "RGB", *, with_info: Literal[True]
    ) -> Optional[Tuple[_U8, FrameInfo]]: ...
    @overload
    def view(self, with_info: Literal[False] = False) -> Optional[FrameArrays]:
        """The newest frame in place, read-only, as stored (see FrameArrays), or None; it pins
        its slot while the arrays live."""
    @overload
    def view(self, with_info: Literal[True]) -> Optional[Tuple[FrameArrays, FrameInfo]]: ...
    @overload
    def read_next(
        self, color_space: str = "RGB", with_info: Literal[False] = False
    ) -> Optional[_U8]:
        """The oldest frame newer than the last one returned, as read() gives it, or None:
        every frame in order (those overwritten first count in frames_skipped)."""
    @overload
    def read_next(
        self, color_space: str = "RGB", *, with_info: Literal[True]
    ) -> Optional[Tuple[_U8, FrameInfo]]: ...
    @overload
    def view_next(self, with_info: Literal[False] = False) -> Optional[FrameArrays]:
        """The oldest frame newer than the last one returned, as view() gives it, or None."""
    @overload
    def view_next(self, with_info: Literal[True]) -> Optional[Tuple[FrameArrays, FrameInfo]]: ...
    def wait(self, timeout: Optional[float] = None) -> bool:
        """Waits for a frame newer than the last one returned: True when there is one, False
        after timeout seconds (None: forever). Releases the GIL; Ctrl-C interrupts it."""
    def frames(
        self,
        timeout: Optional[float] = None,
        view: bool = False,
        with_info: bool = False,
        color_space: str = "RGB",
    ) -> FrameIterator:
        """Every frame in order (read_next(), or view_next() with view=True), waiting for each;
        ends when none came within timeout seconds (None: never)."""

    def __iter__(self) -> Iterator[_U8]:
        """Every frame in order as RGB copies: frames() without a timeout."""

    @property
    def metadata(self) -> Optional[FrameMetadata]:
        """The description of the last frame this reader returned, or None."""

    @property
    def frames_skipped(self) -> int:
        """Frames read_next()/view_next() found overwritten before they could be read."""

    @property
    def writer_alive(self) -> bool:
        """True while the process writing the id is alive."""

    @property
    def id(self) -> str:
        """The id read."""

class SyncReader:
    """Reads several ids in sets of frames that belong together (an equal user-metadata key, or
    capture times within a tolerance), a whole set or none."""

    def __init__(
        self,
        shared_mem_ids: Iterable[str],
        key: Optional[str] = None,
        tolerance: Optional[float] = None,
        pending_per_id: int = 2,
        allow_other_owner: bool = False,
    ) -> None:
        """key: the user-metadata key frames of one set share; without it, capture times
        within tolerance seconds (None: 0.005). pending_per_id frames wait per id for a set."""

    @overload
    def read_set(
        self,
        timeout: Optional[float] = None,
        color_space: str = "RGB",
        with_info: Literal[False] = False,
    ) -> Optional[List[_U8]]:
        """The next set as RGB copies, one per id in their order, or None when none completed
        within timeout seconds (None: forever; 0: only from frames already written)."""
    @overload
    def read_set(
        self, timeout: Optional[float] = None, color_space: str = "RGB", *, with_info: Literal[True]
    ) -> Optional[List[Tuple[_U8, FrameInfo]]]: ...
    @overload
    def view_set(
        self, timeout: Optional[float] = None, with_info: Literal[False] = False
    ) -> Optional[List[FrameArrays]]:
        """As read_set(), with the frames in place as Reader.view() gives them."""
    @overload
    def view_set(
        self, timeout: Optional[float] = None, *, with_info: Literal[True]
    ) -> Optional[List[Tuple[FrameArrays, FrameInfo]]]: ...
    @property
    def frames_unmatched(self) -> int:
        """Frames passed over because the set they belonged to could not complete."""

    @property
    def closest_spread(self) -> Optional[float]:
        """Why no set came, when matching capture times: seconds between the earliest and
        latest capture time of the closest frames of every id since the last set, or None."""

    @property
    def ids(self) -> List[str]:
        """The ids read, in the order of the sets."""

class Writer:
    """The one writer of an id, for a process that streams frames; a context manager."""

    def __init__(
        self,
        shared_mem_id: str,
        slots: Optional[int] = None,
        camera_id: str = "",
        bit_depth: int = 0,
        lossless: bool = False,
        lossless_timeout: float = 0.0,
        wait_for_readers: int = 0,
        wait_for_readers_timeout: float = 0.0,
    ) -> None:
        """Takes the id (OSError when another writer of it is alive). slots: frames held at
        once, 2 to 64; None chooses from the frame size (more for small frames, see README).
        lossless keeps each frame until every reader of every frame took it, for at most
        lossless_timeout seconds per reader that fell behind (0: as long as it lives).
        wait_for_readers: the first frame waits until that many readers of every frame are
        attached, for at most wait_for_readers_timeout seconds."""
    def write(
        self,
        image_array: Union[_U8, npt.NDArray[np.uint16]],
        color_space: Optional[str] = None,
        metadata: Optional[UserMetadata] = None,
        timestamp_ns: Optional[int] = None,
    ) -> Optional[int]:
        """Stores one frame (uint8 (H,W,3), (H,W), uint16 (H,W) as GRAY16_LE) as the newest;
        returns its sequence number, or None when readers held every slot and it was dropped.
        timestamp_ns: its CLOCK_REALTIME capture time (None: now)."""

    @property
    def stats(self) -> WriterStats:
        """Counters of the id: frames written, dropped, bytes, lossless drops."""

    def cancel_wait(self) -> None:
        """Makes a write() waiting for lossless readers give up now (that frame is dropped);
        from any thread."""

    def close(self) -> None:
        """Gives up the id; the segment and its last frame stay readable."""

    @property
    def closed(self) -> bool:
        """True after close()."""

    @property
    def id(self) -> str:
        """The id written."""

    def __enter__(self) -> Writer: ...
    def __exit__(self, *exc_info: object) -> Literal[False]:
        """close()."""
