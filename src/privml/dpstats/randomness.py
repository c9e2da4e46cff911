"""One source of randomness for the DP statistics: the OS CSPRNG, or a seeded generator.

Production releases draw everything (noise, user order, item choices, spurious n-grams) from
``os.urandom`` through :mod:`privml.csprng`. A seeded ``numpy.random.Generator`` may
be passed instead so that tests and simulations repeat exactly; it is not cryptographically
secure and must never be used for a release that leaves the machine.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import binom

from privml.csprng import secure_laplace, secure_standard_normal, secure_uniform


class Randomness:
    """Uniforms, normals, Laplaces, permutations and binomials from one source."""

    def __init__(self, rng: np.random.Generator | None = None) -> None:
        self.rng = rng

    @property
    def secure(self) -> bool:
        return self.rng is None

    def uniform(self, n: int) -> np.ndarray:
        """``n`` uniforms in (0, 1)."""
        if self.rng is None:
            return secure_uniform(n)
        return self.rng.random(n)

    def normal(self, n: int) -> np.ndarray:
        if self.rng is None:
            return secure_standard_normal(n)
        return self.rng.standard_normal(n)

    def laplace(self, n: int, scale: float) -> np.ndarray:
        if self.rng is None:
            return secure_laplace(n, scale)
        return self.rng.laplace(0.0, scale, n)

    def permutation(self, n: int) -> np.ndarray:
        """A uniformly random order of range(n) (sorting i.i.d. uniforms)."""
        return np.argsort(self.uniform(n), kind="stable")

    def integers(self, high: int, n: int) -> np.ndarray:
        """``n`` integers uniform in [0, high); exact for high < 2**53."""
        return np.minimum((self.uniform(n) * high).astype(np.int64), high - 1)

    def binomial(self, trials: int, p: float) -> int:
        """One Binomial(trials, p) draw by inverting its CDF at a uniform."""
        if trials <= 0 or p <= 0:
            return 0
        return int(binom.ppf(self.uniform(1)[0], trials, min(p, 1.0)))
