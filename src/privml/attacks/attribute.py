"""Attribute inference: recover a sensitive attribute from a model and the rest of a record.

The attacker knows a person's other features and true label, not the sensitive value (say
sex). For each candidate value she rebuilds the feature vector and asks the model how likely
the true label is; she guesses the value that makes it most likely, optionally weighted by the
value's prior (Fredrikson et al. 2014; Yeom et al. 2018, whose analysis ties the attack to
overfitting). Accuracy is compared with the best constant guess (always the most common
value), and measured separately on training members and non-members: what the model reveals
about everyone is a population statistic; the members' extra accuracy is leakage that comes
from having trained on them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

PredictProba = Callable[[np.ndarray], np.ndarray]
BuildRows = Callable[[Any], np.ndarray]  # candidate value -> the rows' features with that value


def predict_proba(model: object, X: np.ndarray) -> np.ndarray:
    """Class probabilities (n, classes) of a torch module (softmax of logits) or sklearn model."""
    if isinstance(model, torch.nn.Module):
        with torch.no_grad():
            z = model(torch.as_tensor(np.asarray(X), dtype=torch.float32))
        return torch.softmax(z.double(), dim=1).numpy()
    return np.asarray(model.predict_proba(X))


def column_builder(rows: np.ndarray, column: int) -> BuildRows:
    """``build_rows`` for an attribute stored in one numeric column of ``rows``."""
    base = np.array(rows, dtype=np.float32, copy=True)

    def build(value: float) -> np.ndarray:
        X = base.copy()
        X[:, column] = value
        return X

    return build


def onehot_builder(rows: np.ndarray, columns: Sequence[int]) -> BuildRows:
    """``build_rows`` for a one-hot attribute: value ``i`` sets ``columns[i]`` to 1, others 0."""
    base, cols = np.array(rows, dtype=np.float32, copy=True), list(columns)

    def build(value: int) -> np.ndarray:
        X = base.copy()
        X[:, cols] = 0.0
        X[:, cols[int(value)]] = 1.0
        return X

    return build


def attribute_inference(
    predict_proba_fn: PredictProba,
    build_rows: BuildRows,
    values: Sequence[Any],
    y: np.ndarray,
    prior: Sequence[float] | None = None,
) -> np.ndarray:
    """Guess each row's value: argmax over values of P_model(true label | row with value) · prior.

    ``build_rows(value)`` returns the attacked rows' feature matrix with the attribute set to
    ``value`` (see :func:`column_builder`, :func:`onehot_builder`); ``prior`` (one weight per
    value, default uniform) is the attacker's belief. Ties go to the earlier value.
    """
    y = np.asarray(y, dtype=np.int64)
    weights = np.ones(len(values)) if prior is None else np.asarray(prior, dtype=float)
    if len(weights) != len(values):
        raise ValueError(f"prior: need one weight per value ({len(values)}), got {len(weights)}")
    like = np.stack([predict_proba_fn(build_rows(v))[np.arange(len(y)), y] for v in values], axis=1)
    best = np.argmax(like * weights[None, :], axis=1)
    return np.asarray(values)[best]


def attribute_metrics(guesses: np.ndarray, truth: np.ndarray) -> dict[str, float | int]:
    """Accuracy against the best constant guess, plain and class-balanced.

    ``prior_accuracy`` is the accuracy of always guessing the most common true value, so a
    guesser that ignores the model scores ``advantage`` <= 0. ``balanced_accuracy`` is the mean
    per-value recall; any constant guess scores 1/K there, hence ``balanced_advantage``.
    """
    g, t = np.asarray(guesses), np.asarray(truth)
    if g.shape != t.shape or len(t) == 0:
        raise ValueError("guesses and truth: need equal, non-zero lengths")
    kinds, counts = np.unique(t, return_counts=True)
    accuracy = float(np.mean(g == t))
    prior_accuracy = float(counts.max() / len(t))
    balanced = float(np.mean([np.mean(g[t == k] == k) for k in kinds]))
    return {
        "accuracy": accuracy,
        "prior_accuracy": prior_accuracy,
        "advantage": accuracy - prior_accuracy,
        "balanced_accuracy": balanced,
        "balanced_advantage": balanced - 1.0 / len(kinds),
        "rows": int(len(t)),
    }


def attribute_attack(
    predict_proba_fn: PredictProba,
    values: Sequence[Any],
    members: tuple[BuildRows, np.ndarray, np.ndarray],
    non_members: tuple[BuildRows, np.ndarray, np.ndarray],
    prior: Sequence[float] | None = None,
) -> dict[str, Any]:
    """Run the attack on members and non-members, each given as (build_rows, y, true values).

    ``membership_gap`` is members' accuracy minus non-members' (the leakage attributable to
    training on a person, as opposed to what the model says about the population).
    """
    out: dict[str, Any] = {}
    for name, (build, y, truth) in (("members", members), ("non_members", non_members)):
        guesses = attribute_inference(predict_proba_fn, build, values, y, prior)
        out[name] = attribute_metrics(guesses, truth)
    out["membership_gap"] = out["members"]["accuracy"] - out["non_members"]["accuracy"]
    return out
