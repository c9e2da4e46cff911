"""Turn a model into the per-example numbers the membership attacks consume.

``score_examples`` accepts a PyTorch classifier (logits), a scikit-learn estimator with
``predict_proba``, a stacked ensemble exposing ``logits(X) -> (k, n, C)``, or a causal-LM
scorer exposing ``losses(units)`` (``privml.attacks.lm.CausalLMScorer``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from privml.attacks.membership import P_CLIP, logit_confidence

SUPPORTED = (
    "a torch.nn.Module returning class logits (with integer labels y), "
    "an estimator with predict_proba and classes_ (with labels y), "
    "an ensemble with logits(X) -> (k, n, C) (with labels y), "
    "or an LM scorer with losses(units) (y=None)"
)


@dataclass(frozen=True)
class ExampleScores:
    """True-label probability, LiRA confidence log(p/(1-p)) and loss per example.

    Shapes are (n,) for one model and (k, n) for an ensemble of k models; float64.
    """

    prob_true: np.ndarray
    logit_conf: np.ndarray
    loss: np.ndarray


def scores_from_logits(logits: torch.Tensor, y: torch.Tensor) -> ExampleScores:
    """Scores from logits (..., C) and labels (the batch shape), computed in float64.

    ``phi = z_y - logsumexp_{j != y} z_j`` equals log p - log(1 - p) without forming p, so it
    stays exact when p rounds to 1. A single logit (C = 1, or no class axis) is read as a
    binary classifier's log-odds of class 1.
    """
    z = logits.detach().to(torch.float64).cpu()
    if z.shape == y.shape:
        z = z.unsqueeze(-1)
    if z.shape[-1] == 1:
        z = torch.cat([torch.zeros_like(z), z], dim=-1)
    if z.shape[:-1] != y.shape:
        raise ValueError(f"logits of shape {tuple(z.shape)} do not match labels {tuple(y.shape)}")
    classes = z.shape[-1]
    y = y.to(torch.long).cpu()
    if len(y) and (y.min() < 0 or y.max() >= classes):
        raise ValueError(f"labels must be integers in [0, {classes}), got {y.min()}..{y.max()}")
    idx = y.unsqueeze(-1)
    z_y = z.gather(-1, idx).squeeze(-1)
    others = z.scatter(-1, idx, float("-inf"))
    loss = torch.logsumexp(z, -1) - z_y
    phi = z_y - torch.logsumexp(others, -1)
    return ExampleScores(torch.exp(-loss).numpy(), phi.numpy(), loss.numpy())


def _labels(y: Any, n: int) -> torch.Tensor:
    if y is None:
        raise ValueError("classifier scores need the true labels y")
    a = np.asarray(y.cpu() if isinstance(y, torch.Tensor) else y)
    if a.shape != (n,) or a.dtype.kind not in "iu":
        raise ValueError(f"y must be {n} integer labels, got shape {a.shape} ({a.dtype})")
    return torch.as_tensor(a.astype(np.int64))


def _batched(fn: Callable[[Any], Any], X: Any, batch_size: int, axis: int = 0) -> torch.Tensor:
    outs = [torch.as_tensor(fn(X[i : i + batch_size])) for i in range(0, len(X), batch_size)]
    if not outs:
        raise ValueError("no examples to score")
    return torch.cat(outs, dim=axis)


def _torch_logits(model: torch.nn.Module, X: Any, batch_size: int) -> torch.Tensor:
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    X = torch.as_tensor(X)
    if X.is_floating_point() and param is not None and param.is_floating_point():
        X = X.to(param.dtype)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            return _batched(lambda b: model(b.to(device)).cpu(), X, batch_size)
    finally:
        model.train(was_training)


def _ensemble_logits(model: Any, X: Any, batch_size: int) -> torch.Tensor:
    with torch.no_grad():
        return _batched(lambda b: torch.as_tensor(model.logits(b)).cpu(), X, batch_size, axis=1)


def _sklearn(model: Any, X: Any, y: Any, batch_size: int) -> ExampleScores:
    probs = _batched(model.predict_proba, X, batch_size).numpy().astype(np.float64)
    classes = np.asarray(getattr(model, "classes_", np.arange(probs.shape[1])))
    y = np.asarray(y)
    if y.shape != (len(probs),):
        raise ValueError(f"y must have shape ({len(probs)},), got {y.shape}")
    order = np.argsort(classes)
    pos = np.clip(np.searchsorted(classes, y, sorter=order), 0, len(classes) - 1)
    col = order[pos]
    unknown = classes[col] != y
    if unknown.any():
        raise ValueError(f"labels {sorted(set(y[unknown].tolist()))} are not in classes_")
    p = np.clip(probs[np.arange(len(y)), col], P_CLIP, 1.0 - P_CLIP)
    return ExampleScores(p, logit_confidence(p), -np.log(p))


def _lm(model: Any, X: Any, batch_size: int) -> ExampleScores:
    units = list(X)
    loss = _batched(model.losses, units, batch_size).detach().cpu().numpy().astype(np.float64)
    loss = np.maximum(loss, P_CLIP)  # p = exp(-loss) <= 1 - 1e-12, so the logit stays finite
    return ExampleScores(np.exp(-loss), -loss - np.log(-np.expm1(-loss)), loss)


def score_examples(model: Any, X: Any, y: Any = None, *, batch_size: int = 4096) -> ExampleScores:
    """Per-example true-label probability, logit confidence and loss of ``model`` on (X, y).

    - causal-LM scorer (``losses(units)``, y None; X = token-id tensors): loss is the unit's
      mean token loss, ``prob_true = exp(-loss)`` (geometric-mean per-token likelihood);
    - ensemble (``logits(X)`` returning (k, n, C)): arrays of shape (k, n);
    - ``torch.nn.Module`` classifier returning logits: evaluated in eval mode, no grad;
    - estimator with ``predict_proba`` (and ``classes_`` mapping labels to columns):
      probabilities clipped to [1e-12, 1 - 1e-12].

    Raises TypeError for anything else.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    if y is None and callable(getattr(model, "losses", None)):
        return _lm(model, X, batch_size)
    if callable(getattr(model, "logits", None)):
        logits = _ensemble_logits(model, X, batch_size)
        if logits.ndim != 3:
            raise TypeError(f"model.logits(X) must return (k, n, C), got {tuple(logits.shape)}")
        labels = _labels(y, logits.shape[1])
        return scores_from_logits(logits, labels.expand(logits.shape[0], -1))
    if isinstance(model, torch.nn.Module):
        logits = _torch_logits(model, X, batch_size)
        return scores_from_logits(logits, _labels(y, logits.shape[0]))
    if callable(getattr(model, "predict_proba", None)):
        return _sklearn(model, X, y, batch_size)
    raise TypeError(f"cannot score a {type(model).__name__}; supported: {SUPPORTED}")
