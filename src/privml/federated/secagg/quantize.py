"""Fixed-point encoding of float updates into integers mod 2^modulus_bits, and back.

Each coordinate is clipped to ``[-clip, clip]`` and mapped onto the grid
``{0, 1, ..., 2^bits - 1}`` by *stochastic* rounding (up with probability equal to the fractional
part, drawn from the CSPRNG), which makes the encoding unbiased: E[dequantize(q)] = x. The sum
of ``n`` encoded vectors is below ``n * (2^bits - 1)``; it must stay below the modulus
``2^modulus_bits`` so that the masked sum never wraps (:func:`check_headroom`).
"""

from __future__ import annotations

import numpy as np

from privml.federated.secagg.crypto import random_words

_TWO_POW_32 = float(2**32)


def step(clip: float, bits: int) -> float:
    """The grid spacing: ``2 * clip / (2^bits - 1)``."""
    return 2.0 * clip / float(2**bits - 1)


def check_headroom(n: int, bits: int, modulus_bits: int) -> None:
    """Raise ``ValueError`` unless the sum of ``n`` encodings fits below ``2^modulus_bits``."""
    if n * (2**bits - 1) >= 2**modulus_bits:
        raise ValueError(
            f"quant_bits: {n} clients x (2^{bits} - 1) overflows the modulus 2^{modulus_bits}; "
            f"use at most {modulus_bits - max(n - 1, 1).bit_length()} bits"
        )


def quantize(x: np.ndarray, clip: float, bits: int) -> np.ndarray:
    """``x`` clipped to ``[-clip, clip]`` and stochastically rounded to ``uint64`` in
    ``[0, 2^bits - 1]``."""
    if not clip > 0:
        raise ValueError(f"clip_range: must be positive, got {clip}")
    v = np.asarray(x, dtype=np.float64).ravel()
    if not np.all(np.isfinite(v)):
        raise ValueError("vector: contains NaN or infinity")
    scaled = np.clip(v, -clip, clip)
    scaled += clip
    scaled *= 1.0 / step(clip, bits)
    # floor(s + u) with u uniform in [0, 1) rounds s up with probability frac(s)
    scaled += random_words(v.size) * (1.0 / _TWO_POW_32)
    np.floor(scaled, out=scaled)
    return np.clip(scaled, 0, 2**bits - 1).astype(np.uint64)


def dequantize_sum(total: np.ndarray, count: int, clip: float, bits: int) -> np.ndarray:
    """The float sum of ``count`` inputs whose encodings sum to ``total``."""
    return np.asarray(total, dtype=np.float64) * step(clip, bits) - count * clip
