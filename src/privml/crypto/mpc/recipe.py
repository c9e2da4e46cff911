"""The training recipe, in plaintext: the reference the secure training is compared against.

Logistic regression by mini-batch gradient descent, ``w -= lr/|B| * X_B^T (s(X_B w) - y_B)``,
with a bias as the last weight and zero initialisation. ``s`` is the *hard sigmoid*
``clip(z/4 + 1/2, 0, 1)`` (slope 1/4 matches the logistic function at 0): in MPC it costs two
secure comparisons and one multiplication per row, where the exact logistic function would need
a secure exponential. The batch order is a public permutation drawn from ``recipe.seed`` over
the pooled rows (party 0's rows first, then party 1's, ...), so the secure run and this one
visit the same batches in the same order; it depends only on row counts, which are public.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import numpy as np

from privml.crypto.mpc.spec import Recipe


def batches(n: int, recipe: Recipe) -> Iterator[np.ndarray]:
    """Row indices of every mini-batch, epoch after epoch (a fresh permutation each epoch)."""
    rng = np.random.default_rng(recipe.seed)
    for _ in range(recipe.epochs):
        order = rng.permutation(n)
        for start in range(0, n, recipe.batch_size):
            yield order[start : start + recipe.batch_size]


def hard_sigmoid(z: np.ndarray) -> np.ndarray:
    return np.clip(z / 4 + 0.5, 0.0, 1.0)


def logistic(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))


def with_bias(X: np.ndarray) -> np.ndarray:
    return np.hstack([X, np.ones((len(X), 1))])


def train_plain(
    X: np.ndarray,
    y: np.ndarray,
    recipe: Recipe,
    sigmoid: Literal["hard", "exact"] = "hard",
) -> np.ndarray:
    """Weights ``(d+1,)`` (bias last) of the recipe run in float64 on the pooled rows."""
    Xb = with_bias(np.asarray(X, dtype=np.float64))
    yf = np.asarray(y, dtype=np.float64)
    s = hard_sigmoid if sigmoid == "hard" else logistic
    w = np.zeros(Xb.shape[1])
    for idx in batches(len(yf), recipe):
        residual = s(Xb[idx] @ w) - yf[idx]
        w -= recipe.learning_rate / len(idx) * (Xb[idx].T @ residual)
    return w


def predict(w: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Labels 1 where ``w . x + b >= 0`` (probability >= 1/2 under either sigmoid)."""
    return (with_bias(np.asarray(X, dtype=np.float64)) @ np.asarray(w) >= 0).astype(np.int64)


def accuracy(w: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(predict(w, X) == np.asarray(y)))
