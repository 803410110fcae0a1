# SPDX-License-Identifier: LGPL-2.1-or-later
"""Camera frames between processes through shared memory.

The seed API reads and writes whole images by id::

    import pvshm
    pvshm.write_image_array_to_shared_memory("cam0", rgb, color_space="RGB", metadata={"n": 1})
    rgb = pvshm.read_image_from_shared_memory("cam0", {"width": 640, "height": 480})

``pvshm.Reader`` streams frames: ``wait()`` for the next one, ``read()`` a normalized RGB copy,
``view()`` the stored bytes in place without a copy, ``read_next()``/``view_next()`` (or
iterating the reader) every frame in order, ``with_info=True`` the facts of the frame returned
(user metadata, age, sequence, ...), ``metadata`` those of the last frame returned.
``pvshm.wait_any(readers)`` waits for whichever of several ids publishes first;
``pvshm.SyncReader(ids, key="trigger")`` reads several ids in sets of frames that belong together
(an equal user-metadata value, or capture times within a ``tolerance``), a whole set or none.
``pvshm.Writer`` is the one writer of an id: 8-bit colour or gray and 16-bit gray frames, user
metadata, capture times, lossless replay.

An id is 1 to 200 characters of ``[A-Za-z0-9._-]`` not starting with ``.``; anything else raises
``ValueError``.
"""

from ._pvshm import (
    DecodeError,
    FrameIterator,
    Reader,
    SegmentError,
    SyncReader,
    Writer,
    __version__,
    dev_clear_shared_memory,
    dev_write_image_to_shared_memory,
    read_image_from_shared_memory,
    wait_any,
    write_image_array_to_shared_memory,
)

__all__ = [
    "DecodeError",
    "FrameIterator",
    "Reader",
    "SegmentError",
    "SyncReader",
    "Writer",
    "__version__",
    "dev_clear_shared_memory",
    "dev_write_image_to_shared_memory",
    "read_image_from_shared_memory",
    "wait_any",
    "write_image_array_to_shared_memory",
]
