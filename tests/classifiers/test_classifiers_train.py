import math

import numpy as np
import pytest
import torch

from privml.classifiers import MLP, LogisticRegression, Recipe
from privml.classifiers.train import BatchSampler, fit, predict_logits


def _toy(n=400, d=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    y = (X[:, 0] - X[:, 1] > 0).astype(np.int64)
    return X, y


def _weights(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def test_fit_learns_a_separable_task_and_predicts_in_batches():
    X, y = _toy()
    torch.manual_seed(0)
    model = fit(MLP(5, 2, (16,)), X, y, Recipe(epochs=20, batch_size=32, lr=1e-2), seed=0)
    logits = predict_logits(model, X, batch_size=7)
    assert logits.shape == (400, 2) and not logits.requires_grad
    assert (logits.argmax(1).numpy() == y).mean() > 0.95
    torch.testing.assert_close(logits, predict_logits(model, X, batch_size=4096))


def test_fit_is_deterministic_given_seed_and_initial_weights():
    X, y = _toy()
    recipe = Recipe(epochs=2, batch_size=32, lr=1e-2)
    runs = []
    for seed in (1, 1, 2):
        torch.manual_seed(0)  # same initial weights each time
        runs.append(_weights(fit(LogisticRegression(5), X, y, recipe, seed=seed)))
    torch.testing.assert_close(runs[0], runs[1], rtol=0, atol=0)
    assert not torch.allclose(runs[0], runs[2])  # another seed, another batch order


def test_fit_takes_epochs_times_rows_over_batch_steps():
    X, y = _toy(n=100)
    calls = []
    fit(
        LogisticRegression(5),
        X,
        y,
        Recipe(epochs=3, batch_size=32),
        seed=0,
        progress=lambda s, t: calls.append((s, t)),
    )
    total = math.ceil(3 * 100 / 32)
    assert calls == [(s, total) for s in range(1, total + 1)]


def test_fit_with_sgd_and_fewer_rows_than_batch():
    X, y = _toy(n=10)
    recipe = Recipe(epochs=50, batch_size=256, lr=0.1, optimizer="sgd")
    torch.manual_seed(0)
    model = fit(MLP(5, 2, (8,)), X, y, recipe, seed=0)
    assert (predict_logits(model, X).argmax(1).numpy() == y).all()


def test_batch_sampler_passes_are_permutations_and_batches_span_passes():
    sampler = BatchSampler(10, 4, torch.Generator().manual_seed(0))
    stream = torch.cat([sampler.next() for _ in range(5)])  # 20 positions = 2 full passes
    assert sorted(stream[:10].tolist()) == list(range(10))
    assert sorted(stream[10:].tolist()) == list(range(10))
    # take(m) continues the same stream as repeated next() calls.
    a = BatchSampler(10, 4, torch.Generator().manual_seed(3))
    b = BatchSampler(10, 4, torch.Generator().manual_seed(3))
    torch.testing.assert_close(a.take(24), torch.cat([b.next() for _ in range(6)]))
    with pytest.raises(ValueError, match="batch_size"):
        BatchSampler(3, 4, torch.Generator())


def test_lengths_must_match():
    X, y = _toy(n=10)
    with pytest.raises(ValueError, match="lengths differ"):
        fit(LogisticRegression(5), X, y[:5], Recipe(), seed=0)
