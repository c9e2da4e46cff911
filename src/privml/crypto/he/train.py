"""Training HE-friendly models on Adult with PyTorch (seeded), and their export.

The MLP's activation is the polynomial ``a h^2 + b h + c`` *trained as such* (coefficients
learned, initialised to a least-squares fit of ReLU on [-3, 3]): no approximation after the
fact, so HE evaluates exactly the network that was trained and the only accuracy cost against a
ReLU MLP is the activation's (``benchmarks/he_inference.py`` reports both). A degree-2
activation keeps the multiplicative depth at 3, the smallest an MLP with a non-linearity can
have. Training uses privml's ``fit`` (Adam, cross-entropy, seeded batch order); the initial
weights come from ``torch.manual_seed(seed)``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from privml.classifiers.nets import LogisticRegression
from privml.classifiers.recipe import Recipe
from privml.classifiers.train import fit, predict_logits
from privml.crypto.he.model import HEModel, HEModelError, Kind

# Least-squares fit of ReLU on [-3, 3]: 0.0833 x^2 + 0.5 x + 0.375 (a gentle start; learned on).
RELU_FIT = (0.375, 0.5, 0.0833)


class PolyAct(nn.Module):
    """``c0 + c1 x + c2 x^2`` with learnable coefficients."""

    def __init__(self, coeffs: tuple[float, float, float] = RELU_FIT) -> None:
        super().__init__()
        self.coeffs = nn.Parameter(torch.tensor(coeffs, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c0, c1, c2 = self.coeffs
        return c0 + c1 * x + c2 * x * x


class PolyMLP(nn.Module):
    """``in_features -> hidden -> PolyAct -> classes``: one hidden layer, HE depth 3."""

    def __init__(self, in_features: int, hidden: int = 32, classes: int = 2) -> None:
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden)
        self.act = PolyAct()
        self.fc2 = nn.Linear(hidden, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


def default_recipe(kind: Kind) -> Recipe:
    """LR: 10 epochs at lr 1e-2; MLP: 10 epochs at lr 1e-3 with a little weight decay (keeps
    hidden pre-activations small, which the square would otherwise blow up)."""
    if kind == "logreg":
        return Recipe(epochs=10, batch_size=256, lr=1e-2)
    return Recipe(epochs=10, batch_size=256, lr=1e-3, weight_decay=1e-4)


def train_model(
    kind: Kind,
    X: np.ndarray,
    y: np.ndarray,
    feature_names: tuple[str, ...],
    *,
    seed: int = 0,
    hidden: int = 32,
    recipe: Recipe | None = None,
) -> tuple[nn.Module, HEModel]:
    """Train ``kind`` on ``(X, y)`` and export it; returns the torch model and the HE model."""
    if kind not in ("logreg", "mlp"):
        raise HEModelError(f"kind: must be 'logreg' or 'mlp', got {kind!r}")
    if hidden < 1:
        raise HEModelError(f"hidden: must be >= 1, got {hidden}")
    recipe = recipe or default_recipe(kind)
    torch.manual_seed(seed)
    d = X.shape[1]
    net: nn.Module = LogisticRegression(d, 2) if kind == "logreg" else PolyMLP(d, hidden)
    fit(net, X, y, recipe, seed=seed)
    meta = {
        "seed": seed,
        "recipe": {
            "epochs": recipe.epochs,
            "batch_size": recipe.batch_size,
            "lr": recipe.lr,
            "weight_decay": recipe.weight_decay,
        },
        "train_rows": int(len(X)),
    }
    if kind == "mlp":
        meta["hidden"] = hidden
    return net, export(net, feature_names, meta)


def export(net: nn.Module, feature_names: tuple[str, ...], meta: dict | None = None) -> HEModel:
    """The score weights (positive-class logit minus negative-class logit) of a trained net."""

    def np64(t: torch.Tensor) -> np.ndarray:
        return t.detach().cpu().numpy().astype(np.float64)

    if isinstance(net, LogisticRegression):
        W, b = np64(net.linear.weight), np64(net.linear.bias)
        arrays = {"w": W[1] - W[0], "b": np.asarray(b[1] - b[0])}
        return HEModel("logreg", arrays, tuple(feature_names), meta or {})
    if isinstance(net, PolyMLP):
        W2, b2 = np64(net.fc2.weight), np64(net.fc2.bias)
        arrays = {
            "W1": np64(net.fc1.weight),
            "b1": np64(net.fc1.bias),
            "act": np64(net.act.coeffs),
            "w2": W2[1] - W2[0],
            "b2": np.asarray(b2[1] - b2[0]),
        }
        return HEModel("mlp", arrays, tuple(feature_names), meta or {})
    raise HEModelError(f"net: cannot export {type(net).__name__} (LogisticRegression or PolyMLP)")


def torch_scores(net: nn.Module, X: np.ndarray) -> np.ndarray:
    """``logit[1] - logit[0]`` of the torch model (float64), to check the export."""
    logits = predict_logits(net, X).double().numpy()
    return logits[:, 1] - logits[:, 0]
