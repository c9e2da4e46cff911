"""epsilon / delta / calibrate over mechanism descriptions: composition, fallbacks, errors."""

from __future__ import annotations

import math

import pytest
from dp_accounting.pld import privacy_loss_distribution as pld_lib

from privml.accounting import (
    Composed,
    EpsilonDelta,
    FixedSizeSampled,
    Gaussian,
    Laplace,
    MechanismError,
    PoissonSampled,
    RandomizedResponse,
    SelfComposed,
    backends,
    calibrate,
    delta,
    dp_sgd,
    dp_sgd_epsilon,
    epsilon,
)
from privml.accounting import accountants as acc_mod

POLICY_DELTA = 1e-5


def test_ten_runs_at_epsilon_one_compose_to_clearly_less_than_ten():
    # Each run is calibrated to ε = 1 at δ = 1e-5; the composition is evaluated at the same,
    # fixed δ = 1e-5 (the policy's δ), not at 10 × 1e-5.
    for make in (Gaussian, lambda s: dp_sgd(s, 0.01, 1000)):
        one = calibrate(make, 1.0, POLICY_DELTA)
        assert 0.98 <= one.result.epsilon <= 1.0
        ten = epsilon(SelfComposed(make(one.noise_multiplier), 10), POLICY_DELTA)
        assert ten.accountant == "pld" and ten.bound == "upper"
        assert ten.epsilon < 5.0


def test_epsilon_delta_releases_compose_tightly_under_pld():
    hundred = Composed((EpsilonDelta(0.1, 0.0),) * 100)
    tight = epsilon(hundred, POLICY_DELTA)
    theorem = epsilon(hundred, POLICY_DELTA, "rdp")  # RDP cannot: falls back to the theorem
    assert tight.accountant == "pld" and tight.epsilon < 4.6
    assert theorem.accountant == "composition" and "theorem" in theorem.note
    assert tight.epsilon < theorem.epsilon < 10.0  # both beat the sum of epsilons


def test_ledger_style_mix_of_dp_sgd_runs_and_external_releases():
    runs = (dp_sgd(1.1, 0.01, 1000), dp_sgd(2.0, 0.05, 300))
    external = (EpsilonDelta(0.5, 1e-7), EpsilonDelta(0.5, 1e-7), EpsilonDelta(1.0, 0.0))
    total = epsilon(Composed(runs + external), POLICY_DELTA)
    parts = [epsilon(m, POLICY_DELTA).epsilon for m in runs] + [0.5, 0.5, 1.0]
    assert total.accountant == "pld"
    assert max(parts) < total.epsilon < sum(parts)
    # Cached on the frozen description: the same object comes back.
    assert epsilon(Composed(runs + external), POLICY_DELTA) is total


def test_single_epsilon_delta_release_keeps_its_guarantee():
    r = epsilon(EpsilonDelta(1.0, 1e-6), 1e-6)
    assert r.epsilon == pytest.approx(1.0, abs=1e-3) and r.epsilon >= 1.0
    # A δ below the release's own δ cannot be met: infinite, not an exception.
    assert epsilon(EpsilonDelta(1.0, 1e-3), 1e-5).epsilon == math.inf


def test_poisson_sampling_amplifies_an_epsilon_delta_release():
    r = epsilon(PoissonSampled(0.1, EpsilonDelta(1.0, 1e-6)), 1e-6)
    assert r.epsilon == pytest.approx(math.log1p(0.1 * math.expm1(1.0)), rel=1e-3)


def test_pure_dp_mechanisms_match_their_closed_forms():
    assert epsilon(Laplace(2.0), 1e-9).epsilon == pytest.approx(0.5, rel=1e-3)
    # Randomized response over 4 buckets, p = 0.5, replace-with-special relation: the special
    # element answers uniformly, so ε = log((1 - p + p/k) / (p/k)) / ... computed by dp_accounting.
    ref = pld_lib.from_randomized_response(
        0.5, 4, neighboring_relation=backends.Rel.REPLACE_SPECIAL
    ).get_epsilon_for_delta(1e-9)
    assert epsilon(RandomizedResponse(0.5, 4), 1e-9).epsilon == pytest.approx(ref, rel=1e-3)


