import numpy as np
import pytest
import torch

import privml.classifiers.ensemble as ens_mod
from privml.classifiers import MLP, LogisticRegression, Recipe, SmallCNN
from privml.classifiers.ensemble import (
    EnsembleDP,
    fit_ensemble,
    member_seed,
    random_half_masks,
)
from privml.classifiers.train import fit, predict_logits


def _toy(n=240, d=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    return X, y


def _equal_size_masks(k, n, seed):
    """k masks of exactly n/2 rows each (so every member takes the same number of steps)."""
    rng = np.random.default_rng(seed)
    masks = np.zeros((k, n), dtype=bool)
    for i in range(k):
        masks[i, rng.permutation(n)[: n // 2]] = True
    return masks


@pytest.fixture
def vmap_only(monkeypatch):
    """Force the general vmap path (no batched-linear fast path)."""
    monkeypatch.setattr(ens_mod, "stacked_layers", lambda model: None)


def test_random_half_masks_put_every_example_in_exactly_half():
    masks = random_half_masks(8, 500, seed=3)
    assert masks.shape == (8, 500) and masks.dtype == bool
    assert (masks.sum(0) == 4).all()
    assert 200 < masks.sum(1).min() and masks.sum(1).max() < 300
    np.testing.assert_array_equal(masks, random_half_masks(8, 500, seed=3))
    assert not (masks == random_half_masks(8, 500, seed=4)).all()
    with pytest.raises(ValueError, match="even"):
        random_half_masks(3, 10, seed=0)


@pytest.mark.parametrize("path", ["fast", "vmap"])
def test_members_equal_one_at_a_time_fit_on_their_own_rows(request, path):
    """Member i == fit(model initialised from member_seed(seed, i)) on rows in_masks[i] only.

    The loop model never saw the other rows, so neither did the member.
    """
    if path == "vmap":
        request.getfixturevalue("vmap_only")
    X, y = _toy()
    masks = _equal_size_masks(3, len(y), seed=0)
    recipe = Recipe(epochs=3, batch_size=16, lr=1e-2)

    def make():
        return MLP(6, 2, (8,))

    ens = fit_ensemble(make, X, y, masks, recipe, seed=5)
    logits = ens.logits(X, batch_size=50)
    assert logits.shape == (3, len(y), 2)
    for i in range(3):
        torch.manual_seed(member_seed(5, i))
        loop = fit(make(), X[masks[i]], y[masks[i]], recipe, seed=member_seed(5, i))
        torch.testing.assert_close(logits[i], predict_logits(loop, X), rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(ens.member(i)(torch.from_numpy(X)).detach(), logits[i])


def test_members_fit_their_own_rows_better_than_unseen_rows():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 10)).astype(np.float32)
    y = rng.integers(0, 2, size=120)  # random labels: only memorisation helps
    masks = random_half_masks(4, 120, seed=0)
    ens = fit_ensemble(
        lambda: MLP(10, 2, (64,)), X, y, masks, Recipe(epochs=150, batch_size=30, lr=1e-2), seed=0
    )
    hit = ens.logits(X).argmax(-1).numpy() == y
    for i in range(4):
        assert hit[i, masks[i]].mean() > 0.95
        assert hit[i, ~masks[i]].mean() < 0.75


def test_fast_path_matches_vmap_path(monkeypatch):
    X, y = _toy()
    masks = random_half_masks(4, len(y), seed=1)
    recipe = Recipe(epochs=2, batch_size=16, lr=1e-2, optimizer="sgd", weight_decay=1e-3)
    fast = fit_ensemble(lambda: MLP(6, 3, (8, 4)), X, y, masks, recipe, seed=2)
    monkeypatch.setattr(ens_mod, "stacked_layers", lambda model: None)
    slow = fit_ensemble(lambda: MLP(6, 3, (8, 4)), X, y, masks, recipe, seed=2)
    for name in fast.params:
        torch.testing.assert_close(fast.params[name], slow.params[name], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(fast.logits(X), slow.logits(X), rtol=1e-4, atol=1e-5)


def _accuracy(ens, X, y):
    return (ens.logits(X).argmax(-1).numpy() == y).mean(axis=1)


def test_dp_with_huge_noise_stays_near_chance():
    X, y = _toy(n=400)
    masks = random_half_masks(8, len(y), seed=0)  # mean of 8: chance is 0.5 +- 0.04
    dp = EnsembleDP(noise_multiplier=1e4, max_grad_norm=1.0, sampling_rate=0.1)
    ens = fit_ensemble(
        lambda: LogisticRegression(6), X, y, masks, Recipe(epochs=3, lr=0.1), seed=0, dp=dp
    )
    assert _accuracy(ens, X, y).mean() < 0.75


def test_dp_without_noise_and_large_clip_learns():
    X, y = _toy(n=400)
    masks = random_half_masks(4, len(y), seed=0)
    dp = EnsembleDP(noise_multiplier=0.0, max_grad_norm=100.0, sampling_rate=0.1)
    ens = fit_ensemble(
        lambda: MLP(6, 2, (8,)), X, y, masks, Recipe(epochs=10, lr=1e-2), seed=0, dp=dp
    )
    assert _accuracy(ens, X, y).min() > 0.9


@pytest.mark.parametrize("make", [lambda: MLP(6, 2, (8,)), lambda: LogisticRegression(6, 3)])
def test_dp_fast_clipping_matches_per_sample_vmap(monkeypatch, make):
    X, y = _toy()
    masks = random_half_masks(4, len(y), seed=0)
    dp = EnsembleDP(noise_multiplier=0.0, max_grad_norm=0.3, sampling_rate=0.1)  # clips often
    recipe = Recipe(epochs=2, lr=1e-2)
    fast = fit_ensemble(make, X, y, masks, recipe, seed=4, dp=dp)
    monkeypatch.setattr(ens_mod, "stacked_layers", lambda model: None)
    slow = fit_ensemble(make, X, y, masks, recipe, seed=4, dp=dp)
    for name in fast.params:
        torch.testing.assert_close(fast.params[name], slow.params[name], rtol=1e-4, atol=1e-5)


def test_dp_noise_comes_from_the_secure_generator(monkeypatch):
    calls = []

    def fake(shape, std, dtype=torch.float32):
        calls.append((tuple(shape), std))
        return torch.zeros(shape, dtype=dtype)

    monkeypatch.setattr(ens_mod, "secure_normal", fake)
    X, y = _toy(n=100)
    dp = EnsembleDP(noise_multiplier=2.0, max_grad_norm=0.5, sampling_rate=0.5)
    fit_ensemble(
        lambda: LogisticRegression(6),
        X,
        y,
        random_half_masks(2, 100, 0),
        Recipe(epochs=1),
        seed=0,
        dp=dp,
    )
    assert calls and all(std == 1.0 for _, std in calls)  # noise_multiplier * max_grad_norm
    assert {s for s, _ in calls} == {(2, 2, 6), (2, 2)}  # stacked weight and bias, 2 members


def test_small_cnn_trains_in_the_ensemble_with_and_without_dp():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 1, 8, 8)).astype(np.float32)
    y = (X.mean(axis=(1, 2, 3)) > 0).astype(np.int64)
    masks = random_half_masks(2, 40, seed=0)
    recipe = Recipe(epochs=2, batch_size=8, lr=1e-2)
    for dp in (None, EnsembleDP(1.0, 1.0, 0.3)):
        ens = fit_ensemble(lambda: SmallCNN(1, 2, width=4), X, y, masks, recipe, seed=0, dp=dp)
        logits = ens.logits(X, batch_size=16)
        assert logits.shape == (2, 40, 2) and torch.isfinite(logits).all()
        torch.testing.assert_close(ens.member(1)(torch.from_numpy(X)).detach(), logits[1])


def test_logistic_regression_ensemble_and_mask_validation():
    X, y = _toy()
    masks = random_half_masks(2, len(y), seed=0)
    ens = fit_ensemble(
        lambda: LogisticRegression(6, 2),
        X,
        y,
        masks,
        Recipe(epochs=10, batch_size=16, lr=0.05),
        seed=0,
    )
    assert ens.k == 2 and (_accuracy(ens, X, y) > 0.9).all()
    with pytest.raises(ValueError, match="shape"):
        fit_ensemble(lambda: LogisticRegression(6), X, y, masks[:, :10], Recipe(), seed=0)
    empty = masks.copy()
    empty[1] = False
    with pytest.raises(ValueError, match="at least one row"):
        fit_ensemble(lambda: LogisticRegression(6), X, y, empty, Recipe(), seed=0)
