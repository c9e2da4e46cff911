"""DP-SGD shortcuts: epsilon and noise calibration for Poisson-subsampled Gaussian steps.

Thin wrappers over ``privml.accounting.accountants`` kept for the pipeline and the CLI. The
default accountant is "prv" (Opacus's PRV), as the pipeline reports it; every result is an
upper bound, and if PRV fails or a looser method is tighter the result names the bound used.
"""

from __future__ import annotations

import functools

from privml.accounting.accountants import ACCOUNTANTS, epsilon
from privml.accounting.calibration import Calibration, calibrate
from privml.accounting.mechanisms import dp_sgd
from privml.accounting.results import EpsilonResult

__all__ = [
    "ACCOUNTANTS",
    "EpsilonResult",
    "calibrate_noise",
    "calibration_payload",
    "check_dp_sgd",
    "dp_sgd_epsilon",
    "epsilon_payload",
]


def check_dp_sgd(noise_multiplier: float, sampling_rate: float, steps: int, delta: float) -> None:
    """Raise ``ValueError`` naming the first invalid field."""
    if not noise_multiplier > 0:
        raise ValueError(f"noise_multiplier: must be > 0, got {noise_multiplier}")
    if not 0 < sampling_rate <= 1:
        raise ValueError(f"sampling_rate: must be in (0, 1], got {sampling_rate}")
    if not (int(steps) == steps and steps >= 1):
        raise ValueError(f"steps: must be an integer >= 1, got {steps}")
    if not 0 < delta < 1:
        raise ValueError(f"delta: must be in (0, 1), got {delta}")


def _check_accountant(accountant: str) -> None:
    if accountant not in ACCOUNTANTS:
        raise ValueError(f"accountant: must be one of {ACCOUNTANTS}, got {accountant!r}")


def dp_sgd_epsilon(
    noise_multiplier: float,
    sampling_rate: float,
    steps: int,
    delta: float,
    accountant: str = "prv",
) -> EpsilonResult:
    """Upper bound on epsilon after ``steps`` Poisson-subsampled Gaussian steps."""
    check_dp_sgd(noise_multiplier, sampling_rate, steps, delta)
    _check_accountant(accountant)
    return _epsilon(float(noise_multiplier), float(sampling_rate), int(steps), delta, accountant)


# Accounting is pure and costs seconds (PRV); runs that train many models with one recipe
# (reference models, audits, property-inference shadows) ask the same question repeatedly.
@functools.lru_cache(maxsize=256)
def _epsilon(
    noise_multiplier: float, sampling_rate: float, steps: int, delta: float, accountant: str
) -> EpsilonResult:
    return epsilon(dp_sgd(noise_multiplier, sampling_rate, steps), delta, accountant)


@functools.lru_cache(maxsize=256)
def _calibrated(
    target_epsilon: float,
    sampling_rate: float,
    steps: int,
    delta: float,
    accountant: str,
    tolerance: float,
) -> Calibration:
    if not target_epsilon > 0:
        raise ValueError(f"target_epsilon: must be > 0, got {target_epsilon}")
    check_dp_sgd(1.0, sampling_rate, steps, delta)
    _check_accountant(accountant)
    return calibrate(
        lambda s: dp_sgd(s, float(sampling_rate), int(steps)),
        target_epsilon,
        delta,
        accountant,
        tolerance,
    )


def calibrate_noise(
    target_epsilon: float,
    sampling_rate: float,
    steps: int,
    delta: float,
    accountant: str = "prv",
    tolerance: float = 0.01,
) -> float:
    """Smallest noise multiplier (to ``tolerance`` in epsilon) whose epsilon is <= target."""
    return _calibrated(
        target_epsilon, sampling_rate, steps, delta, accountant, tolerance
    ).noise_multiplier


def _fields(r: EpsilonResult) -> dict[str, float | str]:
    """The CLI's view of a result: epsilon, delta, accountant, bound, and a note if any."""
    out: dict[str, float | str] = {
        "epsilon": r.epsilon,
        "delta": r.delta,
        "accountant": r.accountant,
        "bound": r.bound,
    }
    if r.note:
        out["note"] = r.note
    return out


def epsilon_payload(
    noise_multiplier: float,
    sampling_rate: float,
    steps: int,
    delta: float,
    accountant: str = "prv",
) -> dict[str, float | str]:
    """What ``privml accountant epsilon`` prints: epsilon, delta, accountant, bound (+ note)."""
    return _fields(dp_sgd_epsilon(noise_multiplier, sampling_rate, steps, delta, accountant))


def calibration_payload(
    target_epsilon: float,
    sampling_rate: float,
    steps: int,
    delta: float,
    accountant: str = "prv",
) -> dict[str, float | str]:
    """What ``privml accountant calibrate`` prints: noise_multiplier, epsilon (an upper bound).

    The ε is the calibration's own figure at the returned σ, not a second computation.
    """
    found = _calibrated(target_epsilon, sampling_rate, steps, delta, accountant, 0.01)
    return {"noise_multiplier": found.noise_multiplier, **_fields(found.result)}
