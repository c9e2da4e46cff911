"""DP-FedAvg: calibration meets the target ε under privml's accountant; clipping; noise."""

import math

import numpy as np
import pytest

from privml.accounting import Gaussian, PoissonSampled, SelfComposed, epsilon
from privml.federated.client_app import clip_and_noise
from privml.federated.dp import DPAggregator, clip, default_delta, plan_dp


@pytest.fixture(scope="module")
def fixed():
    return plan_dp(clients=50, sampling_rate=0.5, rounds=10, target_epsilon=4.0, delta=1e-5)


def test_calibrated_epsilon_meets_target(fixed):
    mech = SelfComposed(PoissonSampled(0.5, Gaussian(fixed.noise_multiplier)), 10)
    assert fixed.mechanism() == mech
    eps = epsilon(mech, 1e-5, "prv").epsilon
    assert eps <= 4.0 + 1e-9
    assert eps > 3.8  # calibrated, not just safe
    assert fixed.update_noise_multiplier == fixed.noise_multiplier


def test_adaptive_clipping_accounts_the_quantile_noise():
    p = plan_dp(
        clients=50,
        sampling_rate=0.5,
        rounds=10,
        target_epsilon=4.0,
        delta=1e-5,
        clipping="adaptive",
        quantile_noise=10.0,
    )
    z, zu, sb = p.noise_multiplier, p.update_noise_multiplier, p.quantile_noise
    # the two Gaussians of a round compose to exactly one of multiplier z
    assert math.isclose(zu**-2 + (2 * sb) ** -2, z**-2, rel_tol=1e-9)
    assert zu > z
    assert epsilon(p.mechanism(), 1e-5, "prv").epsilon <= 4.0 + 1e-9
    with pytest.raises(ValueError, match="dp.quantile_noise"):
        plan_dp(
            clients=50,
            sampling_rate=0.5,
            rounds=10,
            target_epsilon=4.0,
            delta=1e-5,
            clipping="adaptive",
            quantile_noise=0.01,
        )


def test_clip_norms():
    v = np.array([3.0, 4.0])
    c, n = clip(v, 1.0)
    assert n == 5.0 and math.isclose(np.linalg.norm(c), 1.0)
    c, n = clip(v, 10.0)
    assert np.array_equal(c, v)
    c, n = clip(np.zeros(3), 1.0)
    assert n == 0.0 and not c.any()


def test_aggregate_noise_scale_and_fixed_denominator(fixed):
    agg = DPAggregator(fixed)
    d = 20000
    out = agg.aggregate(np.zeros(d), 0.0, 25)
    expected = fixed.update_noise_multiplier * fixed.clip_norm / fixed.expected_clients
    assert abs(out.std() / expected - 1) < 0.05
    assert agg.clip_norm == fixed.clip_norm  # fixed clipping never moves


def test_adaptive_clip_moves_toward_quantile():
    p = plan_dp(
        clients=400,
        sampling_rate=0.5,
        rounds=5,
        target_epsilon=8.0,
        delta=1e-5,
        clipping="adaptive",
        clip_norm=1.0,
        target_quantile=0.5,
    )
    agg = DPAggregator(p)
    agg.aggregate(np.zeros(10), 0.5 * 200, 200)  # every client under the bound: C shrinks
    assert agg.clip_norm < 1.0
    agg2 = DPAggregator(p)
    agg2.aggregate(np.zeros(10), -0.5 * 200, 200)  # every client over it: C grows
    assert agg2.clip_norm > 1.0


def test_distributed_shares_sum_to_full_noise():
    p = plan_dp(
        clients=40, sampling_rate=0.5, rounds=5, target_epsilon=4.0, delta=1e-5, noise="distributed"
    )
    assert p.noise_shares == 20
    std = p.update_noise_multiplier * p.clip_norm / math.sqrt(p.noise_shares)
    d = 4000
    cfg = {"clip-norm": p.clip_norm, "noise-std": std, "bit-noise-std": 0.0}
    total = sum(
        np.concatenate([u.ravel() for u in clip_and_noise([np.zeros(d)], cfg)[0]])
        for _ in range(p.noise_shares)
    )
    full = p.update_noise_multiplier * p.clip_norm
    assert abs(total.std() / full - 1) < 0.1
    # with all m shares in, the server adds nothing
    agg = DPAggregator(p)
    assert np.array_equal(agg.aggregate(np.ones(5), 0.0, 20), np.ones(5) / p.expected_clients)


def test_default_delta():
    assert default_delta(10) == 1e-5
    assert default_delta(1_000_000) == 1e-7
