"""Epsilon of the subsampled Gaussian mechanism composed over DP-SGD steps."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

from opacus.accountants import PRVAccountant, RDPAccountant

ACCOUNTANTS = ("prv", "rdp")
PRV_MAX_EPSILON = 10.0  # above this (by the RDP bound) PRV is skipped


@dataclass(frozen=True)
class EpsilonResult:
    """An upper bound on epsilon at ``delta``; ``accountant`` names the bound actually used."""

    epsilon: float
    delta: float
    accountant: str
    bound: str = "upper"
    note: str = ""


def _check(noise_multiplier: float, sampling_rate: float, steps: int, delta: float) -> None:
    if not noise_multiplier > 0:
        raise ValueError(f"noise_multiplier: must be > 0, got {noise_multiplier}")
    if not 0 < sampling_rate <= 1:
        raise ValueError(f"sampling_rate: must be in (0, 1], got {sampling_rate}")
    if steps < 1:
        raise ValueError(f"steps: must be >= 1, got {steps}")
    if not 0 < delta < 1:
        raise ValueError(f"delta: must be in (0, 1), got {delta}")


def _rdp(noise_multiplier: float, sampling_rate: float, steps: int, delta: float) -> float:
    acc = RDPAccountant()
    acc.history = [(noise_multiplier, sampling_rate, steps)]
    return float(acc.get_epsilon(delta=delta))


def _prv(noise_multiplier: float, sampling_rate: float, steps: int, delta: float) -> float:
    acc = PRVAccountant()
    acc.history = [(noise_multiplier, sampling_rate, steps)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # get_epsilon returns the upper end of PRV's error interval, not the estimate.
        return float(acc.get_epsilon(delta=delta, eps_error=0.01))


def dp_sgd_epsilon(
    noise_multiplier: float,
    sampling_rate: float,
    steps: int,
    delta: float,
    accountant: str = "prv",
) -> EpsilonResult:
    """Upper bound on epsilon after ``steps`` Poisson-subsampled Gaussian steps."""
    _check(noise_multiplier, sampling_rate, steps, delta)
    if accountant not in ACCOUNTANTS:
        raise ValueError(f"accountant: must be one of {ACCOUNTANTS}, got {accountant!r}")
    if accountant == "rdp":
        return EpsilonResult(_rdp(noise_multiplier, sampling_rate, steps, delta), delta, "rdp")
    rdp = _rdp(noise_multiplier, sampling_rate, steps, delta)
    if rdp > PRV_MAX_EPSILON:
        # Known PRV failure region: its grid grows with epsilon until memory runs out.
        note = f"epsilon > {PRV_MAX_EPSILON}: PRV is unreliable here; RDP upper bound used"
        return EpsilonResult(rdp, delta, "rdp", note=note)
    try:
        eps = _prv(noise_multiplier, sampling_rate, steps, delta)
    except Exception as exc:  # PRV's known numerical failures: fall back to a valid bound
        return EpsilonResult(rdp, delta, "rdp", note=f"prv failed ({exc}); RDP upper bound used")
    if not math.isfinite(eps) or eps > rdp:
        # Both are valid upper bounds; report the smaller and say which it was.
        return EpsilonResult(rdp, delta, "rdp", note="RDP bound was tighter than PRV here")
    return EpsilonResult(eps, delta, "prv")


def calibrate_noise(
    target_epsilon: float,
    sampling_rate: float,
    steps: int,
    delta: float,
    accountant: str = "prv",
    tolerance: float = 0.01,
) -> float:
    """Smallest noise multiplier (to ``tolerance`` in epsilon) whose epsilon is <= target."""
    if not target_epsilon > 0:
        raise ValueError(f"target_epsilon: must be > 0, got {target_epsilon}")
    _check(1.0, sampling_rate, steps, delta)

    def eps(sigma: float) -> float:
        return dp_sgd_epsilon(sigma, sampling_rate, steps, delta, accountant).epsilon

    lo, hi = 0.0, 1.0
    while eps(hi) > target_epsilon:
        lo, hi = hi, hi * 2
        if hi > 1e4:
            raise ValueError(
                f"target_epsilon: {target_epsilon} is unreachable with sampling rate "
                f"{sampling_rate} over {steps} steps (noise multiplier would exceed 1e4)"
            )
    while True:
        mid = (lo + hi) / 2
        e = eps(mid)
        if e <= target_epsilon:
            hi = mid
            if target_epsilon - e <= tolerance:
                return hi
        else:
            lo = mid
        if hi - lo < 1e-4:
            return hi
