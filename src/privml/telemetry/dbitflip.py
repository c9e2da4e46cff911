"""dBitFlip histograms with memoization (Ding, Kulkarni & Yekhanin, NeurIPS 2017).

The value is a bucket v in [0, k). Each client samples d distinct buckets S uniformly, once
and independently of its value, and for each j in S sends a bit that is 1 with probability

    e^{ε/2}/(e^{ε/2} + 1) = (1 + t)/2 if v = j,   1/(e^{ε/2} + 1) = (1 - t)/2 otherwise,

with t = tanh(ε/4). Changing v changes the distribution of at most two of the d bits, each by a
factor of at most e^{ε/2}, so a report is ε-LDP; S itself says nothing about v.

Memoization: the report's distribution depends on v only through which sampled bucket (if any)
holds v, so a client needs just d + 1 precomputed responses, one for "v is S[i]" for each i and
one for "v is not in S". Values outside S all give the same report, so moving among them
reveals nothing; each of the d + 1 responses revealed costs at most ε.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from privml.telemetry.randomness import RandomSource, sample_without_replacement, uniforms
from privml.telemetry.validation import check_buckets, check_epsilon, check_int

MECHANISM = "dbitflip"
FORMAT_VERSION = 1


def check_k_d(k: Any, d: Any) -> tuple[int, int]:
    """k >= 1 buckets and 1 <= d <= k sampled buckets."""
    k = check_int(k, "k", 1)
    return k, check_int(d, "d", 1, k)


def bit_probabilities(epsilon: float) -> tuple[float, float]:
    """(P(1) for the bucket holding the value, P(1) for any other sampled bucket)."""
    t = math.tanh(epsilon / 4)
    return (1 + t) / 2, (1 - t) / 2


def randomize_histogram(
    values: Any, k: int, d: int, epsilon: float, rng: RandomSource | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """First reports of a fresh population holding buckets ``values`` (any shape), vectorized.

    Returns (sampled buckets, bits), each of shape ``values.shape + (d,)``; same distribution
    as one ``DBitFlipClient`` per value reporting once.
    """
    epsilon = check_epsilon(epsilon)
    k, d = check_k_d(k, d)
    values = check_buckets(values, k)
    sampled = sample_without_replacement(rng, values.shape, k, d)
    hot, cold = bit_probabilities(epsilon)
    prob = np.where(sampled == values[..., None], hot, cold)
    return sampled, (uniforms(rng, sampled.shape) < prob).astype(np.int8)


@dataclass(frozen=True)
class DBitFlipReport:
    """What the server receives: the client's d sampled buckets and one bit for each."""

    buckets: tuple[int, ...]
    bits: tuple[int, ...]


@dataclass
class DBitFlipClient:
    """One device's memoized dBitFlip state: ε, k, d, its sampled buckets and d + 1 responses.

    ``memo[i]`` (i < d) is the response when the value is ``buckets[i]``; ``memo[d]`` when the
    value is in no sampled bucket. Build with ``create``; persist with ``to_dict``/``from_dict``.
    """

    epsilon: float
    k: int
    d: int
    buckets: list[int]
    memo: list[list[int]]

    def __post_init__(self) -> None:
        self.epsilon = check_epsilon(self.epsilon)
        self.k, self.d = check_k_d(self.k, self.d)
        buckets = check_buckets(list(self.buckets), self.k, "buckets")
        if buckets.shape != (self.d,) or len(set(buckets.tolist())) != self.d:
            raise ValueError(f"buckets: must be {self.d} distinct buckets, got {self.buckets!r}")
        self.buckets = buckets.tolist()
        ok = len(self.memo) == self.d + 1 and all(
            len(r) == self.d and all(b in (0, 1) for b in r) for r in self.memo
        )
        if not ok:
            raise ValueError(f"memo: must be {self.d + 1} responses of {self.d} bits each")
        self.memo = [[int(b) for b in r] for r in self.memo]

    @classmethod
    def create(
        cls, epsilon: float, k: int, d: int, rng: RandomSource | None = None
    ) -> DBitFlipClient:
        """Sample d buckets and precompute the d + 1 responses from ``rng`` (secure if None)."""
        epsilon = check_epsilon(epsilon)
        k, d = check_k_d(k, d)
        buckets = sample_without_replacement(rng, (), k, d)
        hot, cold = bit_probabilities(epsilon)
        prob = np.where(np.eye(d + 1, d, dtype=bool), hot, cold)  # row d: no hot bucket
        memo = (uniforms(rng, prob.shape) < prob).astype(int).tolist()
        return cls(epsilon, k, d, buckets.tolist(), memo)

    def memo_key(self, value: int) -> int:
        """Index of the memoized response for ``value``: its position in S, or d if not in S."""
        v = int(check_buckets(value, self.k, "value"))
        return self.buckets.index(v) if v in self.buckets else self.d

    def report(self, value: int) -> DBitFlipReport:
        """The memoized response for ``value`` (identical every time for the same key)."""
        return DBitFlipReport(tuple(self.buckets), tuple(self.memo[self.memo_key(value)]))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready state; keep it private to the device (it contains the memoized bits)."""
        return {
            "mechanism": MECHANISM,
            "version": FORMAT_VERSION,
            "epsilon": self.epsilon,
            "k": self.k,
            "d": self.d,
            "buckets": list(self.buckets),
            "memo": [list(r) for r in self.memo],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DBitFlipClient:
        """Restore a client saved by ``to_dict``; refuses other mechanisms or versions."""
        if data.get("mechanism") != MECHANISM or data.get("version") != FORMAT_VERSION:
            raise ValueError(
                f"state: expected mechanism {MECHANISM!r} version {FORMAT_VERSION}, got "
                f"{data.get('mechanism')!r} version {data.get('version')!r}"
            )
        try:
            memo = [list(r) for r in data["memo"]]
            return cls(data["epsilon"], data["k"], data["d"], list(data["buckets"]), memo)
        except KeyError as exc:
            raise ValueError(f"state: missing field {exc.args[0]!r}") from None
        except TypeError as exc:
            raise ValueError(f"state: malformed ({exc})") from None
