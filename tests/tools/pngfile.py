# SPDX-License-Identifier: LGPL-2.1-or-later
"""Minimal PNG encoding and decoding (8-bit gray or RGB, not interlaced), so that the tests need
nothing beyond the standard library: no numpy, no OpenCV."""

import struct
import zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def encode(width, height, rows):
    """PNG bytes of 8-bit RGB `rows` (height lists of width (r, g, b) tuples)."""

    def chunk(kind, data):
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    raw = b"".join(b"\x00" + bytes(v for pixel in row for v in pixel) for row in rows)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = chunk(b"IDAT", zlib.compress(raw))
    return SIGNATURE + chunk(b"IHDR", header) + idat + chunk(b"IEND", b"")


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def decode(data):
    """(width, height, rows) of an 8-bit gray or RGB PNG; rows hold (r, g, b) tuples."""
    assert data.startswith(SIGNATURE), "not a PNG"
    offset, idat, header = len(SIGNATURE), b"", None
    while offset < len(data):
        (length,) = struct.unpack_from(">I", data, offset)
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        offset += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
    width, height, depth, color_type, _, _, interlace = header
    assert depth == 8 and color_type in (0, 2) and interlace == 0, header
    channels = 3 if color_type == 2 else 1
    stride = width * channels
    raw = zlib.decompress(idat)
    previous = bytearray(stride)
    rows = []
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = previous[i]
            c = previous[i - channels] if i >= channels else 0
            predictor = [0, a, b, (a + b) // 2, _paeth(a, b, c)][kind]
            line[i] = (line[i] + predictor) & 0xFF
        previous = line
        if channels == 3:
            rows.append([tuple(line[x * 3 : x * 3 + 3]) for x in range(width)])
        else:
            rows.append([(v, v, v) for v in line])
    return width, height, rows
