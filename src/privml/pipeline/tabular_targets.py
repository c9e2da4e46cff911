"""Train, save and load the tabular scenario's target models.

A target is one trained classifier plus what the attacks need to judge it: which pool rows it
trained on (``members``), how it was trained (the recipe, reused for its reference models) and
what privacy it claims. Checkpoints hold tensors and plain values only, so they load with
``torch.load(weights_only=True)`` (no pickled code runs when a reviewer opens one).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from privml import atomic
from privml.classifiers import Recipe, make_net
from privml.classifiers.train import fit
from privml.dp.classifier import train_dp_classifier
from privml.pipeline.tabular_spec import TabularSpec, TabularTrain

CHECKPOINT_VERSION = 1


@dataclass
class Target:
    """A trained target and the facts its measurement needs."""

    name: str
    model: nn.Module
    members: np.ndarray  # bool over the pool: trained on this row
    recipe: Recipe
    architecture: str
    hidden: list[int]
    in_features: int
    classes: int
    dp: dict | None = None  # epsilon, delta, noise_multiplier, sampling_rate, steps, ...
    seconds: float = 0.0


def recipe_of(train: TabularTrain) -> Recipe:
    return Recipe(
        epochs=train.epochs,
        batch_size=train.batch_size,
        lr=train.lr,
        optimizer=train.optimizer,
        weight_decay=train.weight_decay,
    )


def net_factory(architecture: str, in_features: int, classes: int, hidden: list[int]):
    """A zero-argument constructor (the ensemble trainer builds many copies)."""

    def make() -> nn.Module:
        if architecture == "mlp":
            return make_net("mlp", in_features, classes, hidden=tuple(hidden))
        return make_net(architecture, in_features, classes)

    return make


def target_names(spec: TabularSpec) -> list[str]:
    """``baseline`` then ``eps_<ε>`` for each DP target (``eps_1``, ``eps_4``, ``eps_0.5``)."""
    return ["baseline"] + [eps_name(e) for e in spec.dp.epsilons]


def eps_name(epsilon: float) -> str:
    return f"eps_{epsilon:g}"


def train_target(
    name: str,
    spec: TabularSpec,
    X: np.ndarray,
    y: np.ndarray,
    members: np.ndarray,
    delta: float,
    *,
    seed: int,
    epsilon: float | None = None,
    progress=None,
) -> Target:
    """Train the baseline (``epsilon=None``) or a DP-SGD target on the member rows."""
    classes = int(y.max()) + 1
    make = net_factory(spec.model.architecture, X.shape[1], classes, spec.model.hidden)
    torch.manual_seed(seed)
    model = make()
    xs, ys = X[members], y[members]
    start = time.perf_counter()
    if epsilon is None:
        recipe = recipe_of(spec.model.train)
        model = fit(model, xs, ys, recipe, seed=seed, progress=progress)
        dp = None
    else:
        recipe = recipe_of(spec.dp.train)
        model, stats = train_dp_classifier(
            model,
            xs,
            ys,
            recipe=recipe,
            target_epsilon=epsilon,
            delta=delta,
            max_grad_norm=spec.dp.max_grad_norm,
            accountant=spec.dp.accountant,
            progress=progress,
        )
        dp = _dp_facts(stats, spec)
    return Target(
        name=name,
        model=model,
        members=members,
        recipe=recipe,
        architecture=spec.model.architecture,
        hidden=list(spec.model.hidden),
        in_features=X.shape[1],
        classes=classes,
        dp=dp,
        seconds=round(time.perf_counter() - start, 1),
    )


def _dp_facts(stats, spec: TabularSpec) -> dict:
    keys = ("epsilon", "epsilon_rdp", "delta", "noise_multiplier", "sampling_rate", "steps")
    facts = {k: getattr(stats, k) for k in keys if hasattr(stats, k)}
    facts.update(
        unit="example",
        accountant=spec.dp.accountant,
        max_grad_norm=spec.dp.max_grad_norm,
    )
    return facts


def save_target(target: Target, path: Path) -> Path:
    """Write ``target`` as a weights-only checkpoint (atomically)."""
    payload = {
        "version": CHECKPOINT_VERSION,
        "name": target.name,
        "state_dict": target.model.state_dict(),
        "members": torch.from_numpy(target.members.astype(np.bool_)),
        "recipe": asdict(target.recipe),
        "architecture": target.architecture,
        "hidden": list(target.hidden),
        "in_features": target.in_features,
        "classes": target.classes,
        "dp": target.dp,
    }
    with atomic.atomic_open(path, "wb") as fh:
        torch.save(payload, fh)
    return path


def load_target(path: Path) -> Target:
    """Read a checkpoint written by :func:`save_target`; errors name the file and the problem."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ValueError(f"{path}: checkpoint not found") from None
    except Exception as exc:  # torch raises several types for a corrupt or foreign file
        raise ValueError(f"{path}: not a privml tabular checkpoint ({exc})") from None
    missing = {"version", "state_dict", "members", "recipe", "architecture"} - set(payload)
    if not isinstance(payload, dict) or missing:
        raise ValueError(f"{path}: not a privml tabular checkpoint (missing {sorted(missing)})")
    if payload["version"] != CHECKPOINT_VERSION:
        raise ValueError(f"{path}: checkpoint version {payload['version']} is not supported")
    make = net_factory(
        payload["architecture"], payload["in_features"], payload["classes"], payload["hidden"]
    )
    model = make()
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        raise ValueError(f"{path}: weights do not fit the recorded architecture ({exc})") from None
    return Target(
        name=payload["name"],
        model=model.eval(),
        members=payload["members"].numpy().astype(bool),
        recipe=Recipe(**payload["recipe"]),
        architecture=payload["architecture"],
        hidden=list(payload["hidden"]),
        in_features=int(payload["in_features"]),
        classes=int(payload["classes"]),
        dp=payload["dp"],
    )
