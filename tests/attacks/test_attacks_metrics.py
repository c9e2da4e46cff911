"""Membership metrics against values computed by hand."""

import math

import numpy as np
import pytest
from scipy.stats import beta

from privml.attacks import (
    best_epsilon_lower_bound,
    epsilon_lower_bound,
    membership_metrics,
    metrics_from_labels,
    tpr_at_fpr,
)

# Sorted by score: 0.9 M, 0.8 N, 0.7 M, 0.5 M, 0.4 N, 0.3 N, 0.2 M, 0.1 N.
# ROC points (fp, tp) out of 4: (0,0) (0,1) (1,1) (1,2) (1,3) (2,3) (3,3) (3,4) (4,4).
MEMBERS = np.array([0.9, 0.7, 0.5, 0.2])
NON_MEMBERS = np.array([0.8, 0.4, 0.3, 0.1])
ROC_COUNTS = [(0, 0), (0, 1), (1, 1), (1, 2), (1, 3), (2, 3), (3, 3), (3, 4), (4, 4)]


def test_metrics_on_four_and_four_match_hand_computation():
    m = membership_metrics(MEMBERS, NON_MEMBERS)
    # AUC = P(member > non-member): 0.9 beats 4, 0.7 beats 3, 0.5 beats 3, 0.2 beats 1 -> 11/16.
    assert m["auc"] == pytest.approx(11 / 16)
    # Best (TPR + TNR) / 2 is at (fp, tp) = (1, 3): (3/4 + 3/4) / 2.
    assert m["balanced_accuracy"] == pytest.approx(0.75)
    # Only the top score (a member) is above every non-member.
    assert m["tpr_at_0_fpr"] == pytest.approx(0.25)
    assert m["tpr_at_1pct_fpr"] == pytest.approx(0.25)
    assert m["tpr_at_0.1pct_fpr"] == pytest.approx(0.25)
    assert m["members"] == 4 and m["non_members"] == 4
    # With 4 + 4 examples the 95% intervals are too wide to certify any epsilon.
    assert m["epsilon_lower_bound"] == 0.0
    assert "tpr_at_0pct_fpr" not in m


def test_tpr_at_fpr_takes_the_best_point_at_or_below_the_target():
    fpr = np.array([0.0, 0.0, 0.25, 0.25, 0.25, 0.5, 0.75, 0.75, 1.0])
    tpr = np.array([0.0, 0.25, 0.25, 0.5, 0.75, 0.75, 0.75, 1.0, 1.0])
    assert tpr_at_fpr(fpr, tpr, 0.25) == 0.75
    assert tpr_at_fpr(fpr, tpr, 0.2) == 0.25
    assert tpr_at_fpr(fpr[2:], tpr[2:], 0.0) == 0.0  # no point at FPR 0


def test_roc_curve_keeps_points_between_ties():
    # Scores tie in pairs across classes: the ROC is (0,0) -> (.5,.5) -> (1,1). sklearn's
    # drop_intermediate would drop the achievable middle point and report TPR 0 at FPR 0.5.
    m = membership_metrics(np.array([2.0, 2.0, 1.0, 1.0]), np.array([2.0, 2.0, 1.0, 1.0]))
    fpr, tpr = np.array(m["roc"]["fpr"]), np.array(m["roc"]["tpr"])
    first_above_half = np.argmax(fpr >= 0.5)
    assert tpr[first_above_half] == 0.5
    assert m["auc"] == 0.5 and m["tpr_at_0_fpr"] == 0.0


def test_epsilon_lower_bound_matches_clopper_pearson_by_hand():
    # 95% overall -> alpha = 0.025 per one-sided bound (Bonferroni).
    fpr_hi = beta.ppf(0.975, 5 + 1, 100 - 5)  # fp = 5 of 100 non-members
    fnr_hi = beta.ppf(0.975, 10 + 1, 100 - 10)  # fn = 10 of 100 members
    expected = max(math.log((1 - fnr_hi) / fpr_hi), math.log((1 - fpr_hi) / fnr_hi))
    got = epsilon_lower_bound(tp=90, fn=10, fp=5, tn=95)
    assert got == pytest.approx(expected, rel=1e-9)
    assert got == pytest.approx(1.98797456, rel=1e-6)
    # 90% overall -> alpha = 0.05 per bound: a tighter interval, a larger bound.
    loose = beta.ppf(0.95, 6, 95), beta.ppf(0.95, 11, 90)
    assert epsilon_lower_bound(90, 10, 5, 95, confidence=0.9) == pytest.approx(
        math.log((1 - loose[1]) / loose[0]), rel=1e-9
    )
    # delta is subtracted inside the log.
    assert epsilon_lower_bound(90, 10, 5, 95, delta=0.1) == pytest.approx(
        math.log((1 - 0.1 - fnr_hi) / fpr_hi), rel=1e-9
    )


