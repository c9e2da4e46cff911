"""Calibration: the smallest noise multiplier whose ε upper bound meets a target.

Works for any description built from one noise multiplier (``make_mechanism(σ)``), by bisection
over σ on ``privml.accounting.epsilon``; since every ε there is an upper bound, the returned σ
always meets the target.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from privml.accounting.accountants import epsilon
from privml.accounting.mechanisms import Mechanism
from privml.accounting.results import EpsilonResult


@dataclass(frozen=True)
class Calibration:
    """The smallest noise multiplier found whose ε upper bound meets the target."""

    noise_multiplier: float
    result: EpsilonResult


def calibrate(
    make_mechanism: Callable[[float], Mechanism],
    target_epsilon: float,
    delta: float,
    accountant: str = "tight",
    tolerance: float = 0.01,
    max_noise: float = 1e4,
) -> Calibration:
    """Smallest noise multiplier σ (to ``tolerance`` in ε) with ε(make_mechanism(σ)) ≤ target.

    Bisection over σ; the returned σ always meets the target (its ε is an upper bound ≤ target)
    and ``tolerance`` is absolute, in ε.
    """
    if not (math.isfinite(target_epsilon) and target_epsilon > 0):
        raise ValueError(f"target_epsilon: must be > 0, got {target_epsilon}")

    def eps(sigma: float) -> EpsilonResult:
        return epsilon(make_mechanism(sigma), delta, accountant)

    lo, hi = 0.0, 1.0
    best = eps(hi)
    while best.epsilon > target_epsilon:
        lo, hi = hi, hi * 2
        if hi > max_noise:
            raise ValueError(
                f"target_epsilon: {target_epsilon} is unreachable "
                f"(noise multiplier would exceed {max_noise:g})"
            )
        best = eps(hi)
    while target_epsilon - best.epsilon > tolerance and hi - lo > 1e-4 * hi:
        mid = (lo + hi) / 2
        r = eps(mid)
        if r.epsilon <= target_epsilon:
            hi, best = mid, r
        else:
            lo = mid
    return Calibration(hi, best)
