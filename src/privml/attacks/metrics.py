"""Membership-inference metrics from attack scores (higher score = "member").

Reports ROC AUC, the best balanced accuracy, TPR at fixed low FPRs (the regime that matters:
an attack that is confident about a few people is a real attack even at AUC 0.5; Carlini et
al. 2022), an empirical lower bound on the DP epsilon, and a compact ROC curve for plotting.
Every metric here depends on the scores only through their order.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import beta, rankdata
from sklearn.metrics import roc_auc_score, roc_curve

_TOL = 1e-12


def tpr_at_fpr(fpr: np.ndarray, tpr: np.ndarray, target: float) -> float:
    """Highest TPR among ROC points whose FPR is at most ``target`` (0.0 when none is)."""
    fpr, tpr = np.asarray(fpr, dtype=float), np.asarray(tpr, dtype=float)
    ok = fpr <= target + _TOL
    return float(tpr[ok].max()) if ok.any() else 0.0


def _cp_upper(k: np.ndarray, n: int, alpha: float) -> np.ndarray:
    """One-sided (1 - alpha) Clopper-Pearson upper bounds on a rate with ``k`` of ``n`` events.

    For ``k = 0`` this is ``1 - alpha**(1/n)``; for ``k = n`` it is 1.
    """
    k = np.asarray(k, dtype=float)
    upper = beta.ppf(1.0 - alpha, k + 1.0, np.maximum(n - k, 1.0))
    return np.where(k >= n, 1.0, upper)


def _epsilons(
    tp: np.ndarray, fp: np.ndarray, n_pos: int, n_neg: int, delta: float, confidence: float
) -> np.ndarray:
    """Epsilon lower bounds for arrays of (tp, fp) counts at fixed class sizes."""
    if n_pos < 1 or n_neg < 1:
        raise ValueError("an epsilon bound needs at least one member and one non-member")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if not 0.0 <= delta < 1.0:
        raise ValueError(f"delta must be in [0, 1), got {delta}")
    alpha = (1.0 - confidence) / 2.0  # Bonferroni: two one-sided bounds hold jointly
    fpr_hi = _cp_upper(fp, n_neg, alpha)
    fnr_hi = _cp_upper(n_pos - np.asarray(tp, dtype=float), n_pos, alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.log((1.0 - delta - fnr_hi) / fpr_hi)
        b = np.log((1.0 - delta - fpr_hi) / fnr_hi)
    eps = np.fmax(np.nan_to_num(a, nan=-np.inf), np.nan_to_num(b, nan=-np.inf))
    return np.maximum(eps, 0.0)


def epsilon_lower_bound(
    tp: int, fn: int, fp: int, tn: int, delta: float = 0.0, confidence: float = 0.95
) -> float:
    """Empirical epsilon implied by one threshold's confusion counts (members = positives).

    An (epsilon, delta)-DP training algorithm forces every membership test to satisfy
    ``FPR + e^eps * FNR >= 1 - delta`` and ``FNR + e^eps * FPR >= 1 - delta`` (Kairouz et al.
    2015), so observed error rates give ``eps >= log((1 - delta - FNR) / FPR)`` and the mirror
    image. To make this a statistical statement rather than a point estimate we plug in
    one-sided Clopper-Pearson upper bounds on FPR and FNR (Jagielski et al. 2020, "Auditing
    Differentially Private Machine Learning"; Nasr et al. 2021, "Adversary Instantiation").
    Each bound has level ``1 - alpha`` with ``alpha = (1 - confidence) / 2`` (Bonferroni), so
    both hold together with probability at least ``confidence``. Zero counts are handled
    exactly (upper bound ``1 - alpha**(1/n)``). Returns 0.0 when the data imply nothing.
    """
    counts = np.array([tp, fn, fp, tn])
    if (counts < 0).any():
        raise ValueError(f"confusion counts must be non-negative, got {counts.tolist()}")
    eps = _epsilons(np.array([tp]), np.array([fp]), tp + fn, fp + tn, delta, confidence)
    return float(eps[0])


def _validated(scores: np.ndarray, name: str) -> np.ndarray:
    s = np.asarray(scores, dtype=float).ravel()
    if np.isnan(s).any():
        raise ValueError(f"{name} scores contain {int(np.isnan(s).sum())} NaN value(s)")
    return s


def _roc(member_scores: np.ndarray, nonmember_scores: np.ndarray) -> tuple:
    """All ROC points (no thresholds dropped: with tied scores sklearn's pruning can remove
    achievable points from the low-FPR region), plus labels and scores."""
    m = _validated(member_scores, "member")
    nm = _validated(nonmember_scores, "non-member")
    if len(m) == 0 or len(nm) == 0:
        raise ValueError(
            f"membership inference needs at least one member and one non-member "
            f"(got {len(m)} members, {len(nm)} non-members)"
        )
    y = np.concatenate([np.ones(len(m)), np.zeros(len(nm))])
    s = np.concatenate([m, nm])
    if np.isinf(s).any():  # sklearn rejects infinities; ranks keep the order (and the ties)
        s = rankdata(s)
    fpr, tpr, _ = roc_curve(y, s, drop_intermediate=False)
    return fpr, tpr, y, s, len(m), len(nm)


def _best_epsilon(
    fpr: np.ndarray, tpr: np.ndarray, n_pos: int, n_neg: int, delta: float, confidence: float
) -> float:
    tp, fp = np.rint(tpr * n_pos), np.rint(fpr * n_neg)
    return float(_epsilons(tp, fp, n_pos, n_neg, delta, confidence).max())


def best_epsilon_lower_bound(
    member_scores: np.ndarray,
    nonmember_scores: np.ndarray,
    delta: float = 0.0,
    confidence: float = 0.95,
) -> float:
    """Largest :func:`epsilon_lower_bound` over every threshold of the scores' ROC curve.

    Caveat, stated plainly: the threshold is chosen on the same members and non-members that
    the bound is then computed from, so the confidence level does not survive the
    maximisation and the result is optimistic for the attacker. It is a heuristic estimate of
    leakage (as reported by ML Privacy Meter and TF Privacy), not an audit-grade certificate;
    for that, pick the threshold on separate data and call :func:`epsilon_lower_bound` once.
    """
    fpr, tpr, _, _, n_pos, n_neg = _roc(member_scores, nonmember_scores)
    return _best_epsilon(fpr, tpr, n_pos, n_neg, delta, confidence)


def _compact_curve(fpr: np.ndarray, tpr: np.ndarray, points: int = 200) -> dict:
    """The ROC's upper envelope sampled on a log grid of FPRs from 1e-4 to 1 (plus 0)."""
    grid = np.unique(np.concatenate([[0.0], np.logspace(-4, 0, points)]))
    best = np.maximum.accumulate(tpr)  # roc_curve's FPRs are non-decreasing
    idx = np.searchsorted(fpr, grid + _TOL, side="right") - 1
    values = np.where(idx >= 0, best[np.maximum(idx, 0)], 0.0)
    return {
        "fpr": [round(float(f), 6) for f in grid],
        "tpr": [round(float(t), 6) for t in values],
    }


def membership_metrics(
    member_scores: np.ndarray, nonmember_scores: np.ndarray, delta: float = 0.0
) -> dict:
    """Metrics of one attack. Higher score = "member".

    Keys: ``auc``; ``balanced_accuracy`` (best over thresholds of (TPR + TNR) / 2);
    ``tpr_at_1pct_fpr``, ``tpr_at_0.1pct_fpr``, ``tpr_at_0_fpr``; ``epsilon_lower_bound``
    (:func:`best_epsilon_lower_bound` at 95% confidence, with its optimism caveat);
    ``members``, ``non_members``; ``roc`` (``{"fpr": [...], "tpr": [...]}`` on a log grid).
    Raises ValueError on empty inputs or NaN scores.
    """
    fpr, tpr, y, s, n_pos, n_neg = _roc(member_scores, nonmember_scores)
    return {
        "auc": float(roc_auc_score(y, s)),
        "balanced_accuracy": float(np.max((tpr + 1.0 - fpr) / 2.0)),
        "tpr_at_1pct_fpr": tpr_at_fpr(fpr, tpr, 0.01),
        "tpr_at_0.1pct_fpr": tpr_at_fpr(fpr, tpr, 0.001),
        "tpr_at_0_fpr": tpr_at_fpr(fpr, tpr, 0.0),
        "epsilon_lower_bound": _best_epsilon(fpr, tpr, n_pos, n_neg, delta, 0.95),
        "members": n_pos,
        "non_members": n_neg,
        "roc": _compact_curve(fpr, tpr),
    }


def metrics_from_labels(scores: np.ndarray, is_member: np.ndarray, delta: float = 0.0) -> dict:
    """:func:`membership_metrics` from one score array and a same-length membership mask."""
    s = np.asarray(scores, dtype=float).ravel()
    mask = np.asarray(is_member).ravel()
    if len(s) != len(mask):
        raise ValueError(f"{len(s)} scores but {len(mask)} membership labels")
    if mask.dtype != bool:
        if not np.isin(mask, (0, 1)).all():
            raise ValueError("is_member must be boolean or 0/1")
        mask = mask.astype(bool)
    return membership_metrics(s[mask], s[~mask], delta=delta)