def test_unsupported_by_pld_falls_back_to_rdp_and_says_so():
    r = epsilon(FixedSizeSampled(10, 1000, Gaussian(1.0)), POLICY_DELTA)
    assert r.accountant == "rdp" and "pld failed" in r.note and "rdp upper bound used" in r.note
    assert 0 < r.epsilon < 5


def test_large_epsilon_skips_prv_and_names_the_bound_used():
    r = dp_sgd_epsilon(1.0, 0.01, 100_000, POLICY_DELTA)  # ε ≈ 25.6
    assert r.accountant == "pld" and "prv skipped (epsilon > 10)" in r.note
    huge = dp_sgd_epsilon(0.3, 1.0, 1_000_000, 1e-12)
    assert huge.accountant == "rdp" and "pld skipped" in huge.note and huge.epsilon > 1e5


def test_tight_pld_failure_falls_back_to_prv_then_rdp(monkeypatch):
    m = dp_sgd(1.05, 0.02, 400)
    expected = epsilon(m, 1e-6, "pld").epsilon

    def boom(*args, **kwargs):
        raise MemoryError("grid too large")

    monkeypatch.setattr(backends, "pld_epsilon", boom)
    acc_mod._epsilon.cache_clear()
    try:
        r = epsilon(m, 1e-6)
        assert r.accountant == "prv" and "pld failed (grid too large)" in r.note
        assert expected <= r.epsilon <= 1.02 * expected
        monkeypatch.setattr(backends, "prv_epsilon", boom)
        acc_mod._epsilon.cache_clear()
        r = epsilon(m, 1e-6)
        assert r.accountant == "rdp" and "prv failed" in r.note
        mixed = epsilon(Composed((m, EpsilonDelta(0.3, 1e-8))), 1e-6)
        assert mixed.accountant == "composition" and mixed.epsilon > r.epsilon + 0.3
    finally:
        acc_mod._epsilon.cache_clear()


def test_delta_is_consistent_with_epsilon():
    m = Composed((dp_sgd(1.1, 0.01, 1000), EpsilonDelta(0.2, 1e-7)))
    e = epsilon(m, POLICY_DELTA).epsilon
    d = delta(m, e)
    assert d.bound == "upper" and d.accountant in ("pld", "rdp")
    assert 0.5 * POLICY_DELTA <= d.delta <= 1.05 * POLICY_DELTA
    assert delta(m, e + 1.0).delta < d.delta  # more ε, less δ
    prv = delta(dp_sgd(1.1, 0.01, 1000), 1.5, "prv")
    assert prv.accountant == "prv by bisection" and prv.delta < 1e-4


def test_calibration_hits_the_target_from_below():
    found = calibrate(lambda s: dp_sgd(s, 0.01, 2000), 2.0, POLICY_DELTA)
    assert 1.98 <= found.result.epsilon <= 2.0
    slightly_less_noise = found.noise_multiplier * 0.99
    assert epsilon(dp_sgd(slightly_less_noise, 0.01, 2000), POLICY_DELTA).epsilon > 2.0


@pytest.mark.parametrize(
    "call,field",
    [
        (lambda: epsilon(Gaussian(1.0), 0.0), "delta"),
        (lambda: epsilon(Gaussian(1.0), 1.5), "delta"),
        (lambda: epsilon("gaussian", 1e-5), "mechanism"),
        (lambda: epsilon(Gaussian(1.0), 1e-5, "moments"), "accountant"),
        (lambda: delta(Gaussian(1.0), -1.0), "epsilon"),
        (lambda: calibrate(Gaussian, -1.0, 1e-5), "target_epsilon"),
        (lambda: Gaussian(0.0), "gaussian.noise_multiplier"),
    ],
)
def test_invalid_input_names_the_field(call, field):
    with pytest.raises((ValueError, MechanismError), match=field):
        call()


@pytest.mark.parametrize("sigma", [0.3, 50.0])
@pytest.mark.parametrize("q", [1e-5, 1.0])
@pytest.mark.parametrize("steps", [1, 1_000_000])
def test_corners_never_raise_for_any_accountant(sigma, q, steps):
    m = dp_sgd(sigma, q, steps)
    values = {a: epsilon(m, 1e-12, a) for a in ("tight", "pld", "rdp")}
    for r in values.values():
        assert r.bound == "upper" and r.epsilon >= 0 and not math.isnan(r.epsilon)
    assert values["tight"].epsilon <= values["rdp"].epsilon
