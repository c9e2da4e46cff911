"""Cryptographically secure randomness for DP-SGD's noise and Poisson sampling (torch).

DP-SGD's guarantee assumes the noise and the batch selection are unpredictable. Opacus's
``secure_mode`` needs torchcsprng, which no longer builds for current PyTorch, so privml draws
from the operating system's CSPRNG through :mod:`privml.csprng` (Box-Muller in float64, each
Gaussian the scaled sum of two draws as in Opacus's secure mode).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from privml.csprng import (  # noqa: F401  (re-exported for DP-SGD callers)
    secure_laplace,
    secure_standard_normal,
    secure_uniform,
)


def secure_normal(
    shape: tuple[int, ...] | torch.Size, std: float, dtype=torch.float32
) -> torch.Tensor:
    """Gaussian noise N(0, std^2) of ``shape`` from the OS CSPRNG."""
    n = int(np.prod(shape)) if len(shape) else 1
    z = secure_standard_normal(n)
    return torch.from_numpy(z * std).to(dtype).reshape(shape)


def secure_poisson_batches(n: int, sampling_rate: float, steps: int) -> Iterator[list[int]]:
    """``steps`` Poisson-sampled batches: each index is in each batch independently w.p. q."""
    if not 0 < sampling_rate <= 1:
        raise ValueError(f"sampling_rate: must be in (0, 1], got {sampling_rate}")
    for _ in range(steps):
        yield np.nonzero(secure_uniform(n) < sampling_rate)[0].tolist()
