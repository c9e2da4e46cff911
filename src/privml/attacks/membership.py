"""Membership-inference attack scores (higher = more likely a member) from plain arrays.

The attacks only see per-example numbers (losses, true-label probabilities or confidences of
the target and of reference models), so they apply to any model; ``targets.score_examples``
turns a PyTorch, scikit-learn or language model into those numbers. Feed the scores of
members and non-members to ``metrics.membership_metrics``.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

from privml.attacks.metrics import membership_metrics, tpr_at_fpr

__all__ = [
    "P_CLIP",
    "logit_confidence",
    "lira_scores",
    "loss_attack",
    "loss_scores",
    "membership_metrics",
    "rmia_scores",
    "tpr_at_fpr",
]

P_CLIP = 1e-12  # probabilities are clipped to [P_CLIP, 1 - P_CLIP] before taking logs


def logit_confidence(probs_true: np.ndarray) -> np.ndarray:
    """LiRA's confidence ``phi = log p - log(1 - p)`` of the true-label probability ``p``.

    ``p`` is clipped to ``[1e-12, 1 - 1e-12]``; from logits, ``targets.logit_conf_from_logits``
    avoids the clipping altogether.
    """
    p = np.clip(np.asarray(probs_true, dtype=float), P_CLIP, 1.0 - P_CLIP)
    return np.log(p) - np.log1p(-p)


def loss_scores(losses: np.ndarray) -> np.ndarray:
    """Loss attack (Yeom et al. 2018): lower loss means member, so the score is ``-loss``."""
    return -np.asarray(losses, dtype=float)


def loss_attack(member_losses: np.ndarray, nonmember_losses: np.ndarray) -> dict:
    """Metrics of the loss-threshold attack (Yeom et al. 2018) on members vs non-members."""
    return membership_metrics(loss_scores(member_losses), loss_scores(nonmember_losses))


def _check_finite(name: str, a: np.ndarray) -> None:
    if not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or infinite values")


def _gaussian_fit(
    ref: np.ndarray, mask: np.ndarray, fixed_variance: bool, side: str
) -> tuple[np.ndarray, np.ndarray]:
    """Per-example (mu, sigma), each (n, a), of ``ref[mask]`` (ref: (k, n, a), mask: (k, n))."""
    w = mask[:, :, None].astype(float)
    cnt = w.sum(0)  # (n, 1)
    values = ref[mask]  # (m, a): all reference confidences on this side
    if len(values) < 2:
        hint = " (online=False needs no 'in' references)" if side == "in" else ""
        raise ValueError(
            f"LiRA needs at least 2 '{side}' reference confidences in total, "
            f"got {len(values)}{hint}"
        )
    g_mu = values.mean(0)  # (a,)
    g_sd = values.std(0, ddof=1)
    mu = (w * ref).sum(0) / np.maximum(cnt, 1.0)
    ss = (w * (ref - mu) ** 2).sum(0)  # (n, a) residual sums of squares
    if fixed_variance:
        dof = np.maximum(cnt - 1.0, 0.0).sum()
        pooled = np.sqrt(ss.sum(0) / dof) if dof > 0 else g_sd
        sd = np.broadcast_to(pooled, mu.shape).copy()
    else:
        sd = np.sqrt(ss / np.maximum(cnt - 1.0, 1.0))
    fallback = cnt[:, 0] < 2
    mu[fallback], sd[fallback] = g_mu, g_sd
    return mu, np.maximum(sd, np.maximum(1e-6, 0.01 * g_sd))


def lira_scores(
    target_conf: np.ndarray,
    ref_conf: np.ndarray,
    ref_in: np.ndarray | None,
    *,
    online: bool = True,
    fixed_variance: bool = False,
) -> np.ndarray:
    """Likelihood-ratio attack (LiRA; Carlini et al. 2022, "Membership Inference Attacks From
    First Principles"). Returns one score per target example, higher = member.

    ``target_conf`` (n,) and ``ref_conf`` (k, n) are logit-scaled confidences of the true label
    (:func:`logit_confidence`) under the target and k reference models; ``ref_in`` (k, n) says
    which reference models trained on each example (may be None when ``online=False``). An
    optional trailing axis of size a holds several queries (augmentations) per example:
    target (n, a), ref (k, n, a); the per-query scores are averaged.

    Online: fit N(mu_in, sigma_in^2) and N(mu_out, sigma_out^2) per example to its "in" and
    "out" reference confidences; score = log N(phi; in) - log N(phi; out). Offline: only the
    "out" fit; score = log Phi((phi - mu_out) / sigma_out), a one-sided test (large phi =
    member). Variances use ddof=1. ``fixed_variance=True`` shares one pooled within-example
    variance per side and query (the paper's choice for few reference models), pooled around
    each example's own mean so that between-example spread does not inflate it.

    Fallback: an example with fewer than 2 references on a side uses that side's global mean
    and global variance (over all examples' reference confidences on that side). Every
    sigma is clamped to at least max(1e-6, 0.01 * global sigma of its side).
    """
    t = np.asarray(target_conf, dtype=float)
    ref = np.asarray(ref_conf, dtype=float)
    if t.ndim not in (1, 2) or ref.ndim != t.ndim + 1 or ref.shape[1:] != t.shape:
        raise ValueError(
            f"ref_conf must have shape (k, *target_conf.shape), "
            f"got {ref.shape} for target_conf {t.shape}"
        )
    if t.ndim == 1:  # one query per example
        t, ref = t[:, None], ref[..., None]
    k, n = ref.shape[:2]
    if ref_in is None:
        if online:
            raise ValueError("online LiRA needs ref_in (which reference models trained on x)")
        ref_in = np.zeros((k, n), dtype=bool)
    ref_in = np.asarray(ref_in)
    if ref_in.shape != (k, n):
        raise ValueError(f"ref_in must have shape {(k, n)}, got {ref_in.shape}")
    ref_in = ref_in.astype(bool)
    _check_finite("target_conf", t)
    _check_finite("ref_conf", ref)

    mu_out, sd_out = _gaussian_fit(ref, ~ref_in, fixed_variance, "out")
    if online:
        mu_in, sd_in = _gaussian_fit(ref, ref_in, fixed_variance, "in")
        score = norm.logpdf(t, mu_in, sd_in) - norm.logpdf(t, mu_out, sd_out)
    else:
        score = norm.logcdf((t - mu_out) / sd_out)
    return score.mean(1)


def _pr(p: np.ndarray, mask: np.ndarray | None, a: float) -> np.ndarray:
    """RMIA's Pr(x): the reference models' average probability of x, balanced (online) or
    linearly corrected for having only OUT models (offline)."""
    if mask is None:
        return 0.5 * ((1.0 + a) * p.mean(0) + (1.0 - a))
    n_in, n_out = mask.sum(0), (~mask).sum(0)
    mean_in = np.where(mask, p, 0.0).sum(0) / np.maximum(n_in, 1)
    mean_out = np.where(mask, 0.0, p).sum(0) / np.maximum(n_out, 1)
    both = (n_in > 0) & (n_out > 0)
    return np.where(both, 0.5 * (mean_in + mean_out), p.mean(0))


def _probs(name: str, p: np.ndarray, shape: tuple | None = None) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    if shape is not None and p.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {p.shape}")
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise ValueError(f"{name} must hold probabilities in [0, 1] (no NaN)")
    return np.clip(p, P_CLIP, 1.0)


def rmia_scores(
    target_prob: np.ndarray,
    ref_prob: np.ndarray,
    target_prob_pop: np.ndarray,
    ref_prob_pop: np.ndarray,
    *,
    ref_in: np.ndarray | None = None,
    gamma: float = 1.0,
    offline_a: float = 0.3,
) -> np.ndarray:
    """Relative membership inference attack (RMIA; Zarifzadeh et al. 2024, "Low-Cost
    High-Power Membership Inference Attacks"). Returns scores in [0, 1], higher = member.

    Inputs are true-label probabilities: ``target_prob`` (n,) and ``ref_prob`` (k, n) for the
    examples under test under the target and k reference models; ``target_prob_pop`` (z,) and
    ``ref_prob_pop`` (k, z) for population points z that the target did not train on.

    Pr(x) is the reference models' mean of p(x | theta_ref). Online (``ref_in`` (k, n) given;
    the paper's setting where about half the references trained on x): the mean of the IN
    models' and the OUT models' averages, which equals the plain mean over all references when
    exactly half contain x (and is that plain mean when one side is empty). Offline
    (``ref_in=None``: all references are OUT): the paper's linear approximation
    ``Pr(x) = ((1 + a) * Pr_out(x) + (1 - a)) / 2`` with ``a = offline_a``; the same formula
    gives Pr(z) (population points are OUT too). Online, Pr(z) is the plain mean.

    Score(x) = fraction of z with ``(p(x|theta)/Pr(x)) / (p(z|theta)/Pr(z)) >= gamma``,
    computed by sorting the z ratios (O((n + z) log z), no n-by-z matrix).
    """
    tp = _probs("target_prob", target_prob)
    if tp.ndim != 1:
        raise ValueError(f"target_prob must be 1-D, got shape {tp.shape}")
    rp = _probs("ref_prob", ref_prob)
    if rp.ndim != 2 or rp.shape[1] != len(tp):
        raise ValueError(f"ref_prob must have shape (k, {len(tp)}), got {rp.shape}")
    zp = _probs("target_prob_pop", target_prob_pop)
    if zp.ndim != 1 or len(zp) == 0:
        raise ValueError(f"target_prob_pop must be 1-D and non-empty, got shape {zp.shape}")
    rzp = _probs("ref_prob_pop", ref_prob_pop, (rp.shape[0], len(zp)))
    if not gamma > 0:
        raise ValueError(f"gamma must be positive, got {gamma}")
    if not 0.0 <= offline_a <= 1.0:
        raise ValueError(f"offline_a must be in [0, 1], got {offline_a}")
    if ref_in is not None:
        ref_in = np.asarray(ref_in)
        if ref_in.shape != rp.shape:
            raise ValueError(f"ref_in must have shape {rp.shape}, got {ref_in.shape}")
        ref_in = ref_in.astype(bool)

    ratio_x = tp / _pr(rp, ref_in, offline_a)
    pr_z = _pr(rzp, None, offline_a) if ref_in is None else rzp.mean(0)
    ratio_z = np.sort(zp / pr_z)
    return np.searchsorted(ratio_z, ratio_x / gamma, side="right") / len(ratio_z)
