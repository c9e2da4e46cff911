"""The federated tasks behind one small interface, picked by the flat config's ``dataset``.

``adult``: the tabular classifier (a client is a silo or user holding Adult rows; attack scores
are rows, grouped per client). ``text``: the next-word model (a client is one user of a JSONL
corpus; attack scores are users). The server rounds, the ClientApp and the attack only call
these methods, so neither knows which task runs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from torch import nn

from privml.federated import task_lm, task_tabular


def _train_options(cfg: dict, seed: int) -> dict:
    return {
        "epochs": int(cfg["local-epochs"]),
        "batch_size": int(cfg["batch-size"]),
        "lr": float(cfg["lr"]),
        "optimizer": str(cfg["optimizer"]),
        "seed": seed,
    }


class TabularTask:
    name = "adult"

    def dataset(self, cfg: dict) -> Any:
        return task_tabular.dataset_from_config(cfg)

    def model(self, cfg: dict, ds: Any) -> nn.Module:
        hidden = [int(h) for h in str(cfg["hidden"]).split(",") if h]
        return task_tabular.make_model(
            str(cfg["architecture"]), ds.in_features, hidden, int(cfg["seed"])
        )

    def train(self, model: nn.Module, ds: Any, pid: int, cfg: dict, seed: int) -> float:
        X, y = ds.client(pid)
        return task_tabular.local_train(model, X, y, **_train_options(cfg, seed))

    def evaluate(self, model: nn.Module, ds: Any) -> dict[str, float]:
        return task_tabular.evaluate(model, ds.X_test, ds.y_test)

    def scores(self, model: nn.Module, ds: Any) -> list[np.ndarray]:
        """Per-client arrays of per-example losses (training clients first, then held out)."""
        losses = task_tabular.example_losses(model, ds.X, ds.y)
        return [losses[p] for p in ds.parts]


class TextTask:
    name = "text"

    def dataset(self, cfg: dict) -> Any:
        return task_lm.load_text_dataset(
            str(cfg["private-path"]),
            str(cfg["tokenizer-path"]),
            int(cfg["clients"]),
            int(cfg["holdout-clients"]),
            int(cfg["context"]),
            int(cfg["seed"]),
        )

    def model(self, cfg: dict, ds: Any) -> nn.Module:
        return task_lm.make_lm(
            ds.vocab_size,
            int(cfg["d-model"]),
            int(cfg["layers"]),
            int(cfg["heads"]),
            ds.context,
            int(cfg["seed"]),
        )

    def train(self, model: nn.Module, ds: Any, pid: int, cfg: dict, seed: int) -> float:
        return task_lm.local_train_lm(model, ds.client(pid), ds.pad, **_train_options(cfg, seed))

    def evaluate(self, model: nn.Module, ds: Any) -> dict[str, float]:
        return task_lm.evaluate_lm(model, ds)

    def scores(self, model: nn.Module, ds: Any) -> list[np.ndarray]:
        """One score per user: the user's mean next-token loss."""
        losses = task_lm.user_losses(model, list(ds.units), ds.pad)
        return [np.array([v]) for v in losses]


TASKS = {"adult": TabularTask(), "text": TextTask()}


def task_for(cfg: dict) -> TabularTask | TextTask:
    """The task named by ``cfg["dataset"]`` (default ``adult``)."""
    name = str(cfg.get("dataset", "adult"))
    if name not in TASKS:
        raise ValueError(f"dataset: must be one of {', '.join(TASKS)}, got {name!r}")
    return TASKS[name]
