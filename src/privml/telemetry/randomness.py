"""Randomness for the telemetry randomizers: the OS CSPRNG by default, a seeded PRNG for tests.

privml's rule is that privacy noise is unpredictable, so every client randomizer draws from
``SecureSource`` (``os.urandom``) unless it is handed another source. ``SeededSource`` exists
only so that tests and simulations of 10^5-10^6 clients are reproducible and fast; a seeded
generator's output is predictable from its seed, so it gives **no privacy** and must never be
used to randomize real users' reports.

Any object with ``random(n) -> ndarray`` of ``n`` floats in [0, 1) works as a source.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from privml.csprng import secure_uniform


class RandomSource(Protocol):
    """Something that returns ``n`` independent uniforms in [0, 1)."""

    def random(self, n: int) -> np.ndarray: ...


class SecureSource:
    """Uniforms with 53 random bits each from os.urandom (:mod:`privml.csprng`)."""

    def random(self, n: int) -> np.ndarray:
        return secure_uniform(int(n))


class SeededSource:
    """A seeded PCG64 stream. **Simulation and tests only**: predictable, so not private."""

    def __init__(self, seed: int | Sequence[int]) -> None:
        self.seed = seed
        self._gen = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed)))

    def random(self, n: int) -> np.ndarray:
        return self._gen.random(int(n))


def uniforms(rng: RandomSource | None, shape: int | tuple[int, ...]) -> np.ndarray:
    """``shape`` uniforms from ``rng`` (the secure source when None)."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    n = int(np.prod(shape)) if shape else 1
    return np.asarray((rng or SecureSource()).random(n), dtype=np.float64).reshape(shape)


def sample_without_replacement(
    rng: RandomSource | None, shape: tuple[int, ...], k: int, d: int
) -> np.ndarray:
    """For each position of ``shape``, ``d`` distinct integers from [0, k), uniformly.

    Floyd's algorithm: for j = k-d, ..., k-1 pick t uniform in [0, j], and take j instead if t
    was already picked. Every d-subset comes out equally likely, at d uniforms per sample
    instead of k. Turning a 53-bit uniform into t has a bias below k / 2^53, unmeasurable.
    """
    u = uniforms(rng, (*shape, d))
    out = np.empty((*shape, d), dtype=np.int64)
    for i, j in enumerate(range(k - d, k)):
        t = np.minimum(np.floor(u[..., i] * (j + 1)).astype(np.int64), j)
        taken = np.zeros(t.shape, dtype=bool)
        for c in range(i):
            taken |= out[..., c] == t
        out[..., i] = np.where(taken, j, t)
    return out
