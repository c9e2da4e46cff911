"""The messages of each stage, as plain dataclasses that convert to and from a flat dict.

Dict values are ``bytes``, ``int``, ``float`` or NumPy arrays only, so a Flower driver can put
them in a ``RecordDict`` (arrays in an ``ArrayRecord``, the rest in a ``ConfigRecord``). Client
ids travel as ``uint64`` arrays (Flower node ids are unsigned 64-bit); fixed-size items (public
keys, ciphertexts, shares) are concatenated into one ``bytes`` value. The sender of a message is
not inside it: the transport names it (the server API takes ``{sender id: message}`` maps).

Stage by stage (server -> client messages first):

0. ``SecAggConfig`` (in :mod:`.config`) to every sampled client;
1. client -> ``AdvertiseKeys``; server -> ``PeerKeys`` (the neighbours' public keys);
2. client -> ``ShareKeys`` (AEAD ciphertexts, one per neighbour); server -> ``ForwardedShares``;
3. client -> ``MaskedInput``; server -> ``UnmaskRequest`` (survivor and dropped neighbours);
4. client -> ``UnmaskResponse`` (Shamir shares); the server then has the sum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from privml.federated.secagg.crypto import KEY_BYTES, NONCE_BYTES, TAG_BYTES
from privml.federated.secagg.shamir import SHARE_BYTES

ID_BYTES = 8
SHARE_PLAINTEXT_BYTES = 2 * ID_BYTES + 2 * SHARE_BYTES
CIPHERTEXT_BYTES = NONCE_BYTES + SHARE_PLAINTEXT_BYTES + TAG_BYTES

Payload = dict[str, bytes | int | float | np.ndarray]


def _ids_out(ids: tuple[int, ...]) -> np.ndarray:
    return np.asarray(ids, dtype=np.uint64)


def _ids_in(d: dict, name: str) -> tuple[int, ...]:
    arr = np.asarray(_get(d, name))
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "ui"):
        raise ValueError(f"{name}: expected a 1-d integer array")
    return tuple(int(i) for i in arr.astype(np.uint64))


def _get(d: dict, name: str):
    try:
        return d[name]
    except KeyError:
        raise ValueError(f"{name}: missing from the message") from None


def _chunks(d: dict, name: str, size: int, count: int) -> tuple[bytes, ...]:
    blob = bytes(_get(d, name))
    if len(blob) != size * count:
        raise ValueError(f"{name}: expected {count} x {size} bytes, got {len(blob)}")
    return tuple(blob[i * size : (i + 1) * size] for i in range(count))


@dataclass(frozen=True)
class AdvertiseKeys:
    """Stage 1, client -> server: the two X25519 public keys (channel, masks)."""

    c_pk: bytes
    s_pk: bytes

    def to_dict(self) -> Payload:
        return {"c_pk": self.c_pk, "s_pk": self.s_pk}

    @classmethod
    def from_dict(cls, d: dict) -> AdvertiseKeys:
        c_pk, s_pk = bytes(_get(d, "c_pk")), bytes(_get(d, "s_pk"))
        for name, key in (("c_pk", c_pk), ("s_pk", s_pk)):
            if len(key) != KEY_BYTES:
                raise ValueError(f"{name}: expected {KEY_BYTES} bytes, got {len(key)}")
        return cls(c_pk, s_pk)


@dataclass(frozen=True)
class PeerKeys:
    """Stage 1, server -> client: the public keys of its neighbours that advertised."""

    ids: tuple[int, ...]
    c_pks: tuple[bytes, ...]
    s_pks: tuple[bytes, ...]

    def to_dict(self) -> Payload:
        return {
            "ids": _ids_out(self.ids),
            "c_pks": b"".join(self.c_pks),
            "s_pks": b"".join(self.s_pks),
        }

    @classmethod
    def from_dict(cls, d: dict) -> PeerKeys:
        ids = _ids_in(d, "ids")
        return cls(
            ids, _chunks(d, "c_pks", KEY_BYTES, len(ids)), _chunks(d, "s_pks", KEY_BYTES, len(ids))
        )


@dataclass(frozen=True)
class ShareKeys:
    """Stage 2, client -> server: one AEAD ciphertext of (b share, s_sk share) per neighbour."""

    dest_ids: tuple[int, ...]
    ciphertexts: tuple[bytes, ...]

    def to_dict(self) -> Payload:
        return {"dest_ids": _ids_out(self.dest_ids), "ciphertexts": b"".join(self.ciphertexts)}

    @classmethod
    def from_dict(cls, d: dict) -> ShareKeys:
        ids = _ids_in(d, "dest_ids")
        return cls(ids, _chunks(d, "ciphertexts", CIPHERTEXT_BYTES, len(ids)))


@dataclass(frozen=True)
class ForwardedShares:
    """Stage 2, server -> client: the ciphertexts addressed to it, with their senders."""

    source_ids: tuple[int, ...]
    ciphertexts: tuple[bytes, ...]

    def to_dict(self) -> Payload:
        return {"source_ids": _ids_out(self.source_ids), "ciphertexts": b"".join(self.ciphertexts)}

    @classmethod
    def from_dict(cls, d: dict) -> ForwardedShares:
        ids = _ids_in(d, "source_ids")
        return cls(ids, _chunks(d, "ciphertexts", CIPHERTEXT_BYTES, len(ids)))


@dataclass(frozen=True)
class MaskedInput:
    """Stage 3, client -> server: y = x + PRG(b) + sum of signed PRG(s_uv), mod 2^modulus_bits."""

    masked: np.ndarray

    def to_dict(self) -> Payload:
        return {"masked": self.masked}

    @classmethod
    def from_dict(cls, d: dict) -> MaskedInput:
        masked = np.asarray(_get(d, "masked"))
        if masked.ndim != 1 or masked.dtype not in (np.uint32, np.uint64):
            raise ValueError(f"masked: expected a 1-d uint32/uint64 array, got {masked.dtype}")
        return cls(masked)


@dataclass(frozen=True)
class UnmaskRequest:
    """Stage 3, server -> client: which of its neighbours (and itself) sent a masked input."""

    survivors: tuple[int, ...]
    dropped: tuple[int, ...]

    def to_dict(self) -> Payload:
        return {"survivors": _ids_out(self.survivors), "dropped": _ids_out(self.dropped)}

    @classmethod
    def from_dict(cls, d: dict) -> UnmaskRequest:
        return cls(_ids_in(d, "survivors"), _ids_in(d, "dropped"))


@dataclass(frozen=True)
class UnmaskResponse:
    """Stage 4, client -> server: shares of b_v for surviving v, of s_sk_v for dropped v."""

    b_ids: tuple[int, ...]
    b_shares: tuple[bytes, ...]
    sk_ids: tuple[int, ...]
    sk_shares: tuple[bytes, ...]

    def to_dict(self) -> Payload:
        return {
            "b_ids": _ids_out(self.b_ids),
            "b_shares": b"".join(self.b_shares),
            "sk_ids": _ids_out(self.sk_ids),
            "sk_shares": b"".join(self.sk_shares),
        }

    @classmethod
    def from_dict(cls, d: dict) -> UnmaskResponse:
        b_ids, sk_ids = _ids_in(d, "b_ids"), _ids_in(d, "sk_ids")
        return cls(
            b_ids,
            _chunks(d, "b_shares", SHARE_BYTES, len(b_ids)),
            sk_ids,
            _chunks(d, "sk_shares", SHARE_BYTES, len(sk_ids)),
        )


def payload_bytes(d: Payload) -> int:
    """Payload size of a message dict: bytes and array contents, 8 per number (keys and
    transport framing excluded)."""
    total = 0
    for value in d.values():
        if isinstance(value, np.ndarray):
            total += value.nbytes
        elif isinstance(value, bytes | bytearray):
            total += len(value)
        else:
            total += 8
    return total


__all__ = [
    "AdvertiseKeys",
    "PeerKeys",
    "ShareKeys",
    "ForwardedShares",
    "MaskedInput",
    "UnmaskRequest",
    "UnmaskResponse",
    "payload_bytes",
    "CIPHERTEXT_BYTES",
    "ID_BYTES",
]
