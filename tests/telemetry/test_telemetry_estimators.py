"""Statistical tests: the estimators are unbiased and their variance is the formula's.

Every test is seeded (``SeededSource``), so its outcome is fixed; the tolerances are chosen so
that a correct implementation passes with a wide margin and a wrong formula or a biased
randomizer fails.
"""

import math

import numpy as np
import pytest

from privml.telemetry import (
    SeededSource,
    SimulationConfig,
    estimate_histogram,
    estimate_mean,
    histogram_variance,
    mean_error_bound,
    mean_variance,
    mean_variance_bound,
    randomize_histogram,
    randomize_mean,
    simulate,
)
from privml.telemetry.simulate import summary

M = 100.0


def _values(n: int, seed: int) -> np.ndarray:
    return M * SeededSource(seed).random(n) ** 2  # skewed, mean m/3


def _buckets(n: int, k: int, seed: int) -> np.ndarray:
    return np.minimum((SeededSource(seed).random(n) ** 2 * k).astype(int), k - 1)


def _mean_errors(x, repeats, eps, s=None, gamma=0.0, seed=1):
    rng = SeededSource(seed)
    bits = randomize_mean(np.broadcast_to(x, (repeats, x.size)), eps, M, s=s, gamma=gamma, rng=rng)
    return estimate_mean(bits, eps, M, gamma) - x.mean()


@pytest.mark.parametrize(("s", "gamma"), [(None, 0.0), (8, 0.0), (1, 0.0), (8, 0.1)])
def test_one_bit_mean_is_unbiased(s, gamma):
    # 200 repetitions x 2,000 clients: the mean error has standard error sqrt(Var / 200), with
    # Var the exact formula (SE about 0.2 here); an unbiased estimator stays within 4 of them.
    # Rounding always down instead of at α would bias it by about m/(2s) >= 6, 40 SE.
    x = _values(2000, seed=7)
    eps = 1.0
    err = _mean_errors(x, 200, eps, s=s, gamma=gamma)
    se = math.sqrt(mean_variance(x, eps, M, gamma) / 200)
    assert abs(err.mean()) < 4 * se


def test_dbitflip_is_unbiased():
    # 200 repetitions x 2,000 clients, k = 8, d = 2: every bucket's mean error within 4
    # standard errors (8 buckets at 4 SE: a correct estimator fails this with p < 1e-3).
    k, d, eps = 8, 2, 1.0
    v = _buckets(2000, k, seed=8)
    buckets, bits = randomize_histogram(
        np.broadcast_to(v, (200, v.size)), k, d, eps, SeededSource(2)
    )
    err = estimate_histogram(buckets, bits, k, eps) - np.bincount(v, minlength=k) / v.size
    se = np.sqrt(histogram_variance(v, k, d, eps) / 200)
    assert np.all(np.abs(err.mean(axis=0)) < 4 * se)


# Variance tests. Each repeat's error e is a sum of >= 500 independent bounded terms, so it is
# close to normal, and mean(e^2) over R repeats estimates Var with relative standard deviation
# sqrt(2 / R). With R = 4,000 that is 2.2%, so a 10% tolerance is 4.5 standard deviations away
# for a correct formula. Plausible wrong formulas miss by more: here the worst-case bound is
# +11% (1BitMean), leaving out γ's 1/(1-2γ)^2 is +56%, and dBitFlip with the paper's
# worst-case bit variance (e^{ε/2}+1)^2/(4(e^{ε/2}-1)^2) instead of the exact one is +27%.
VAR_REPEATS = 4000


@pytest.mark.parametrize(("s", "gamma"), [(None, 0.0), (8, 0.0), (8, 0.1)])
def test_one_bit_mean_variance_matches_formula(s, gamma):
    x = _values(1000, seed=3)
    eps = 1.0
    err = _mean_errors(x, VAR_REPEATS, eps, s=s, gamma=gamma, seed=4)
    ratio = np.mean(err**2) / mean_variance(x, eps, M, gamma)
    assert abs(ratio - 1) < 0.10, ratio


def test_dbitflip_variance_matches_formula():
    # Pooled over the k buckets (which only lowers the noise below the 2.2% above).
    k, d, eps = 8, 2, 2.0
    v = _buckets(500, k, seed=5)
    buckets, bits = randomize_histogram(
        np.broadcast_to(v, (VAR_REPEATS, v.size)), k, d, eps, SeededSource(6)
    )
    err = estimate_histogram(buckets, bits, k, eps) - np.bincount(v, minlength=k) / v.size
    ratio = np.mean(err**2, axis=0).sum() / histogram_variance(v, k, d, eps).sum()
    assert abs(ratio - 1) < 0.10, ratio


def test_variance_closed_form_and_bounds():
    x = _values(300, seed=9)
    n, a = x.size, x / M
    for eps in (0.1, 1.0, 5.0):
        closed = M**2 / (4 * n * math.sinh(eps / 2) ** 2) + M**2 / n**2 * np.sum(a * (1 - a))
        assert mean_variance(x, eps, M) == pytest.approx(closed, rel=1e-9)
        assert mean_variance(x, eps, M) <= mean_variance_bound(n, eps, M)
    # The paper's Hoeffding bound at beta = 0.01 holds in (far) more than 99% of 4,000 runs.
    errs = _mean_errors(x, 4000, 1.0, s=4, seed=10)
    assert np.mean(np.abs(errs) > mean_error_bound(n, 1.0, M, 0.01)) < 0.01


def test_error_falls_with_epsilon_and_clients_and_matches_theory():
    # The acceptance check: through the simulation, observed RMSE falls strictly as ε grows
    # (for each N) and as N grows (for each ε), and is within 10% of the theoretical std in
    # every cell. With R = 1,000 repeats the RMSE/std ratio has standard deviation about
    # 1/sqrt(2R) = 2.2%, so 10% is 4.5 standard deviations; neighbouring cells differ by 30%
    # or more in theory (ε doubles; N grows 10x), so the ordering is far outside the noise.
    config = SimulationConfig(
        clients=(300, 3000), epsilons=(0.5, 1.0, 2.0, 4.0), repeats=1000, seed=11, k=8, d=2
    )
    rows = simulate(config)
    assert len(rows) == 2 * 2 * 4
    result = summary(rows)
    assert result["error_falls_with_epsilon"] and result["error_falls_with_clients"]
    assert all(abs(r.ratio - 1) < 0.10 for r in rows), [(r.mechanism, r.ratio) for r in rows]
    assert all(r.theory_std <= r.worst_case_std * (1 + 1e-12) for r in rows)
