"""Type stubs of the pvshm extension; the docstrings live in the extension itself."""

from typing import Any, Mapping, Optional, TypedDict, Union

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

class FrameMetadata(TypedDict):
    """Reader.metadata (for annotations only)."""

    width: int
    height: int
    format: str
    sequence: int
    timestamp_ns: int
    monotonic_ns: int
    camera_id: str
    caps: str
    payload_size: int

_BytesLike = Union[bytes, bytearray, memoryview, npt.NDArray[np.uint8]]

def read_image_from_shared_memory(
    shared_mem_id: str, image_meta: Union[ImageMeta, Mapping[str, Any]]
) -> Optional[npt.NDArray[np.uint8]]: ...
def write_image_array_to_shared_memory(
    shared_mem_id: str, image_array: npt.NDArray[np.uint8]
) -> None: ...
def dev_write_image_to_shared_memory(shared_mem_id: str, image_bytes: _BytesLike) -> None: ...
def dev_clear_shared_memory(shared_mem_id: str) -> None: ...

class Reader:
    def __init__(self, shared_mem_id: str, allow_other_owner: bool = False) -> None: ...
    def read(self, color_space: str = "RGB") -> Optional[npt.NDArray[np.uint8]]: ...
    def view(self) -> Optional[npt.NDArray[Union[np.uint8, np.uint16]]]: ...
    def wait(self, timeout: Optional[float] = None) -> bool: ...
    @property
    def metadata(self) -> Optional[FrameMetadata]: ...
    @property
    def writer_alive(self) -> bool: ...
    @property
    def id(self) -> str: ...
