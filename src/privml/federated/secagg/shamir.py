"""Shamir secret sharing of 32-byte secrets over the prime field of the Mersenne prime 2^521 - 1.

Secure aggregation shares each client's self-mask seed and mask private key (32 bytes each)
among its neighbours so that any ``threshold`` of them can rebuild it and fewer learn nothing
(Shamir 1979). The field is larger than 2^256, so every 32-byte value is a field element; the
polynomial's coefficients come from :mod:`secrets`. Share *x*-coordinates are small positive
integers (the holder's position in the sampled cohort, plus one); a share is its *y* value,
``SHARE_BYTES`` bytes big-endian.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from functools import lru_cache

PRIME = 2**521 - 1
SHARE_BYTES = 66  # ceil(521 / 8)
SECRET_BYTES = 32


def split(secret: bytes, threshold: int, xs: Sequence[int]) -> list[bytes]:
    """Shares of ``secret`` (32 bytes) at the points ``xs``: any ``threshold`` rebuild it."""
    if len(secret) != SECRET_BYTES:
        raise ValueError(f"secret: expected {SECRET_BYTES} bytes, got {len(secret)}")
    if not 1 <= threshold <= len(xs):
        raise ValueError(
            f"threshold: must be in 1..{len(xs)} (the number of shares), got {threshold}"
        )
    if len(set(xs)) != len(xs) or any(not 0 < x < PRIME for x in xs):
        raise ValueError("xs: share points must be distinct and in 1..p-1")
    coeffs = [int.from_bytes(secret, "big")] + [
        secrets.randbelow(PRIME) for _ in range(threshold - 1)
    ]
    shares = []
    for x in xs:
        y = 0
        for c in reversed(coeffs):  # Horner; x is small, so y * x is cheap
            y = (y * x + c) % PRIME
        shares.append(y.to_bytes(SHARE_BYTES, "big"))
    return shares


@lru_cache(maxsize=256)
def _lagrange_at_zero(xs: tuple[int, ...]) -> tuple[int, ...]:
    """Lagrange basis coefficients at 0 for the points ``xs`` (cached: with a complete graph every
    secret is rebuilt from the same holders, so one computation serves the whole round)."""
    nums, dens = [], []
    for i, xi in enumerate(xs):
        num, den = 1, 1
        for j, xj in enumerate(xs):
            if j != i:
                num *= xj
                den *= xj - xi
        nums.append(num % PRIME)
        dens.append(den % PRIME)
    # one modular inversion for all denominators (Montgomery's trick)
    prefix = [1]
    for d in dens:
        prefix.append(prefix[-1] * d % PRIME)
    inv = pow(prefix[-1], -1, PRIME)
    coeffs = [0] * len(xs)
    for i in range(len(xs) - 1, -1, -1):
        coeffs[i] = nums[i] * inv * prefix[i] % PRIME
        inv = inv * dens[i] % PRIME
    return tuple(coeffs)


def combine(shares: Sequence[tuple[int, bytes]], threshold: int) -> bytes:
    """The 32-byte secret from ``(x, share)`` pairs; uses the first ``threshold`` of them.

    Raises ``ValueError`` with fewer than ``threshold`` shares (fewer carry no information about
    the secret) or when the interpolated value is not a 32-byte secret (inconsistent shares).
    """
    if len(shares) < threshold:
        raise ValueError(f"shares: need {threshold} to reconstruct, got {len(shares)}")
    used = sorted(shares[:threshold])
    xs = tuple(x for x, _ in used)
    if len(set(xs)) != len(xs):
        raise ValueError("shares: duplicate x-coordinates")
    for _, y in used:
        if len(y) != SHARE_BYTES:
            raise ValueError(f"shares: each share must be {SHARE_BYTES} bytes, got {len(y)}")
    coeffs = _lagrange_at_zero(xs)
    value = sum(c * int.from_bytes(y, "big") for c, (_, y) in zip(coeffs, used, strict=True))
    value %= PRIME
    if value >= 1 << (8 * SECRET_BYTES):
        raise ValueError("shares: inconsistent, the interpolated value is not a 32-byte secret")
    return value.to_bytes(SECRET_BYTES, "big")
