"""Property inference by poisoning (Mahloujifar, Ghosh, Chase, IEEE S&P 2022).

What fraction t of the victim's training rows has a property (say sex = Female)? A model
trained on clean data answers questions about individuals, not about t. The attacker
therefore adds p poison rows that have the property and a fixed label: the trained model's
output on property-carrying queries then depends on how many genuine property rows diluted
the poison, roughly (t·n·a + p) / (t·n + p) for base rate a. She trains shadow models at known
fractions, learns the map from "mean predicted probability of the poison label over property
queries" to t (a monotone, isotonic fit), and reads t off the target model.

``property_inference`` runs one condition (``poison_count = 0`` is the no-poisoning
baseline) with any ``train_fn``: a non-private trainer or DP-SGD (``train_dp_classifier``);
shadow models use ``shadow_train_fn`` (default: the same trainer, as the attacker is assumed
to know the training algorithm).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sklearn.isotonic import IsotonicRegression

from privml.attacks.attribute import predict_proba

TrainFn = Callable[[np.ndarray, np.ndarray], Any]
MakeDataset = Callable[[float, np.random.Generator], tuple[np.ndarray, np.ndarray]]
PropertyRows = Callable[[int, np.random.Generator], np.ndarray]


def _poisoned(
    make_dataset: MakeDataset,
    t: float,
    poison: np.ndarray,
    poison_label: int,
    seed: np.random.SeedSequence,
) -> tuple[np.ndarray, np.ndarray]:
    """The victim's data at fraction ``t`` with the attacker's poison rows appended."""
    rng = np.random.default_rng(seed)
    X, y = make_dataset(t, rng)
    X = np.concatenate([np.asarray(X, dtype=np.float32), poison.astype(np.float32)])
    y = np.concatenate([np.asarray(y, dtype=np.int64), np.full(len(poison), poison_label)])
    order = rng.permutation(len(y))
    return X[order], y[order]


def query_statistic(model: Any, queries: np.ndarray, label: int) -> float:
    """Mean predicted probability of ``label`` over the property-carrying ``queries``."""
    return float(np.mean(predict_proba(model, queries)[:, label]))


def property_inference(
    train_fn: TrainFn,
    make_dataset: MakeDataset,
    property_rows_fn: PropertyRows,
    fractions: Sequence[float],
    poison_count: int,
    *,
    poison_label: int = 1,
    shadow_fractions: Sequence[float] | None = None,
    shadows_per_fraction: int = 2,
    targets_per_fraction: int = 1,
    query_count: int = 500,
    shadow_train_fn: TrainFn | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Estimate the property fraction of target models trained at each of ``fractions``.

    ``make_dataset(t, rng)`` builds the victim's (X, y) with a fraction t of property rows;
    ``property_rows_fn(k, rng)`` draws k feature rows that carry the property (the attacker
    can sample such people, not the victim's data). The same poison rows go into every shadow
    and target training set. ``shadow_fractions`` defaults to 6 points spanning ``fractions``.
    Returns per-target estimates, their mean absolute error (``mae``) and the shadow curve.
    """
    if poison_count < 0:
        raise ValueError(f"poison_count: must be >= 0, got {poison_count}")
    shadow_train_fn = shadow_train_fn or train_fn
    grid = (
        list(shadow_fractions)
        if shadow_fractions is not None
        else list(np.linspace(min(fractions), max(fractions), 6))
    )
    shadow_t = [t for t in grid for _ in range(shadows_per_fraction)]
    target_t = [t for t in fractions for _ in range(targets_per_fraction)]
    # Independent streams, so runs that differ only in poison_count see the same data.
    q_seed, p_seed, *data_seeds = np.random.SeedSequence(seed).spawn(
        2 + len(shadow_t) + len(target_t)
    )
    queries = property_rows_fn(query_count, np.random.default_rng(q_seed))
    poison = property_rows_fn(max(poison_count, 1), np.random.default_rng(p_seed))[:poison_count]

    def statistic(trainer: TrainFn, t: float, data_seed: np.random.SeedSequence) -> float:
        X, y = _poisoned(make_dataset, t, poison, poison_label, data_seed)
        return query_statistic(trainer(X, y), queries, poison_label)

    shadow_s = [
        statistic(shadow_train_fn, t, s)
        for t, s in zip(shadow_t, data_seeds[: len(shadow_t)], strict=True)
    ]
    rising = bool(np.corrcoef(shadow_s, shadow_t)[0, 1] >= 0) if np.std(shadow_s) > 0 else True
    fit = IsotonicRegression(increasing=rising, out_of_bounds="clip").fit(shadow_s, shadow_t)
    target_seeds = data_seeds[len(shadow_t) :]
    target_s = [statistic(train_fn, t, s) for t, s in zip(target_t, target_seeds, strict=True)]
    estimates = fit.predict(np.asarray(target_s, dtype=float))
    errors = np.abs(estimates - np.asarray(target_t))
    return {
        "mae": float(errors.mean()),
        "poison_count": int(poison_count),
        "targets": [
            {"fraction": float(t), "statistic": s, "estimate": float(e)}
            for t, s, e in zip(target_t, target_s, estimates, strict=True)
        ],
        "shadows": [
            {"fraction": float(t), "statistic": s} for t, s in zip(shadow_t, shadow_s, strict=True)
        ],
    }
