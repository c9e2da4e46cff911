"""DP set union: the policies' updates, contribution bounding, utility and the privacy bound."""

import math
from collections import defaultdict

import numpy as np
import pytest

from privml.dpstats.randomness import Randomness
from privml.dpstats.set_union import (
    ALGORITHMS,
    SetUnionConfig,
    _l1_descent,
    _l2_descent,
    bound_contributions,
    dp_set_union,
    weighted_histogram,
)

DELTA = math.exp(-10)


def _zipf_users(n_users=3000, vocab=4000, per_user=60, seed=0):
    rng = np.random.default_rng(seed)
    p = 1 / np.arange(1, vocab + 1)
    p /= p.sum()
    words = np.array([f"w{i}" for i in range(vocab)])
    return [list(words[rng.choice(vocab, per_user, p=p)]) for _ in range(n_users)]


def test_l1_descent_water_fills_one_unit():
    gamma = 10.0
    hist = defaultdict(float, {"a": gamma - 0.2, "b": gamma - 1.0, "c": gamma - 5.0, "d": 12.0})
    _l1_descent(hist, ["a", "b", "c", "d"], gamma)
    # Raise all three below Γ by 0.2 (cost 0.6), then the two left by 0.2 more (cost 0.4).
    assert hist["a"] == pytest.approx(gamma)
    assert hist["b"] == pytest.approx(gamma - 0.6)
    assert hist["c"] == pytest.approx(gamma - 4.6)
    assert hist["d"] == 12.0  # already above Γ: untouched


def test_l2_descent_moves_along_the_gap_with_norm_at_most_one():
    gamma = 5.0
    hist = defaultdict(float, {"a": 2.0, "b": 1.0})
    before = dict(hist)
    _l2_descent(hist, ["a", "b", "c"], gamma)  # gaps 3, 4, 5: norm √50
    step = np.array([hist[k] - before.get(k, 0.0) for k in ("a", "b", "c")])
    assert np.linalg.norm(step) == pytest.approx(1.0)
    assert step == pytest.approx(np.array([3, 4, 5]) / math.sqrt(50))
    small = defaultdict(float, {"x": gamma - 0.3})
    _l2_descent(small, ["x"], gamma)  # gap shorter than 1: lands exactly on Γ
    assert small["x"] == pytest.approx(gamma)


@pytest.mark.parametrize(
    ("algorithm", "share"), [("weighted_laplace", 0.25), ("weighted_gaussian", 0.5)]
)
def test_weighted_shares(algorithm, share):
    cfg = SetUnionConfig(1.0, 1e-6, 10, algorithm)
    hist = weighted_histogram(
        [["a", "b", "c", "d", "a"]], cfg, Randomness(np.random.default_rng(0))
    )
    assert dict(hist) == pytest.approx({k: share for k in "abcd"})


def test_contribution_bounding():
    rand = Randomness(np.random.default_rng(0))
    items = ["x"] * 5 + ["y"] * 3 + list("abcdefgh")
    kept = bound_contributions(items, 4, "random", rand)
    assert len(kept) == 4 and len(set(kept)) == 4 and set(kept) <= set(items)
    assert bound_contributions(items, 2, "frequent", rand) == ["x", "y"]
    assert sorted(bound_contributions(["a", "a", "b"], 5, "random", rand)) == ["a", "b"]


def test_policy_gaussian_releases_more_than_weighted_gaussian():
    users = _zipf_users()
    counts = {
        a: len(
            dp_set_union(users, SetUnionConfig(3.0, DELTA, 50, a), np.random.default_rng(1)).items
        )
        for a in ALGORITHMS
    }
    assert counts["policy_gaussian"] > counts["weighted_gaussian"]
    assert counts["policy_laplace"] > counts["weighted_laplace"]


def test_default_randomness_is_the_os_csprng():
    users = _zipf_users(n_users=500)
    a = dp_set_union(users, SetUnionConfig(3.0, DELTA, 50))
    b = dp_set_union(users, SetUnionConfig(3.0, DELTA, 50))
    assert a.items and b.items and {"w0", "w1"} <= set(a.items)
    seeded = [
        dp_set_union(users, SetUnionConfig(3.0, DELTA, 50), np.random.default_rng(7)).items
        for _ in range(2)
    ]
    assert seeded[0] == seeded[1]  # a seeded generator repeats (tests and simulations only)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("unique_items", [1, 4])
def test_a_unique_item_is_released_at_most_at_rate_delta(algorithm, unique_items):
    """One user holds items nobody else has. Without that user they are never released, so
    (ε, δ)-DP allows P(any of them released) <= e^ε·0 + δ = δ. 2,000 seeded runs each."""
    delta, runs = 0.05, 2000
    common = [["the", "a", "of", "and"]] * 30
    target = [[f"secret{i}" for i in range(unique_items)]]
    cfg = SetUnionConfig(1.0, delta, 4, algorithm)
    hits = 0
    for seed in range(runs):
        released = dp_set_union(common + target, cfg, np.random.default_rng(seed)).items
        hits += any(str(x).startswith("secret") for x in released)
    bound = runs * delta
    assert hits <= bound + 4 * math.sqrt(bound * (1 - delta))


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_with_one_item_per_user_the_threshold_is_tight(algorithm):
    """Δ0 = 1: the lone item has weight 1, and ρ is set so that 1 + noise crosses it with
    probability exactly δ (Laplace) or δ/2 (Gaussian; the other δ/2 is the Gaussian's own)."""
    delta, runs = 0.05, 2000
    cfg = SetUnionConfig(1.0, delta, 1, algorithm)
    p = delta / 2 if cfg.gaussian else delta
    users = [["common"]] * 30 + [["secret"]]
    hits = sum(
        "secret" in dp_set_union(users, cfg, np.random.default_rng(seed)).items
        for seed in range(runs)
    )
    sd = math.sqrt(runs * p * (1 - p))
    assert runs * p - 4 * sd <= hits <= runs * p + 4 * sd
