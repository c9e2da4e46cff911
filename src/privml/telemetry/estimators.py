"""Server-side unbiased estimators for 1BitMean and dBitFlip, with their exact variances.

1BitMean (t = tanh(ε/2), so (e^ε+1)/(e^ε-1) = 1/t). A report b (after undoing output
perturbation γ: b' = (b - γ)/(1 - 2γ)) gives y = m·(b' - (1-t)/2)/t, and E[y] = x because
E[b'] = p(x) = (1-t)/2 + t·x/m. The mean estimate is μ̂ = (1/n) Σ y_i. Every client's bit is
Bernoulli(q_i) with q_i = γ + (1-2γ)·p(x_i), **also with α-point rounding**: p is linear, so
averaging over α gives P(b=1) = p(E[x̃]) = p(x). Hence, exactly,

    Var(μ̂) = m² / (n² t² (1-2γ)²) · Σ_i q_i (1 - q_i)            (mean_variance)
           ≤ m² / (4 n t² (1-2γ)²)                                   (mean_variance_bound)

(rounding adds Var(x̃) = (m/s)²·f(1-f) but takes the same amount out of the bit's conditional
variance, by the law of total variance). With γ = 0 and a_i = x_i/m this is

    Var(μ̂) = m² / (4 n sinh²(ε/2)) + (m²/n²) · Σ_i a_i (1 - a_i),

strictly falling in ε and in n, down to the floor of a single bit even at ε = ∞. Hoeffding on
y_i ∈ [-m(1-t)/(2t), m(1+t)/(2t)] (range m/t) gives the paper's bound (mean_error_bound)

    |μ̂ - μ| ≤ m/√(2n) · (e^ε+1)/(e^ε-1) · √(log(2/β))   with probability ≥ 1 - β.

dBitFlip (t = tanh(ε/4), so (e^{ε/2}+1)/(e^{ε/2}-1) = 1/t). For bucket v, each client that
sampled v contributes z = (b - (1-t)/2)/t, with E[z] = 1[x_i = v]; v is sampled w.p. d/k, so

    ĥ(v) = k/(n d) · Σ_{i: v ∈ S_i} z_i,   E[ĥ(v)] = f_v (the fraction of clients in v).

Per client w = 1[v ∈ S]·z has E[w] = (d/k)·1[x=v] and E[w²] = (d/k)(σ² + 1[x=v]) with
σ² = Var(z) = (1-t²)/(4t²) = e^{ε/2}/(e^{ε/2}-1)² for either bit, so, exactly,

    Var(ĥ(v)) = k σ² / (n d) + f_v (k/d - 1) / n                     (histogram_variance)
              ≤ k σ² / (n d) + (k/d - 1) / n                         (histogram_variance_bound)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from privml.telemetry.dbitflip import check_k_d
from privml.telemetry.one_bit_mean import one_bit_probability
from privml.telemetry.validation import (
    check_bits,
    check_buckets,
    check_epsilon,
    check_gamma,
    check_int,
    check_m,
    check_values,
)


def _check_n(n: Any) -> int:
    return check_int(n, "n (clients)", 1)


def estimate_mean(bits: Any, epsilon: float, m: float, gamma: float = 0.0) -> np.ndarray:
    """Unbiased mean of the clients' values from their 1BitMean bits (over the last axis)."""
    epsilon, m, gamma = check_epsilon(epsilon), check_m(m), check_gamma(gamma)
    b = check_bits(bits)
    if b.ndim == 0 or b.shape[-1] == 0:
        raise ValueError("bits: need at least one report (n (clients) must be >= 1)")
    t = math.tanh(epsilon / 2)
    unflipped = (b.mean(axis=-1) - gamma) / (1 - 2 * gamma)
    return m * (unflipped - (1 - t) / 2) / t


def mean_variance(x: Any, epsilon: float, m: float, gamma: float = 0.0) -> float:
    """Exact Var(μ̂) given the true values x (with or without α-point rounding)."""
    epsilon, m, gamma = check_epsilon(epsilon), check_m(m), check_gamma(gamma)
    x = check_values(np.ravel(x), m)
    n = _check_n(x.size)
    q = gamma + (1 - 2 * gamma) * one_bit_probability(x, epsilon, m)
    t = math.tanh(epsilon / 2)
    return float(m**2 * np.sum(q * (1 - q)) / (n**2 * t**2 * (1 - 2 * gamma) ** 2))


def mean_variance_bound(n: int, epsilon: float, m: float, gamma: float = 0.0) -> float:
    """Worst case of ``mean_variance`` over all values: m² / (4 n t² (1-2γ)²)."""
    n, epsilon, m = _check_n(n), check_epsilon(epsilon), check_m(m)
    gamma = check_gamma(gamma)
    return m**2 / (4 * n * math.tanh(epsilon / 2) ** 2 * (1 - 2 * gamma) ** 2)


def mean_error_bound(n: int, epsilon: float, m: float, beta: float, gamma: float = 0.0) -> float:
    """Hoeffding: |μ̂ - μ| is at most this with probability >= 1 - β."""
    n, epsilon, m = _check_n(n), check_epsilon(epsilon), check_m(m)
    gamma = check_gamma(gamma)
    if not 0 < beta < 1:
        raise ValueError(f"beta: must be in (0, 1), got {beta!r}")
    spread = m / (math.tanh(epsilon / 2) * (1 - 2 * gamma))
    return spread * math.sqrt(math.log(2 / beta) / (2 * n))


def estimate_histogram(buckets: Any, bits: Any, k: int, epsilon: float) -> np.ndarray:
    """Unbiased bucket fractions from dBitFlip reports of shape (..., n, d); returns (..., k)."""
    epsilon = check_epsilon(epsilon)
    b = check_bits(bits)
    if b.ndim < 2 or b.shape[-2] == 0:
        raise ValueError("bits: need reports of shape (..., n, d) with n (clients) >= 1")
    k, d = check_k_d(k, b.shape[-1])
    s = check_buckets(buckets, k, "buckets")
    if s.shape != b.shape:
        raise ValueError(f"buckets: shape {s.shape} does not match bits shape {b.shape}")
    t = math.tanh(epsilon / 4)
    z = (b - (1 - t) / 2) / t
    lead, n = b.shape[:-2], b.shape[-2]
    rows = int(np.prod(lead)) if lead else 1
    offset = (np.arange(rows) * k).reshape(rows, 1, 1)
    flat = (s.reshape(rows, n, d) + offset).ravel()
    sums = np.bincount(flat, weights=z.ravel(), minlength=rows * k).reshape(*lead, k)
    return sums * (k / (n * d))


def _sigma2(epsilon: float) -> float:
    t = math.tanh(epsilon / 4)
    return (1 - t * t) / (4 * t * t)


def histogram_variance(values: Any, k: int, d: int, epsilon: float) -> np.ndarray:
    """Exact Var(ĥ(v)) for every bucket v given the true buckets ``values``: shape (k,)."""
    epsilon = check_epsilon(epsilon)
    k, d = check_k_d(k, d)
    v = check_buckets(np.ravel(values), k, "value")
    n = _check_n(v.size)
    f = np.bincount(v, minlength=k) / n
    return k * _sigma2(epsilon) / (n * d) + f * (k / d - 1) / n


def histogram_variance_bound(n: int, k: int, d: int, epsilon: float) -> float:
    """Worst case of ``histogram_variance`` over buckets and data: k σ²/(n d) + (k/d - 1)/n."""
    n, epsilon = _check_n(n), check_epsilon(epsilon)
    k, d = check_k_d(k, d)
    return k * _sigma2(epsilon) / (n * d) + (k / d - 1) / n
