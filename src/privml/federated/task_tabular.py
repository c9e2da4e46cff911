"""The tabular federated task: UCI Adult split into clients, a small classifier, local training.

Adult's train split is partitioned into ``clients`` training clients followed by
``holdout_clients`` non-member clients (never sampled; the membership attack's controls). The
test split measures utility. Every process rebuilds the same split from the spec's seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from torch import nn

from privml.classifiers.nets import make_net
from privml.data.adult import load_adult
from privml.federated.partition import partition


@dataclass(frozen=True, eq=False)
class FedDataset:
    """Training rows, each client's row indices into them, and the test rows."""

    X: np.ndarray
    y: np.ndarray
    parts: tuple[np.ndarray, ...]  # clients first, then holdout clients
    clients: int
    X_test: np.ndarray
    y_test: np.ndarray

    @property
    def in_features(self) -> int:
        return int(self.X.shape[1])

    def client(self, cid: int) -> tuple[np.ndarray, np.ndarray]:
        if not 0 <= cid < len(self.parts):
            raise ValueError(f"partition-id: must be in [0, {len(self.parts)}), got {cid}")
        idx = self.parts[cid]
        return self.X[idx], self.y[idx]

    def rows_of(self, cids: range | list[int]) -> np.ndarray:
        return np.concatenate([self.parts[c] for c in cids]) if len(cids) else np.array([], int)


@lru_cache(maxsize=4)
def load_dataset(
    clients: int,
    holdout: int,
    scheme: str,
    alpha: float,
    seed: int,
    max_rows: int | None = None,
    eval_rows: int | None = None,
) -> FedDataset:
    """The seeded federated split of Adult (cached: every round reuses it)."""
    train, test = load_adult("train"), load_adult("test")
    X, y = train.X, train.y
    rng = np.random.default_rng(seed)
    if max_rows is not None and max_rows < len(y):
        keep = np.sort(rng.choice(len(y), max_rows, replace=False))
        X, y = X[keep], y[keep]
    parts = partition(y, clients + holdout, scheme, alpha, seed)
    Xt, yt = test.X, test.y
    if eval_rows is not None and eval_rows < len(yt):
        keep = np.sort(np.random.default_rng(seed + 1).choice(len(yt), eval_rows, replace=False))
        Xt, yt = Xt[keep], yt[keep]
    return FedDataset(X, y, tuple(parts), clients, Xt, yt)


def dataset_from_config(cfg: dict) -> FedDataset:
    """``load_dataset`` from the flat config that travels in run-config and messages."""
    return load_dataset(
        int(cfg["clients"]),
        int(cfg["holdout-clients"]),
        str(cfg["partition"]),
        float(cfg["alpha"]),
        int(cfg["seed"]),
        int(cfg["max-rows"]) or None,
        int(cfg["eval-rows"]) or None,
    )


def make_model(architecture: str, in_features: int, hidden: list[int], seed: int) -> nn.Module:
    torch.manual_seed(seed)
    kwargs = {"hidden": tuple(hidden)} if architecture == "mlp" else {}
    return make_net(architecture, in_features, 2, **kwargs)


def get_weights(model: nn.Module) -> list[np.ndarray]:
    return [p.detach().cpu().numpy().astype(np.float32).copy() for p in model.parameters()]


def set_weights(model: nn.Module, weights: list[np.ndarray]) -> None:
    with torch.no_grad():
        for p, w in zip(model.parameters(), weights, strict=True):
            p.copy_(torch.as_tensor(np.asarray(w), dtype=p.dtype))


def make_optimizer(model: nn.Module, optimizer: str, lr: float) -> torch.optim.Optimizer:
    """The client's optimizer (fresh every round: no state crosses rounds)."""
    if optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=lr)
    return torch.optim.SGD(model.parameters(), lr=lr)


def local_train(
    model: nn.Module,
    X: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    optimizer: str,
    seed: int,
) -> float:
    """``epochs`` passes of minibatch SGD/Adam on the client's rows; the mean training loss."""
    gen = torch.Generator().manual_seed(seed)
    Xt, yt = torch.as_tensor(X), torch.as_tensor(y)
    opt = make_optimizer(model, optimizer, lr)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    total, seen = 0.0, 0
    for _ in range(epochs):
        order = torch.randperm(len(yt), generator=gen)
        for start in range(0, len(yt), batch_size):
            idx = order[start : start + batch_size]
            opt.zero_grad()
            loss = loss_fn(model(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            seen += len(idx)
    return total / max(seen, 1)


@torch.no_grad()
def evaluate(model: nn.Module, X: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Mean cross-entropy and accuracy."""
    model.eval()
    logits = model(torch.as_tensor(X))
    yt = torch.as_tensor(y)
    loss = nn.functional.cross_entropy(logits, yt)
    acc = (logits.argmax(-1) == yt).float().mean()
    return {"loss": float(loss), "accuracy": float(acc)}


@torch.no_grad()
def example_losses(model: nn.Module, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-row cross-entropy (the loss attack's score)."""
    model.eval()
    logits = model(torch.as_tensor(X))
    return nn.functional.cross_entropy(logits, torch.as_tensor(y), reduction="none").numpy()
