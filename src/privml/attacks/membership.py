"""Membership-inference metrics from attack scores (higher score = "member").

Reports ROC AUC, the best balanced accuracy, TPR at fixed low FPRs (the regime that matters:
an attack that is confident about a few people is a real attack even at AUC 0.5), and a
compact ROC curve for plotting.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve


def tpr_at_fpr(fpr: np.ndarray, tpr: np.ndarray, target: float) -> float:
    """Highest TPR among thresholds whose FPR is at most ``target``."""
    ok = fpr <= target + 1e-12
    return float(tpr[ok].max()) if ok.any() else 0.0


def _compact_curve(fpr: np.ndarray, tpr: np.ndarray, points: int = 200) -> dict:
    grid = np.unique(np.concatenate([[0.0], np.logspace(-4, 0, points)]))
    return {
        "fpr": [round(float(f), 6) for f in grid],
        "tpr": [round(tpr_at_fpr(fpr, tpr, f), 6) for f in grid],
    }


def membership_metrics(member_scores: np.ndarray, nonmember_scores: np.ndarray) -> dict:
    m = np.asarray(member_scores, dtype=float)
    nm = np.asarray(nonmember_scores, dtype=float)
    if len(m) == 0 or len(nm) == 0:
        raise ValueError("membership inference needs at least one member and one non-member")
    y = np.concatenate([np.ones(len(m)), np.zeros(len(nm))])
    s = np.concatenate([m, nm])
    fpr, tpr, _ = roc_curve(y, s)
    return {
        "auc": float(roc_auc_score(y, s)),
        "balanced_accuracy": float(np.max((tpr + 1 - fpr) / 2)),
        "tpr_at_1pct_fpr": tpr_at_fpr(fpr, tpr, 0.01),
        "tpr_at_0.1pct_fpr": tpr_at_fpr(fpr, tpr, 0.001),
        "tpr_at_0pct_fpr": tpr_at_fpr(fpr, tpr, 0.0),
        "members": int(len(m)),
        "non_members": int(len(nm)),
        "roc": _compact_curve(fpr, tpr),
    }


def loss_attack(member_losses: np.ndarray, nonmember_losses: np.ndarray) -> dict:
    """Loss-threshold attack (Yeom et al. 2018): lower loss means member."""
    return membership_metrics(-np.asarray(member_losses), -np.asarray(nonmember_losses))
