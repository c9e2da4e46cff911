"""The wire format for ciphertexts: a length-prefixed binary frame (no JSON/base64 overhead).

    b"PMHE" | version (u8 = 1) | count (u32 BE) | count x (length (u32 BE) | TenSEAL bytes)

Parsing never trusts a declared length: every length is checked against the bytes left, and
trailing bytes are an error, so a malformed body gives an error naming the part, never a crash.
"""

from __future__ import annotations

import struct

MAGIC = b"PMHE"
VERSION = 1
_HEAD = struct.Struct(">4sBI")
_LEN = struct.Struct(">I")


class FrameError(ValueError):
    """A body that is not a well-formed frame."""


def encode_frame(blobs: list[bytes]) -> bytes:
    """Frame serialized ciphertexts for sending."""
    parts = [_HEAD.pack(MAGIC, VERSION, len(blobs))]
    for blob in blobs:
        parts += [_LEN.pack(len(blob)), blob]
    return b"".join(parts)


def decode_frame(body: bytes, max_count: int) -> list[bytes]:
    """The ciphertext blobs of a frame with at most ``max_count`` of them."""
    if len(body) < _HEAD.size:
        raise FrameError(f"body: {len(body)} bytes is shorter than the {_HEAD.size}-byte header")
    magic, version, count = _HEAD.unpack_from(body)
    if magic != MAGIC:
        raise FrameError(f"body: not a privml HE frame (magic must be {MAGIC!r})")
    if version != VERSION:
        raise FrameError(f"body: frame version must be {VERSION}, got {version}")
    if not 1 <= count <= max_count:
        raise FrameError(f"body: ciphertext count must be in [1, {max_count}], got {count}")
    blobs, pos = [], _HEAD.size
    for i in range(count):
        if pos + _LEN.size > len(body):
            raise FrameError(f"body: ciphertext {i}: length field truncated")
        (n,) = _LEN.unpack_from(body, pos)
        pos += _LEN.size
        if n == 0 or pos + n > len(body):
            raise FrameError(
                f"body: ciphertext {i} declares {n} bytes, {len(body) - pos} remain (or empty)"
            )
        blobs.append(body[pos : pos + n])
        pos += n
    if pos != len(body):
        raise FrameError(f"body: {len(body) - pos} trailing bytes after {count} ciphertexts")
    return blobs
