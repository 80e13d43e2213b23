"""Decoding a PNG with the standard library alone (zlib + struct), for tests of drawn images:
the signature, the IHDR size, and the pixels unfiltered row by row (PNG filters 0-4)."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # colour type -> samples per pixel


@dataclass(frozen=True)
class Png:
    width: int
    height: int
    rows: list[bytes]  # unfiltered scanlines


def decode(data: bytes) -> Png:
    """The scanlines of an 8-bit, non-interlaced PNG; AssertionError for anything else."""
    assert data[:8] == SIGNATURE, "not a PNG signature"
    pos, header, idat = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        assert zlib.crc32(kind + body) == struct.unpack(">I", data[pos + 8 + length:
                                                                  pos + 12 + length])[0]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and interlace == 0, (depth, interlace)
    bpp = _CHANNELS[colour]
    raw = zlib.decompress(idat)
    stride = width * bpp
    assert len(raw) == height * (stride + 1)
    rows: list[bytes] = []
    prev = bytes(stride)
    for y in range(height):
        line = raw[y * (stride + 1):(y + 1) * (stride + 1)]
        prev = _unfilter(line[0], bytearray(line[1:]), prev, bpp)
        rows.append(prev)
    return Png(width, height, rows)


def _unfilter(kind: int, cur: bytearray, prev: bytes, bpp: int) -> bytes:
    for i in range(len(cur)):
        a = cur[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        if kind == 1:
            cur[i] = (cur[i] + a) & 0xFF
        elif kind == 2:
            cur[i] = (cur[i] + b) & 0xFF
        elif kind == 3:
            cur[i] = (cur[i] + (a + b) // 2) & 0xFF
        elif kind == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            cur[i] = (cur[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
    return bytes(cur)


def distinct_pixels(png: Png, limit: int = 16) -> int:
    """How many different pixel values the image holds (counting stops at ``limit``)."""
    seen: set[bytes] = set()
    bpp = len(png.rows[0]) // png.width
    for row in png.rows:
        for x in range(0, len(row), bpp):
            seen.add(row[x:x + bpp])
            if len(seen) >= limit:
                return len(seen)
    return len(seen)
