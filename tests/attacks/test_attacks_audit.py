"""One-run privacy audit: the bound's numbers, and that it catches DP-SGD without noise."""

import math

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification

from privml.attacks.audit import (
    OneRunAudit,
    audit_classifier,
    audit_epsilon_lower_bound,
    audit_p_value,
    best_audit_bound,
    default_k_grid,
    label_confidence_scores,
    make_tabular_canaries,
)
from privml.classifiers import MLP, Recipe
from privml.dp.classifier import train_dp_classifier


@pytest.mark.parametrize("r", [5, 10, 100, 1000])
def test_all_correct_matches_closed_form(r):
    """δ = 0, v = r: P[Bin(r, q) >= r] = q^r = 0.05, so ε = log(q / (1 - q)), q = 0.05^(1/r)."""
    q = 0.05 ** (1 / r)
    assert audit_epsilon_lower_bound(r, r, r, 0.0) == pytest.approx(math.log(q / (1 - q)), 1e-9)


def test_hand_computed_values():
    # r = 100 all correct: q = 0.05^0.01 = 0.970487..., ε = 3.49297; r = 1000: ε = 5.80907.
    assert audit_epsilon_lower_bound(100, 100, 1000, 0.0) == pytest.approx(3.492965, abs=1e-5)
    assert audit_epsilon_lower_bound(1000, 1000, 1000, 0.0) == pytest.approx(5.809068, abs=1e-5)
    # At the bound the p-value is exactly 1 - confidence.
    eps = audit_epsilon_lower_bound(90, 100, 1000, 0.0)
    assert audit_p_value(1000, 100, 90, eps, 0.0) == pytest.approx(0.05, rel=1e-6)


def test_delta_only_weakens_the_bound():
    for v in (60, 90, 100):
        b0 = audit_epsilon_lower_bound(v, 100, 1000, 0.0)
        assert audit_epsilon_lower_bound(v, 100, 1000, 1e-5) <= b0
        assert audit_epsilon_lower_bound(v, 100, 1000, 1e-3) < b0
    # The δ term charges 2mδ: tiny at δ = 1e-5, m = 1000; large when 2mδ nears 1 - confidence.
    assert audit_epsilon_lower_bound(100, 100, 1000, 1e-5) == pytest.approx(3.4654, abs=1e-3)


def test_monotone_in_correct_guesses_and_zero_without_evidence():
    bounds = [audit_epsilon_lower_bound(v, 200, 1000, 1e-5) for v in range(0, 201, 5)]
    assert all(a <= b for a, b in zip(bounds, bounds[1:], strict=False))
    assert audit_epsilon_lower_bound(0, 0, 1000, 1e-5) == 0.0  # r = 0
    assert audit_epsilon_lower_bound(100, 200, 1000, 0.0) == 0.0  # chance level
    assert audit_epsilon_lower_bound(1, 1, 1, 0.0) == 0.0  # one guess proves nothing at 95%


def test_score_counts_guesses_and_best_is_bonferroni_corrected():
    scores = np.array([9.0, 8.0, 7.0, 1.0, 0.5, 0.0])
    included = np.array([True, True, False, False, False, True])
    audit = OneRunAudit(delta=0.0)
    r = audit.score(scores, included, k_plus=2, k_minus=2)
    assert (r["guesses"], r["correct"]) == (4, 3)  # top 2 both in; bottom 2: 0.5 out, 0.0 in
    assert r["epsilon_lower_bound"] == audit_epsilon_lower_bound(3, 4, 6, 0.0)
    # Perfect separation on many canaries: the grid's best uses confidence 1 - 0.05/len(grid).
    inc = OneRunAudit.make_canaries(1000, rng=0)
    best = best_audit_bound(np.where(inc, 1.0, -1.0), inc, delta=0.0)
    grid = default_k_grid(1000)
    assert best["hypotheses"] == len(grid)
    strict = audit_epsilon_lower_bound(
        best["correct"], best["guesses"], 1000, 0.0, 1 - 0.05 / len(grid)
    )
    assert best["epsilon_lower_bound"] == pytest.approx(strict)
    assert best["correct"] == best["guesses"]


def test_canary_flips_are_fair_and_seedable():
    a = OneRunAudit.make_canaries(10_000, rng=3)
    assert np.array_equal(a, OneRunAudit.make_canaries(10_000, rng=3))
    assert abs(a.mean() - 0.5) < 0.02
    assert abs(OneRunAudit.make_canaries(10_000).mean() - 0.5) < 0.02  # CSPRNG


def test_tabular_canaries_have_wrong_labels_and_scores_are_logits():
    X = np.random.default_rng(0).normal(size=(50, 4)).astype(np.float32)
    y = np.arange(50) % 3
    Xc, yc = make_tabular_canaries(X, 20, 3, rng=1, y_pool=y)
    rows = [int(np.flatnonzero((X == r).all(axis=1))[0]) for r in Xc]
    assert len(set(rows)) == 20 and np.all(yc != y[rows])
    model = torch.nn.Linear(4, 3)
    with torch.no_grad():
        p = torch.softmax(model(torch.as_tensor(Xc)), 1).numpy()[np.arange(20), yc]
    np.testing.assert_allclose(
        label_confidence_scores(model, Xc, yc), np.log(p / (1 - p)), rtol=1e-5, atol=1e-6
    )


# ---- behavioural: the audit separates correct DP-SGD from DP-SGD with the noise switched off
CLAIMED_EPSILON, DELTA, CANARIES = 2.0, 1e-5, 1000


def _audit_dp_sgd(noise: bool) -> tuple[dict, float]:
    """Audit DP-SGD (claimed ε = 2) on a 100-feature task with 1000 mislabelled canaries.

    A large clip norm and many epochs let a noise-free run memorise the included canaries;
    everything is seeded except DP-SGD's CSPRNG sampling and noise.
    """
    X, y = make_classification(3000, 100, n_informative=10, class_sep=3.0, random_state=0)
    X = X.astype(np.float32)
    stats = []

    def train(X_train, y_train):
        torch.manual_seed(0)
        model, s = train_dp_classifier(
            MLP(100, 2, (256,)),
            X_train,
            y_train,
            recipe=Recipe(epochs=40, batch_size=128, lr=1e-2),
            target_epsilon=CLAIMED_EPSILON,
            delta=DELTA,
            max_grad_norm=5.0,
            noise=noise,
        )
        stats.append(s)
        return model

    result = audit_classifier(
        train,
        X[:2000],
        y[:2000],
        CANARIES,
        DELTA,
        canary_pool=(X[2000:], y[2000:]),
        seed=0,
    )
    assert stats[0].noise_added is noise
    return result, stats[0].claimed_epsilon


@pytest.mark.slow
def test_audit_stays_below_the_claim_of_correct_dp_sgd():
    result, claimed = _audit_dp_sgd(noise=True)
    assert claimed <= CLAIMED_EPSILON
    assert result["epsilon_lower_bound"] < claimed


@pytest.mark.slow
def test_audit_catches_dp_sgd_without_noise():
    result, claimed = _audit_dp_sgd(noise=False)
    assert claimed == pytest.approx(CLAIMED_EPSILON, abs=0.05)  # still claims ε = 2
    assert result["epsilon_lower_bound"] > claimed
