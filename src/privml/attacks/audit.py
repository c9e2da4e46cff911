"""Privacy auditing with one training run (Steinke, Nasr, Jagielski, NeurIPS 2023).

Each of m canaries is included in the training set independently with probability 1/2 (the
auditor's secret coin flips). After one training run the auditor guesses "in" for the k+
canaries with the highest scores, "out" for the k- lowest, and abstains on the rest. If the
algorithm were (ε, δ)-DP, v correct guesses out of r would be unlikely once v/r is well above
e^ε / (1 + e^ε); the largest ε that the observed count rejects at the chosen confidence is an
empirical LOWER bound on the algorithm's ε. A lower bound above the claimed ε proves the claim
wrong (a bug); one below it proves nothing more than "not caught".

Reference: T. Steinke, M. Nasr, M. Jagielski, "Privacy Auditing with One (1) Training Run",
NeurIPS 2023, arXiv:2305.08846. The p-value (``audit_p_value``) follows the authors' published
Python code for their main theorem (functions ``p_value_DP_audit`` / ``get_eps_audit``), also
implemented in google-deepmind/jax_privacy (``auditing._one_run_p_value``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.stats
from scipy.special import expit

from privml.attacks.targets import score_examples
from privml.dp.secure_random import secure_uniform

Rng = np.random.Generator | int | None
K_FRACTIONS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5)  # default guess counts, as fractions of m


def audit_p_value(m: int, r: int, v: int, eps: float, delta: float) -> float:
    """P[at least v of r guesses correct] under the null "the algorithm is (ε, δ)-DP".

    δ = 0: P[Binomial(r, e^ε/(1+e^ε)) >= v] (each guess is at best ε-randomised response).
    δ > 0: the authors' bound β + 2mδ · max_i P[v > Binomial(r, q) >= v - i] / i.
    """
    if not 0 <= v <= r <= m:
        raise ValueError(f"need 0 <= v <= r <= m, got v={v}, r={r}, m={m}")
    q = float(expit(eps))
    beta = float(scipy.stats.binom.sf(v - 1, r, q))
    if delta == 0 or v == 0:
        return min(beta, 1.0)
    i = np.arange(1, v + 1)
    within = scipy.stats.binom.sf(v - i - 1, r, q) - beta  # P[v > Bin >= v - i]
    alpha = max(0.0, float(np.max(within / i)))
    return min(beta + alpha * delta * 2 * m, 1.0)


def audit_epsilon_lower_bound(
    guesses_correct: int,
    guesses_made: int,
    m: int,
    delta: float,
    confidence: float = 0.95,
) -> float:
    """Largest ε whose (ε, δ)-DP claim ``guesses_correct`` of ``guesses_made`` rejects.

    The p-value grows with ε, so bisection finds the boundary where it crosses
    ``1 - confidence``; the lower end of the final bracket is returned (conservative). 0 when
    even ε = 0 is not rejected (e.g. no guesses or chance-level accuracy). Any rejected ε is a
    valid bound: (ε', δ)-DP with ε' < ε implies (ε, δ)-DP, so smaller ε' are rejected too.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence: must be in (0, 1), got {confidence}")
    if not 0 <= delta <= 1:
        raise ValueError(f"delta: must be in [0, 1], got {delta}")
    m, r, v = int(m), int(guesses_made), int(guesses_correct)
    alpha = 1.0 - confidence

    def rejects(eps: float) -> bool:
        return audit_p_value(m, r, v, eps, delta) <= alpha

    if r == 0 or not rejects(0.0):
        return 0.0
    lo, hi = 0.0, 1.0
    while rejects(hi):
        lo, hi = hi, 2 * hi
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if rejects(mid) else (lo, mid)
    return lo


def _generator(rng: Rng) -> np.random.Generator | None:
    return (
        rng if isinstance(rng, np.random.Generator) or rng is None else np.random.default_rng(rng)
    )


@dataclass(frozen=True)
class OneRunAudit:
    """The audit's bookkeeping: canary coin flips, guesses, and the ε lower bound."""

    delta: float
    confidence: float = 0.95

    @staticmethod
    def make_canaries(m: int, rng: Rng = None) -> np.ndarray:
        """Which of ``m`` canaries are included: independent fair coins, as a bool mask.

        The flips are the audit's secret randomness. ``rng=None`` draws them from the OS
        CSPRNG (use this for a real audit: the trainer must not be able to predict them); a
        seed or ``np.random.Generator`` makes a test reproducible.
        """
        gen = _generator(rng)
        u = secure_uniform(m) if gen is None else gen.random(m)
        return u < 0.5

    def score(
        self, scores: np.ndarray, included: np.ndarray, k_plus: int, k_minus: int
    ) -> dict[str, float | int]:
        """Guess "in" for the k+ highest scores, "out" for the k- lowest; bound ε."""
        s, inc = np.asarray(scores, dtype=float), np.asarray(included, dtype=bool)
        m = len(s)
        if s.shape != inc.shape or s.ndim != 1:
            raise ValueError("scores and included: must be 1-d arrays of the same length")
        if k_plus < 0 or k_minus < 0 or k_plus + k_minus > m:
            raise ValueError(f"need k_plus, k_minus >= 0 and k_plus + k_minus <= m={m}")
        order = np.argsort(-s, kind="stable")
        correct = int(inc[order[:k_plus]].sum()) + int((~inc[order[m - k_minus :]]).sum())
        guesses = k_plus + k_minus
        return {
            "epsilon_lower_bound": audit_epsilon_lower_bound(
                correct, guesses, m, self.delta, self.confidence
            ),
            "m": m,
            "guesses": guesses,
            "correct": correct,
            "k_plus": k_plus,
            "k_minus": k_minus,
        }

    def best(
        self,
        scores: np.ndarray,
        included: np.ndarray,
        k_grid: Sequence[tuple[int, int]] | None = None,
    ) -> dict[str, float | int]:
        """The best bound over a small grid of (k+, k-), Bonferroni-corrected.

        Picking k after seeing the scores would make one bound optimistic; each candidate is
        therefore tested at level (1 - confidence) / len(grid), so by the union bound the
        maximum is still a lower bound at the stated confidence.
        """
        m = len(scores)
        grid = list(k_grid) if k_grid is not None else default_k_grid(m)
        strict = OneRunAudit(self.delta, 1 - (1 - self.confidence) / len(grid))
        results = [strict.score(scores, included, kp, km) for kp, km in grid]
        best = max(results, key=lambda d: (d["epsilon_lower_bound"], -d["guesses"]))
        return {**best, "confidence": self.confidence, "hypotheses": len(grid)}


def default_k_grid(m: int) -> list[tuple[int, int]]:
    """(k, 0) and (k, k) for k a few fractions of m: one-sided and two-sided guessing."""
    ks = sorted({max(1, round(f * m)) for f in K_FRACTIONS})
    return [(k, 0) for k in ks] + [(k, k) for k in ks if 2 * k <= m]


def best_audit_bound(
    scores: np.ndarray,
    included: np.ndarray,
    delta: float,
    confidence: float = 0.95,
    k_grid: Sequence[tuple[int, int]] | None = None,
) -> dict[str, float | int]:
    """``OneRunAudit(delta, confidence).best(...)``: the grid's best (corrected) bound."""
    return OneRunAudit(delta, confidence).best(scores, included, k_grid)


def make_tabular_canaries(
    X_pool: np.ndarray,
    m: int,
    classes: int,
    rng: Rng = None,
    *,
    y_pool: np.ndarray | None = None,
    outlier_scale: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``m`` canary rows for a tabular classifier, each with a wrong or random label.

    Default: real rows of ``X_pool`` (drawn without replacement when the pool is large
    enough) relabelled to a class other than their true one (``y_pool``; uniformly random
    without it). A model that did not train on such a row predicts its true class, so its
    confidence in the canary label is low; one that did has memorised it. The pool must not
    overlap the training data, or the true-labelled copy fights the canary. With
    ``outlier_scale``, canaries are instead random directions at ``outlier_scale`` times the
    pool's typical distance from its centre, with uniformly random labels (weaker in our
    measurements: an untrained-on outlier gets an arbitrary, often confident, prediction).
    """
    gen = _generator(rng) or np.random.default_rng()
    X_pool = np.asarray(X_pool, dtype=np.float32)
    if outlier_scale is not None:
        centre = X_pool.mean(axis=0)
        norm = float(np.median(np.linalg.norm(X_pool - centre, axis=1)))
        dirs = gen.standard_normal((m, X_pool.shape[1]))
        dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
        return (centre + outlier_scale * norm * dirs).astype(np.float32), gen.integers(
            0, classes, size=m
        ).astype(np.int64)
    rows = gen.choice(len(X_pool), size=m, replace=len(X_pool) < m)
    if y_pool is None:
        labels = gen.integers(0, classes, size=m)
    else:  # a uniformly drawn wrong label
        labels = (np.asarray(y_pool)[rows] + gen.integers(1, classes, size=m)) % classes
    return X_pool[rows], labels.astype(np.int64)


def label_confidence_scores(model: object, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Logit-scaled confidence log(p_y / (1 - p_y)) of ``model`` in each row's label (torch
    module or sklearn estimator; see :func:`privml.attacks.targets.score_examples`). Higher
    means "was trained on"."""
    return score_examples(model, np.asarray(X, dtype=np.float32), np.asarray(y)).logit_conf


def audit_classifier(
    train_fn: Callable[[np.ndarray, np.ndarray], object],
    X: np.ndarray,
    y: np.ndarray,
    m: int,
    delta: float,
    *,
    canary_pool: tuple[np.ndarray, np.ndarray] | None = None,
    classes: int | None = None,
    confidence: float = 0.95,
    seed: int | None = None,
    outlier_scale: float | None = None,
    k_grid: Sequence[tuple[int, int]] | None = None,
) -> dict[str, float | int]:
    """One-run audit of ``train_fn``: insert the included canaries, train once, bound ε.

    ``train_fn(X_train, y_train)`` returns a model scored by :func:`label_confidence_scores`.
    Canaries come from ``canary_pool`` (rows, labels) or, without one, from ``m`` rows of
    ``X`` that are then left out of the training data. ``seed=None`` (a real audit) draws the
    secret inclusion flips and the row order from the OS CSPRNG; a seed makes the whole audit
    reproducible (fine when the trainer cannot see it, e.g. in tests). Returns the best
    corrected bound (:meth:`OneRunAudit.best`) and the number of canaries included.
    """
    X, y = np.asarray(X, dtype=np.float32), np.asarray(y, dtype=np.int64)
    classes = int(classes if classes is not None else y.max() + 1)
    canary_gen, flip_gen = (
        (np.random.default_rng(), None)
        if seed is None
        else tuple(np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    )
    if canary_pool is None:
        if len(X) <= m:
            raise ValueError(f"m: need more rows than canaries without a canary_pool ({len(X)})")
        held = np.zeros(len(X), dtype=bool)
        held[canary_gen.choice(len(X), m, replace=False)] = True
        canary_pool, X, y = (X[held], y[held]), X[~held], y[~held]
    X_can, y_can = make_tabular_canaries(
        canary_pool[0], m, classes, canary_gen, y_pool=canary_pool[1], outlier_scale=outlier_scale
    )
    audit = OneRunAudit(delta, confidence)
    included = audit.make_canaries(m, flip_gen)
    X_train = np.concatenate([X, X_can[included]])
    y_train = np.concatenate([y, y_can[included]])
    n = len(y_train)
    order = np.argsort(secure_uniform(n)) if flip_gen is None else flip_gen.permutation(n)
    model = train_fn(X_train[order], y_train[order])
    scores = label_confidence_scores(model, X_can, y_can)
    return {**audit.best(scores, included, k_grid), "included": int(included.sum())}
