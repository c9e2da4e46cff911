"""Network definitions: an MLP, logistic regression and a small CNN.

All map a float batch to class logits. None uses batch norm (per-sample gradients and vmap
need per-example independence), so each works with Opacus and with ``torch.func``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class MLP(nn.Module):
    """Fully connected ReLU network: ``in_features -> hidden... -> classes``."""

    def __init__(self, in_features: int, classes: int = 2, hidden: Sequence[int] = (64,)) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = in_features
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        layers.append(nn.Linear(width, classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class LogisticRegression(nn.Module):
    """Multinomial logistic regression (one linear layer)."""

    def __init__(self, in_features: int, classes: int = 2) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x)


class SmallCNN(nn.Module):
    """Two conv blocks and a linear head for small images ``(B, C, H, W)``."""

    def __init__(self, channels: int = 3, classes: int = 10, width: int = 16) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(4),
        )
        self.head = nn.Linear(2 * width * 16, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))


def make_net(kind: str, in_shape: int | tuple[int, ...], classes: int, **kwargs) -> nn.Module:
    """Build a network by name: ``mlp``, ``logreg`` or ``cnn``."""
    if kind == "mlp":
        return MLP(int(in_shape), classes, **kwargs)
    if kind == "logreg":
        return LogisticRegression(int(in_shape), classes)
    if kind == "cnn":
        channels = in_shape[0] if isinstance(in_shape, tuple) else int(in_shape)
        return SmallCNN(channels, classes, **kwargs)
    raise ValueError(f"model kind: must be 'mlp', 'logreg' or 'cnn', got {kind!r}")
