"""Cryptographically secure randomness for DP noise and Poisson sampling.

DP-SGD's guarantee assumes the noise and the batch selection are unpredictable. Opacus's
``secure_mode`` needs torchcsprng, which no longer builds for current PyTorch, so privml draws
from the operating system's CSPRNG (``os.urandom``) and shapes it with Box-Muller in float64.
Following Opacus's secure mode (Holohan & Braghin 2021), each Gaussian is the scaled sum of two
draws, which hardens it against floating-point attacks on the noise's low bits.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np
import torch

_TWO_POW_53 = float(2**53)


def secure_uniform(n: int) -> np.ndarray:
    """``n`` uniforms in (0, 1) with 53 random bits each, from os.urandom."""
    raw = np.frombuffer(os.urandom(8 * n), dtype=np.uint64) >> np.uint64(11)
    return (raw.astype(np.float64) + 0.5) / _TWO_POW_53


def _standard_normal(n: int) -> np.ndarray:
    m = (n + 1) // 2
    u1, u2 = secure_uniform(m), secure_uniform(m)
    r = np.sqrt(-2.0 * np.log(u1))
    z = np.concatenate([r * np.cos(2 * np.pi * u2), r * np.sin(2 * np.pi * u2)])
    return z[:n]


def secure_normal(
    shape: tuple[int, ...] | torch.Size, std: float, dtype=torch.float32
) -> torch.Tensor:
    """Gaussian noise N(0, std^2) of ``shape`` from the OS CSPRNG."""
    n = int(np.prod(shape)) if len(shape) else 1
    z = (_standard_normal(n) + _standard_normal(n)) / np.sqrt(2.0)
    return torch.from_numpy(z * std).to(dtype).reshape(shape)


def secure_poisson_batches(n: int, sampling_rate: float, steps: int) -> Iterator[list[int]]:
    """``steps`` Poisson-sampled batches: each index is in each batch independently w.p. q."""
    if not 0 < sampling_rate <= 1:
        raise ValueError(f"sampling_rate: must be in (0, 1], got {sampling_rate}")
    for _ in range(steps):
        yield np.nonzero(secure_uniform(n) < sampling_rate)[0].tolist()
