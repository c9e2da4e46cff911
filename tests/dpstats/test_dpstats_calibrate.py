"""Thresholds and noise scales against values computed by hand from the papers' formulas."""

import math
from statistics import NormalDist

import pytest

from privml.accounting import Composed, EpsilonDelta, Gaussian, epsilon
from privml.dpstats import calibrate
from privml.dpstats.set_union import SetUnionConfig

DELTA = math.exp(-10)
PHI_INV = NormalDist().inv_cdf


def test_laplace_threshold_one_item_per_user_is_the_closed_form():
    # Δ0 = 1: ρ = 1 + (1/ε)·ln(1/(2δ)) = 1 + (10 − ln 2)/3 at ε = 3, δ = e^-10.
    assert calibrate.laplace_threshold(3.0, DELTA, 1) == pytest.approx(
        1 + (10 - math.log(2)) / 3, rel=1e-12
    )


@pytest.mark.parametrize("d0", [2, 3, 10, 100])
def test_laplace_threshold_is_the_max_over_t(d0):
    def f(t):  # by hand, straight from the paper
        return 1 / t + (1 / 3.0) * math.log(1 / (2 * (1 - (1 - DELTA) ** (1 / t))))

    assert calibrate.laplace_threshold(3.0, DELTA, d0) == pytest.approx(
        max(f(t) for t in range(1, d0 + 1)), rel=1e-9
    )


def test_laplace_threshold_grows_like_log_t_for_large_budgets():
    # f(t) ≈ 1/t + (1/ε)·ln(t/(2δ)); at t = 100 the max is at t = 100.
    approx = 0.01 + (10 + math.log(100) - math.log(2)) / 3
    assert calibrate.laplace_threshold(3.0, DELTA, 100) == pytest.approx(approx, abs=1e-4)


def test_analytic_gaussian_sigma_meets_its_defining_equation():
    sigma = calibrate.analytic_gaussian_sigma(3.0, DELTA / 2)
    assert calibrate.gaussian_delta(sigma, 3.0) <= DELTA / 2
    assert calibrate.gaussian_delta(sigma * (1 - 1e-6), 3.0) > DELTA / 2  # the smallest σ
    # An independent accountant (dp_accounting's PLD) agrees: ε(σ, δ/2) = 3.
    assert epsilon(Gaussian(sigma), DELTA / 2).epsilon == pytest.approx(3.0, abs=1e-3)


@pytest.mark.parametrize("d0", [1, 5, 50])
def test_gaussian_threshold_is_the_max_over_t(d0):
    sigma = calibrate.analytic_gaussian_sigma(3.0, DELTA / 2)

    def f(t):
        return 1 / math.sqrt(t) + sigma * PHI_INV((1 - DELTA / 2) ** (1 / t))

    assert calibrate.gaussian_threshold(sigma, DELTA, d0) == pytest.approx(
        max(f(t) for t in range(1, d0 + 1)), rel=1e-7
    )


def test_policy_cutoff_is_threshold_plus_alpha_scales():
    c = SetUnionConfig(3.0, DELTA, 10, "policy_laplace", alpha=5.0)
    assert c.cutoff == pytest.approx(c.threshold + 5.0 / 3.0)
    assert SetUnionConfig(3.0, DELTA, 10, "weighted_gaussian").cutoff is None


def test_the_charged_mechanism_costs_the_stated_epsilon_delta():
    c = SetUnionConfig(3.0, DELTA, 10, "policy_gaussian")
    assert c.mechanism() == Composed((Gaussian(c.noise_scale), EpsilonDelta(0.0, DELTA / 2)))
    assert epsilon(c.mechanism(), DELTA).epsilon == pytest.approx(3.0, abs=1e-3)
    lap = SetUnionConfig(1.0, DELTA, 10, "weighted_laplace")
    assert epsilon(lap.mechanism(), 2 * DELTA).epsilon == pytest.approx(1.0, abs=1e-3)


def test_ngram_threshold_bounds_expected_spurious():
    sigma = 2.0
    rho = calibrate.ngram_threshold(sigma, 0.01, released_prev=100, valid=10_000)
    assert rho == pytest.approx(sigma * PHI_INV(1 - 0.01 * 100 / 10_000))
    assert 10_000 * calibrate.gaussian_tail(rho, sigma) == pytest.approx(0.01 * 100)


@pytest.mark.parametrize(
    ("eps", "delta", "field"),
    [
        (0.0, 1e-6, "epsilon"),
        (-1.0, 1e-6, "epsilon"),
        (math.inf, 1e-6, "epsilon"),
        (1.0, 1.0, "delta"),
        (1.0, 0.0, "delta"),
        (1.0, 2.0, "delta"),
    ],
)
def test_bad_epsilon_delta_name_the_field(eps, delta, field):
    with pytest.raises(ValueError, match=rf"^{field}: "):
        SetUnionConfig(eps, delta, 10)


def test_bad_contribution_bound_and_algorithm():
    with pytest.raises(ValueError, match="max_per_user"):
        SetUnionConfig(1.0, 1e-6, 0)
    with pytest.raises(ValueError, match="algorithm"):
        SetUnionConfig(1.0, 1e-6, 5, "policy_cauchy")
