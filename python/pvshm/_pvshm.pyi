# SPDX-License-Identifier: LGPL-2.1-or-later
"""Type stubs of the pvshm extension; the docstrings live in the extension itself."""

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

class SegmentError(RuntimeError): ...
class DecodeError(RuntimeError): ...

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
    timestamp_ns: int
    timestamp_ms: int
    monotonic_ns: int
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
) -> Optional[_U8]: ...
def write_image_array_to_shared_memory(
    shared_mem_id: str,
    image_array: _U8,
    color_space: Optional[str] = None,
    metadata: Optional[UserMetadata] = None,
) -> None: ...
def dev_write_image_to_shared_memory(
    shared_mem_id: str, image_bytes: _BytesLike, metadata: Optional[UserMetadata] = None
) -> None: ...
def dev_clear_shared_memory(shared_mem_id: str) -> None: ...
def wait_any(readers: Iterable[Reader], timeout: Optional[float] = None) -> List[Reader]: ...

class FrameIterator(Iterator[Any]):
    def __iter__(self) -> FrameIterator: ...
    def __next__(self) -> Any: ...

class Reader:
    def __init__(
        self, shared_mem_id: str, allow_other_owner: bool = False, spin: float = 0.0
    ) -> None: ...
    @overload
    def read(
        self, color_space: str = "RGB", with_info: Literal[False] = False
    ) -> Optional[_U8]: ...
    @overload
    def read(
        self, color_space: str = "RGB", *, with_info: Literal[True]
    ) -> Optional[Tuple[_U8, FrameInfo]]: ...
    @overload
    def view(self, with_info: Literal[False] = False) -> Optional[FrameArrays]: ...
    @overload
    def view(self, with_info: Literal[True]) -> Optional[Tuple[FrameArrays, FrameInfo]]: ...
    @overload
    def read_next(
        self, color_space: str = "RGB", with_info: Literal[False] = False
    ) -> Optional[_U8]: ...
    @overload
    def read_next(
        self, color_space: str = "RGB", *, with_info: Literal[True]
    ) -> Optional[Tuple[_U8, FrameInfo]]: ...
    @overload
    def view_next(self, with_info: Literal[False] = False) -> Optional[FrameArrays]: ...
    @overload
    def view_next(self, with_info: Literal[True]) -> Optional[Tuple[FrameArrays, FrameInfo]]: ...
    def wait(self, timeout: Optional[float] = None) -> bool: ...
    def frames(
        self,
        timeout: Optional[float] = None,
        view: bool = False,
        with_info: bool = False,
        color_space: str = "RGB",
    ) -> FrameIterator: ...
    def __iter__(self) -> Iterator[_U8]: ...
    @property
    def metadata(self) -> Optional[FrameMetadata]: ...
    @property
    def frames_skipped(self) -> int: ...
    @property
    def writer_alive(self) -> bool: ...
    @property
    def id(self) -> str: ...

class SyncReader:
    def __init__(
        self,
        shared_mem_ids: Iterable[str],
        key: Optional[str] = None,
        tolerance: Optional[float] = None,
        pending_per_id: int = 2,
        allow_other_owner: bool = False,
    ) -> None: ...
    @overload
    def read_set(
        self,
        timeout: Optional[float] = None,
        color_space: str = "RGB",
        with_info: Literal[False] = False,
    ) -> Optional[List[_U8]]: ...
    @overload
    def read_set(
        self, timeout: Optional[float] = None, color_space: str = "RGB", *, with_info: Literal[True]
    ) -> Optional[List[Tuple[_U8, FrameInfo]]]: ...
    @overload
    def view_set(
        self, timeout: Optional[float] = None, with_info: Literal[False] = False
    ) -> Optional[List[FrameArrays]]: ...
    @overload
    def view_set(
        self, timeout: Optional[float] = None, *, with_info: Literal[True]
    ) -> Optional[List[Tuple[FrameArrays, FrameInfo]]]: ...
    @property
    def frames_unmatched(self) -> int: ...
    @property
    def closest_spread(self) -> Optional[float]: ...
    @property
    def ids(self) -> List[str]: ...

class Writer:
    def __init__(
        self,
        shared_mem_id: str,
        slots: int = 4,
        camera_id: str = "",
        bit_depth: int = 0,
        lossless: bool = False,
        lossless_timeout: float = 0.0,
        wait_for_readers: int = 0,
        wait_for_readers_timeout: float = 0.0,
    ) -> None: ...
    def write(
        self,
        image_array: Union[_U8, npt.NDArray[np.uint16]],
        color_space: Optional[str] = None,
        metadata: Optional[UserMetadata] = None,
        timestamp_ns: Optional[int] = None,
    ) -> Optional[int]: ...
    @property
    def stats(self) -> WriterStats: ...
    def cancel_wait(self) -> None: ...
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...
    @property
    def id(self) -> str: ...
    def __enter__(self) -> Writer: ...
    def __exit__(self, *exc_info: object) -> Literal[False]: ...
