"""1BitMean with α-point rounding and memoization (Ding, Kulkarni & Yekhanin, NeurIPS 2017).

A client with a value x in [0, m] sends one bit, 1 with probability

    p(x) = 1/(e^ε + 1) + (x/m)·(e^ε - 1)/(e^ε + 1) = (1 - t)/2 + t·x/m,   t = tanh(ε/2),

which is ε-LDP because p lies in [1/(e^ε+1), e^ε/(e^ε+1)] (the tanh form stays finite for
large ε). For repeated collection each client, once,

* picks α uniform in [0, 1) and rounds x to the grid {0, m/s, ..., m}: with u = x·s/m,
  L = ⌊u⌋, x is sent to grid point L + 1 when α < u - L, else to L. Over α the rounded value
  has mean x (the paper draws α from {0, ..., s-1} for integer counters with bucket width s,
  which gives the same rounding probabilities on integers; a continuous α is exactly unbiased
  for real-valued x too);
* precomputes one 1BitMean bit per grid point (s + 1 bits) and always answers with the bit of
  the current rounded value.

So a value that stays put gives the same report forever and costs ε once, however many times
it is collected; a client whose rounded value visits r grid points has revealed r independent
ε-LDP bits (at most r·ε). Optional output perturbation flips the memoized bit with a fresh
probability γ at every report, so a change in the report no longer proves the value changed;
the estimator undoes it (see ``privml.telemetry.estimators``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from privml.telemetry.randomness import RandomSource, uniforms
from privml.telemetry.validation import (
    check_epsilon,
    check_gamma,
    check_int,
    check_m,
    check_values,
)

MECHANISM = "1bitmean"
FORMAT_VERSION = 1


def one_bit_probability(x: Any, epsilon: float, m: float) -> np.ndarray:
    """P(bit = 1) for value(s) x: (1 - t)/2 + t·x/m with t = tanh(ε/2)."""
    t = math.tanh(epsilon / 2)
    return (1 - t) / 2 + t * np.asarray(x, dtype=np.float64) / m


def alpha_round(x: Any, m: float, s: int, alpha: Any) -> np.ndarray:
    """Grid index in {0, ..., s} of x after α-point rounding (up iff α < fractional part)."""
    u = np.asarray(x, dtype=np.float64) * (s / m)
    low = np.minimum(np.floor(u), s)
    return (low + (np.asarray(alpha) < u - low)).astype(np.int64)


def randomize_mean(
    x: Any,
    epsilon: float,
    m: float,
    *,
    s: int | None = None,
    gamma: float = 0.0,
    rng: RandomSource | None = None,
) -> np.ndarray:
    """First reports of a fresh population holding values ``x`` (any shape), vectorized.

    Each position is one new client: with ``s`` it draws its own α and rounds first, exactly
    as ``OneBitMeanClient`` does; ``gamma`` flips each bit with that probability. Same
    distribution as creating one client per value and calling ``report`` once.
    """
    epsilon, m, gamma = check_epsilon(epsilon), check_m(m), check_gamma(gamma)
    x = check_values(x, m)
    if s is not None:
        s = check_int(s, "s", 1)
        x = np.minimum(alpha_round(x, m, s, uniforms(rng, x.shape)) * (m / s), m)
    bits = uniforms(rng, x.shape) < one_bit_probability(x, epsilon, m)
    if gamma > 0:
        bits ^= uniforms(rng, x.shape) < gamma
    return bits.astype(np.int8)


@dataclass
class OneBitMeanClient:
    """One device's memoized 1BitMean state: ε, range m, grid size s, γ, α and s + 1 bits.

    Build with ``create``; ``report(x)`` answers, ``to_dict``/``from_dict`` persist the state
    (it must survive restarts, or a fresh α and fresh bits would spend ε again).
    """

    epsilon: float
    m: float
    s: int
    alpha: float
    memo: list[int]
    gamma: float = 0.0
    rng: RandomSource | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.epsilon = check_epsilon(self.epsilon)
        self.m = check_m(self.m)
        self.s = check_int(self.s, "s", 1)
        self.gamma = check_gamma(self.gamma)
        if not (isinstance(self.alpha, float | int) and 0 <= self.alpha < 1):
            raise ValueError(f"alpha: must be a number in [0, 1), got {self.alpha!r}")
        self.alpha = float(self.alpha)
        if len(self.memo) != self.s + 1 or any(b not in (0, 1) for b in self.memo):
            raise ValueError(f"memo: must be {self.s + 1} bits (0 or 1), got {self.memo!r}")
        self.memo = [int(b) for b in self.memo]

    @classmethod
    def create(
        cls,
        epsilon: float,
        m: float,
        s: int = 16,
        gamma: float = 0.0,
        rng: RandomSource | None = None,
    ) -> OneBitMeanClient:
        """Draw α and one bit per grid point j·m/s (j = 0..s) from ``rng`` (secure if None)."""
        epsilon, m, s = check_epsilon(epsilon), check_m(m), check_int(s, "s", 1)
        alpha = float(uniforms(rng, 1)[0])
        grid = np.minimum(np.arange(s + 1) * (m / s), m)
        bits = uniforms(rng, s + 1) < one_bit_probability(grid, epsilon, m)
        return cls(epsilon, m, s, alpha, bits.astype(int).tolist(), gamma, rng)

    def rounded_index(self, x: float) -> int:
        """The grid index x rounds to with this client's α (deterministic per client)."""
        return int(alpha_round(check_values(x, self.m), self.m, self.s, self.alpha))

    def report(self, x: float) -> int:
        """The memoized bit of x's rounded value, flipped with probability γ if γ > 0."""
        bit = self.memo[self.rounded_index(x)]
        if self.gamma > 0 and uniforms(self.rng, 1)[0] < self.gamma:
            bit ^= 1
        return bit

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready state; keep it private to the device (it contains the memoized bits)."""
        return {
            "mechanism": MECHANISM,
            "version": FORMAT_VERSION,
            "epsilon": self.epsilon,
            "m": self.m,
            "s": self.s,
            "gamma": self.gamma,
            "alpha": self.alpha,
            "memo": list(self.memo),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], rng: RandomSource | None = None) -> OneBitMeanClient:
        """Restore a client saved by ``to_dict``; refuses other mechanisms or versions."""
        if data.get("mechanism") != MECHANISM or data.get("version") != FORMAT_VERSION:
            raise ValueError(
                f"state: expected mechanism {MECHANISM!r} version {FORMAT_VERSION}, got "
                f"{data.get('mechanism')!r} version {data.get('version')!r}"
            )
        try:
            return cls(
                data["epsilon"],
                data["m"],
                data["s"],
                data["alpha"],
                list(data["memo"]),
                data.get("gamma", 0.0),
                rng,
            )
        except KeyError as exc:
            raise ValueError(f"state: missing field {exc.args[0]!r}") from None
        except TypeError as exc:
            raise ValueError(f"state: malformed ({exc})") from None
