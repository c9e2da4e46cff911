"""Plain (non-private) minibatch training of one classifier, and batched prediction.

Batches come from ``BatchSampler``: a stream of seeded permutations of the rows cut into
batches of exactly ``batch_size``, so every step has the same shape. ``ensemble`` draws each
member's batches from the same sampler, which is what lets one member of a vectorised ensemble
be reproduced by ``fit`` with the member's seed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from privml.classifiers.recipe import Recipe

Progress = Callable[[int, int], None]  # (steps done, total steps)
ArrayLike = np.ndarray | torch.Tensor


def as_tensors(
    X: ArrayLike, y: ArrayLike | None = None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Float32 features and int64 labels as CPU tensors (no copy when already so)."""
    xt = torch.as_tensor(X, dtype=torch.float32)
    yt = None if y is None else torch.as_tensor(y, dtype=torch.int64)
    if yt is not None and len(yt) != len(xt):
        raise ValueError(f"X and y: lengths differ ({len(xt)} vs {len(yt)})")
    return xt, yt


class BatchSampler:
    """Batches of ``batch_size`` positions in ``range(n)``, without replacement within a pass.

    Permutations are drawn from ``generator`` one pass at a time and concatenated, so a batch
    may span two passes; all batches have the same size.
    """

    def __init__(self, n: int, batch_size: int, generator: torch.Generator) -> None:
        if n < 1 or not 1 <= batch_size <= n:
            raise ValueError(f"batch_size: must be in [1, {n}], got {batch_size}")
        self.n, self.batch_size, self.generator = n, batch_size, generator
        self._buffer = torch.empty(0, dtype=torch.int64)

    def take(self, m: int) -> torch.Tensor:
        """The next ``m`` positions of the stream (``m`` may exceed ``n``)."""
        while len(self._buffer) < m:
            perm = torch.randperm(self.n, generator=self.generator)
            self._buffer = torch.cat([self._buffer, perm])
        out, self._buffer = self._buffer[:m], self._buffer[m:]
        return out

    def next(self) -> torch.Tensor:
        """The next batch."""
        return self.take(self.batch_size)


def steps_for(recipe: Recipe, rows: int, batch_size: int) -> int:
    """Optimizer steps for ``recipe.epochs`` passes over ``rows`` rows."""
    return max(1, math.ceil(recipe.epochs * rows / batch_size))


def make_optimizer(params: Iterable[torch.Tensor], recipe: Recipe) -> torch.optim.Optimizer:
    """The recipe's optimizer (PyTorch's fused kernels: ~3x faster steps on CPU).

    Adam and SGD update each element independently (given its own gradient and state), so on
    stacked ensemble parameters they are exactly per-member updates.
    """
    params = list(params)
    if recipe.optimizer == "adam":
        return torch.optim.Adam(params, lr=recipe.lr, weight_decay=recipe.weight_decay, fused=True)
    return torch.optim.SGD(
        params,
        lr=recipe.lr,
        momentum=recipe.momentum,
        weight_decay=recipe.weight_decay,
        fused=True,
    )


def fit(
    model: nn.Module,
    X: ArrayLike,
    y: ArrayLike,
    recipe: Recipe,
    *,
    seed: int,
    progress: Progress | None = None,
) -> nn.Module:
    """Train ``model`` in place on all of ``(X, y)`` with cross-entropy; returns it.

    Batch order comes from a ``torch.Generator`` seeded with ``seed`` (the model's initial
    weights are the caller's). The batch size is capped at the number of rows.
    """
    xt, yt = as_tensors(X, y)
    batch_size = min(recipe.batch_size, len(xt))
    sampler = BatchSampler(len(xt), batch_size, torch.Generator().manual_seed(seed))
    opt = make_optimizer(model.parameters(), recipe)
    total = steps_for(recipe, len(xt), batch_size)
    model.train()
    for step in range(total):
        idx = sampler.next()
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(xt[idx]), yt[idx]).backward()
        opt.step()
        if progress is not None:
            progress(step + 1, total)
    model.eval()
    return model


@torch.no_grad()
def predict_logits(model: nn.Module, X: ArrayLike, batch_size: int = 4096) -> torch.Tensor:
    """Logits ``(n, classes)`` of ``model`` on ``X``, in eval mode and without gradients."""
    xt, _ = as_tensors(X)
    model.eval()
    chunks = [model(xt[i : i + batch_size]) for i in range(0, len(xt), batch_size)]
    return torch.cat(chunks) if chunks else model(xt)
