"""Noise scales and release thresholds for DP set union and DP n-gram extraction.

Everything here is a closed form from the papers, evaluated carefully in floating point:

- Laplace (Gopi et al. 2020, weighted and policy Laplace): scale b = 1/ε for a histogram of
  L1 sensitivity 1, threshold ρ = max_{1≤t≤Δ0} 1/t + b·ln(1 / (2(1 − (1−δ)^{1/t}))).
- Gaussian (weighted and policy Gaussian): σ from the analytic Gaussian mechanism (Balle & Wang
  2018) at (ε, δ/2) for L2 sensitivity 1, threshold
  ρ = max_{1≤t≤Δ0} 1/√t + σ·Φ⁻¹((1 − δ/2)^{1/t}); the other δ/2 covers items only one user has.
- DP n-gram extraction (Kim et al. 2021), level k ≥ 2: the domain of valid k-grams is public
  (built from released (k−1)-grams), so noise goes on every valid k-gram and the threshold only
  bounds spurious ones: ρ_k = σ·Φ⁻¹(1 − η·min(|S_{k−1}| / |V_k|, 1)).

Terms like 1 − (1−δ)^{1/t} are computed with expm1/log1p and Φ⁻¹ near 1 as −Φ⁻¹(small), so
δ down to 1e-300 keeps full precision.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq
from scipy.special import log_ndtr, ndtr, ndtri


def check_epsilon_delta(epsilon: float, delta: float) -> None:
    """Raise ValueError naming the field unless ε > 0 is finite and 0 < δ < 1."""
    if not (isinstance(epsilon, int | float) and math.isfinite(epsilon) and epsilon > 0):
        raise ValueError(f"epsilon: must be a finite number > 0, got {epsilon!r}")
    if not (isinstance(delta, int | float) and 0 < delta < 1):
        raise ValueError(f"delta: must be in (0, 1), got {delta!r}")


def check_max_per_user(max_per_user: int) -> None:
    if not (isinstance(max_per_user, int) and max_per_user >= 1):
        raise ValueError(f"max_per_user: must be an integer >= 1, got {max_per_user!r}")


def gaussian_delta(sigma: float, epsilon: float, sensitivity: float = 1.0) -> float:
    """Exact δ(ε) of the Gaussian mechanism (Balle & Wang 2018, Theorem 8)."""
    a = sensitivity / (2 * sigma) - epsilon * sigma / sensitivity
    b = -sensitivity / (2 * sigma) - epsilon * sigma / sensitivity
    return float(ndtr(a) - math.exp(epsilon + log_ndtr(b)))


def analytic_gaussian_sigma(epsilon: float, delta: float, sensitivity: float = 1.0) -> float:
    """Smallest σ for which the Gaussian mechanism is (ε, δ)-DP (the analytic calibration).

    δ(σ) falls monotonically in σ, so the root is bracketed and found by Brent's method on
    log σ; the answer is then nudged up until δ(σ) ≤ δ holds exactly in floating point.
    """
    check_epsilon_delta(epsilon, delta)

    def excess(log_sigma: float) -> float:
        return gaussian_delta(math.exp(log_sigma), epsilon, sensitivity) - delta

    lo, hi = math.log(sensitivity) - 12.0, math.log(sensitivity) + 12.0
    while excess(lo) < 0:
        lo -= 12.0
    while excess(hi) > 0:
        hi += 12.0
    sigma = math.exp(brentq(excess, lo, hi, xtol=1e-14, rtol=1e-14))
    while gaussian_delta(sigma, epsilon, sensitivity) > delta:
        sigma *= 1 + 1e-12
    return sigma


def _one_minus_root(p: float, t: np.ndarray) -> np.ndarray:
    """1 − (1 − p)^{1/t}, accurate for tiny p."""
    return -np.expm1(np.log1p(-p) / t)


def laplace_threshold(epsilon: float, delta: float, max_per_user: int) -> float:
    """ρ_Lap for weighted and policy Laplace with L1 budget 1 per user (Gopi et al. 2020)."""
    check_epsilon_delta(epsilon, delta)
    check_max_per_user(max_per_user)
    t = np.arange(1, max_per_user + 1, dtype=np.float64)
    values = 1.0 / t + (1.0 / epsilon) * -np.log(2.0 * _one_minus_root(delta, t))
    return float(values.max())


def gaussian_threshold(sigma: float, delta: float, max_per_user: int) -> float:
    """ρ_Gauss for weighted and policy Gaussian with L2 budget 1 per user (Gopi et al. 2020)."""
    check_max_per_user(max_per_user)
    t = np.arange(1, max_per_user + 1, dtype=np.float64)
    values = 1.0 / np.sqrt(t) - sigma * ndtri(_one_minus_root(delta / 2.0, t))
    return float(values.max())


def ngram_threshold(sigma: float, eta: float, released_prev: int, valid: int) -> float:
    """ρ_k for DPNE level k ≥ 2: expected spurious k-grams ≤ η·|S_{k−1}| (Kim et al. 2021)."""
    if not 0 < eta < 1:
        raise ValueError(f"eta: must be in (0, 1), got {eta!r}")
    if valid <= 0:
        return math.inf
    tail = eta * min(released_prev / valid, 1.0)
    return float(-sigma * ndtri(tail))


def gaussian_tail(threshold: float, sigma: float) -> float:
    """P(N(0, σ²) > threshold): the chance that an item with zero weight is released."""
    return float(ndtr(-threshold / sigma))
