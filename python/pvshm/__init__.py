"""Camera frames between processes through shared memory.

The seed API reads and writes whole images by id::

    import pvshm
    pvshm.write_image_array_to_shared_memory("cam0", rgb)          # numpy (H,W,3) uint8
    rgb = pvshm.read_image_from_shared_memory("cam0", {"width": 640, "height": 480})

``pvshm.Reader`` streams frames: ``wait()`` for the next one, ``read()`` a normalized RGB copy,
``view()`` the stored bytes in place without a copy, ``metadata`` of the last frame.

An id is 1 to 200 characters of ``[A-Za-z0-9._-]`` not starting with ``.``; anything else raises
``ValueError``.
"""

from ._pvshm import (
    DecodeError,
    Reader,
    SegmentError,
    __version__,
    dev_clear_shared_memory,
    dev_write_image_to_shared_memory,
    read_image_from_shared_memory,
    write_image_array_to_shared_memory,
)

__all__ = [
    "DecodeError",
    "Reader",
    "SegmentError",
    "__version__",
    "dev_clear_shared_memory",
    "dev_write_image_to_shared_memory",
    "read_image_from_shared_memory",
    "write_image_array_to_shared_memory",
]
