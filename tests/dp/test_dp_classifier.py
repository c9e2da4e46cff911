"""Example-level DP-SGD for classifiers: clipping, calibrated noise, the broken no-noise mode."""

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification

from privml.classifiers import MLP, Recipe
from privml.dp.classifier import DPClassifierStats, train_dp_classifier
from privml.dp.engine import DPStats


def _data(n: int = 400, d: int = 8, seed: int = 0):
    X, y = make_classification(n, d, n_informative=4, class_sep=2.0, random_state=seed)
    return X.astype(np.float32), y


def _one_full_batch_step(noise: bool, n: int = 64, d: int = 200, classes: int = 10, C=0.5):
    """One SGD step on the whole set (sampling rate 1): update = -lr (Σ clip(g_i) + noise) / n."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, d)).astype(np.float32)
    y = rng.integers(0, classes, n)
    torch.manual_seed(0)
    model = torch.nn.Linear(d, classes)
    before = [p.detach().clone() for p in model.parameters()]
    clipped = [torch.zeros_like(p) for p in model.parameters()]
    for i in range(n):  # reference: per-example gradients, clipped to norm C, summed
        model.zero_grad()
        loss = torch.nn.functional.cross_entropy(
            model(torch.as_tensor(X[i : i + 1])), torch.tensor([y[i]])
        )
        loss.backward()
        grads = [p.grad.detach().clone() for p in model.parameters()]
        norm = torch.sqrt(sum((g**2).sum() for g in grads))
        for acc, g in zip(clipped, grads, strict=True):
            acc += g * min(1.0, C / (float(norm) + 1e-6))
    lr = 0.1
    recipe = Recipe(epochs=1, batch_size=n, lr=lr, optimizer="sgd", momentum=0.0)
    model, stats = train_dp_classifier(
        model, X, y, recipe=recipe, target_epsilon=5.0, delta=1e-5, max_grad_norm=C, noise=noise
    )
    assert stats.steps == 1 and stats.sampling_rate == 1.0
    diffs = [
        (p.detach() - b) + lr * c / n
        for p, b, c in zip(model.parameters(), before, clipped, strict=True)
    ]
    return torch.cat([d.flatten() for d in diffs]), stats, lr, n, C


def test_without_noise_the_step_is_exactly_the_clipped_mean_gradient():
    residual, stats, *_ = _one_full_batch_step(noise=False)
    assert float(residual.abs().max()) < 1e-6
    assert stats.noise_multiplier == 0.0 and not stats.noise_added


def test_with_noise_the_residual_has_the_calibrated_std():
    residual, stats, lr, n, C = _one_full_batch_step(noise=True)
    expected = lr * stats.noise_multiplier * C / n
    assert stats.noise_multiplier == stats.calibrated_noise_multiplier > 0
    assert float(residual.std()) == pytest.approx(expected, rel=0.05)  # 2010 parameters
    assert abs(float(residual.mean())) < 4 * expected / np.sqrt(residual.numel())


def test_dp_training_meets_target_and_learns():
    X, y = _data()
    torch.manual_seed(0)
    steps = []
    model, stats = train_dp_classifier(
        MLP(8, 2, (32,)),
        X[:300],
        y[:300],
        recipe=Recipe(epochs=20, batch_size=60, lr=1e-2),
        target_epsilon=8.0,
        delta=1e-5,
        max_grad_norm=1.0,
        progress=lambda s, total: steps.append((s, total)),
    )
    assert isinstance(stats, DPStats) and isinstance(stats, DPClassifierStats)
    assert stats.epsilon <= 8.0 and stats.claimed_epsilon == stats.epsilon
    assert stats.noise_added and stats.units == 300
    assert len(steps) == stats.steps and steps[-1] == (stats.steps, stats.steps)
    with torch.no_grad():
        acc = (model(torch.as_tensor(X[300:])).argmax(1).numpy() == y[300:]).mean()
    assert acc > 0.75
    assert not hasattr(next(model.parameters()), "grad_sample")  # Opacus hooks removed
    assert not model.training


def test_no_noise_mode_still_reports_the_claimed_epsilon():
    X, y = _data()
    kwargs = dict(
        recipe=Recipe(epochs=2, batch_size=50), target_epsilon=3.0, delta=1e-5, max_grad_norm=1.0
    )
    _, honest = train_dp_classifier(MLP(8, 2), X, y, **kwargs)
    _, broken = train_dp_classifier(MLP(8, 2), X, y, noise=False, **kwargs)
    assert broken.noise_multiplier == 0.0 and not broken.noise_added
    assert broken.claimed_epsilon == honest.claimed_epsilon == broken.epsilon <= 3.0
    assert broken.calibrated_noise_multiplier == honest.noise_multiplier
    assert "NO differential privacy" in broken.note


def test_rejects_mismatched_rows():
    with pytest.raises(ValueError, match="row counts"):
        train_dp_classifier(
            MLP(8, 2),
            np.zeros((10, 8), np.float32),
            np.zeros(9, int),
            recipe=Recipe(),
            target_epsilon=1.0,
            delta=1e-5,
            max_grad_norm=1.0,
        )