def test_epsilon_lower_bound_zero_counts():
    # No errors at all: both upper bounds are 1 - alpha**(1/n).
    p = 1 - 0.025 ** (1 / 100)
    assert epsilon_lower_bound(100, 0, 0, 100) == pytest.approx(math.log((1 - p) / p), rel=1e-9)
    assert epsilon_lower_bound(100, 0, 0, 100) == pytest.approx(3.28134635, rel=1e-6)
    # No false negatives but half false positives: the mirror-image inequality
    # FPR + e^eps FNR >= 1 is the binding one, eps >= log((1 - FPR_hi) / FNR_hi).
    fpr_hi = beta.ppf(0.975, 51, 50)
    assert epsilon_lower_bound(100, 0, 50, 50) == pytest.approx(
        math.log((1 - fpr_hi) / p), rel=1e-9
    )
    # Upper bounds on both error rates: an always-wrong test certifies nothing (its flip
    # would, but that is a different attack).
    assert epsilon_lower_bound(0, 100, 100, 0) == 0.0
    # One example per class can never certify anything.
    assert epsilon_lower_bound(1, 0, 0, 1) == 0.0
    # Chance-level rates give nothing either.
    assert epsilon_lower_bound(50, 50, 50, 50) == 0.0


def test_epsilon_lower_bound_rejects_bad_input():
    with pytest.raises(ValueError, match="non-negative"):
        epsilon_lower_bound(-1, 1, 1, 1)
    with pytest.raises(ValueError, match="at least one member"):
        epsilon_lower_bound(0, 0, 1, 1)
    with pytest.raises(ValueError, match="confidence"):
        epsilon_lower_bound(1, 1, 1, 1, confidence=1.0)


def test_best_epsilon_is_max_over_thresholds_with_ties():
    # 50 copies of the 4 + 4 example: every ROC point's counts scale by 50.
    m, nm = np.repeat(MEMBERS, 50), np.repeat(NON_MEMBERS, 50)
    by_hand = max(
        epsilon_lower_bound(tp * 50, 200 - tp * 50, fp * 50, 200 - fp * 50) for fp, tp in ROC_COUNTS
    )
    assert by_hand > 0
    assert best_epsilon_lower_bound(m, nm) == pytest.approx(by_hand, rel=1e-9)
    assert membership_metrics(m, nm)["epsilon_lower_bound"] == pytest.approx(by_hand, rel=1e-9)
    assert best_epsilon_lower_bound(m, nm, delta=0.05) < by_hand


def test_best_epsilon_on_separable_scores_is_the_zero_error_bound():
    rng = np.random.default_rng(0)
    m, nm = 2 + rng.random(1000), rng.random(1000)
    p = 1 - 0.025 ** (1 / 1000)
    assert best_epsilon_lower_bound(m, nm) == pytest.approx(math.log((1 - p) / p), rel=1e-9)
    assert best_epsilon_lower_bound(m, nm) == pytest.approx(5.6005875, rel=1e-6)


def test_membership_metrics_input_errors_name_the_problem():
    with pytest.raises(ValueError, match="at least one member.*0 members"):
        membership_metrics(np.array([]), np.array([1.0]))
    with pytest.raises(ValueError, match="0 non-members"):
        membership_metrics(np.array([1.0]), np.array([]))
    with pytest.raises(ValueError, match="non-member scores contain 1 NaN"):
        membership_metrics(np.array([1.0]), np.array([np.nan, 0.0]))
    with pytest.raises(ValueError, match="member scores contain 2 NaN"):
        membership_metrics(np.array([np.nan, np.nan]), np.array([0.0]))


def test_infinite_scores_are_ranked_not_rejected():
    m = membership_metrics(np.array([np.inf, 1.0]), np.array([0.0, -np.inf]))
    assert m["auc"] == 1.0 and m["tpr_at_0_fpr"] == 1.0


def test_metrics_from_labels_splits_by_mask():
    scores = np.concatenate([MEMBERS, NON_MEMBERS])
    labels = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    got = metrics_from_labels(scores, labels)
    assert got == membership_metrics(MEMBERS, NON_MEMBERS)
    assert metrics_from_labels(scores, labels.astype(bool))["auc"] == pytest.approx(11 / 16)
    with pytest.raises(ValueError, match="8 scores but 7"):
        metrics_from_labels(scores, labels[:7])
    with pytest.raises(ValueError, match="boolean or 0/1"):
        metrics_from_labels(scores, labels * 2)
    with pytest.raises(ValueError, match="0 non-members"):
        metrics_from_labels(scores, np.ones(8, bool))


def test_compact_curve_is_monotone_and_starts_at_zero():
    rng = np.random.default_rng(1)
    m = membership_metrics(rng.normal(1, 1, 3000), rng.normal(0, 1, 3000))
    fpr, tpr = np.array(m["roc"]["fpr"]), np.array(m["roc"]["tpr"])
    assert fpr[0] == 0.0 and fpr[-1] == 1.0 and tpr[-1] == 1.0
    assert (np.diff(fpr) > 0).all() and (np.diff(tpr) >= 0).all()
    assert tpr[np.searchsorted(fpr, 0.01)] == pytest.approx(m["tpr_at_1pct_fpr"], abs=1e-6)
