"""DPNE: level-by-level release, the validity rule, the spurious bound and the budget split."""

import math
from itertools import product

import numpy as np
import pytest

from privml.accounting import epsilon
from privml.dpstats.ngrams import NgramConfig, _Valid, dp_ngrams

DELTA = math.exp(-10)


def _users(n_users=1500, seed=0):
    """Users writing sentences from a small grammar, so 2- and 3-grams repeat across users."""
    rng = np.random.default_rng(seed)
    subj, verb, obj = (
        ["i", "we", "you", "they"],
        ["need", "sent", "like", "have"],
        ["the report", "a car", "my notes", "some tea"],
    )
    users = []
    for _ in range(n_users):
        recs = []
        for _ in range(3):
            words = f"{rng.choice(subj)} {rng.choice(verb)} {rng.choice(obj)}".split()
            recs.append(words)
        users.append(recs)
    return users


def test_every_released_kgram_has_released_prefix_and_suffix():
    res = dp_ngrams(_users(), NgramConfig(3.0, DELTA, 3, 20, eta=0.2), np.random.default_rng(1))
    assert [len(lv.released) > 0 for lv in res.levels] == [True, True, True]
    for k in (2, 3):
        prev = set(res.levels[k - 2].released)
        for g in res.levels[k - 1].released:
            assert len(g) == k and g[:-1] in prev and g[1:] in prev
    assert ("i", "need") in res.levels[1].released
    assert "i need the" in res.grams(3) or "i need my" in res.grams(3)


def test_valid_domain_size_and_enumeration_match_brute_force():
    prev = [("a", "b"), ("b", "c"), ("b", "a"), ("c", "c"), ("a", "a")]
    v = _Valid(prev)
    brute = {a + b[-1:] for a, b in product(prev, prev) if a[1:] == b[:-1]}
    assert v.size == len(brute) and set(v.all()) == brute
    assert all(g in v for g in brute) and ("a", "c", "a") not in v


def test_spurious_kgrams_stay_within_the_eta_bound_on_average():
    """Users all share few bigrams, so almost every valid 3-gram has zero weight: what passes
    is spurious. Its expected number is at most η·|S_2|; check the mean over 300 seeds."""
    users = [[["x", "y"], ["y", "z"], ["z", "x"], ["x", "x"]]] * 400
    cfg = NgramConfig(2.0, DELTA, 3, 10, eta=0.3)
    spurious, bounds = [], []
    for seed in range(300):
        res = dp_ngrams(users, cfg, np.random.default_rng(seed))
        real = {("x", "y"), ("y", "z"), ("z", "x"), ("x", "x")}
        assert set(res.levels[1].released) <= real | set(_Valid(res.levels[0].released).all())
        spurious.append(len(res.levels[2].released))  # no user has any 3-gram
        bounds.append(res.levels[2].expected_spurious_max)
    mean, sd = np.mean(spurious), np.std(spurious)
    assert mean > 0  # the zero-weight k-grams really are in the release mechanism
    assert mean <= np.mean(bounds) + 4 * sd / math.sqrt(len(spurious))


def test_levels_compose_to_the_target_epsilon():
    cfg = NgramConfig(3.0, DELTA, 3, 20)
    assert cfg.sigma == pytest.approx(NgramConfig(3.0, DELTA, 1, 20).sigma * math.sqrt(3))
    assert epsilon(cfg.mechanism(), DELTA).epsilon == pytest.approx(3.0, abs=1e-3)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"n": 0}, "n"),
        ({"eta": 1.0}, "eta"),
        ({"epsilon": -1.0}, "epsilon"),
        ({"delta": 1.5}, "delta"),
    ],
)
def test_bad_parameters_name_the_field(kwargs, field):
    args = {"epsilon": 1.0, "delta": 1e-6, "n": 2, "max_per_user": 5} | kwargs
    with pytest.raises(ValueError, match=rf"^{field}: "):
        NgramConfig(**args)
