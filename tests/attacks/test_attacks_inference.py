"""Attribute inference (guess a sensitive value) and property inference by poisoning."""

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from privml.attacks.attribute import (
    attribute_attack,
    attribute_inference,
    attribute_metrics,
    column_builder,
    onehot_builder,
    predict_proba,
)
from privml.attacks.property import property_inference
from privml.classifiers import LogisticRegression as TorchLogReg
from privml.classifiers import Recipe
from privml.dp.classifier import train_dp_classifier

# ---- attribute inference


def test_metrics_by_hand():
    guesses = np.array([1, 0, 1, 0, 1])
    truth = np.array([1, 0, 0, 1, 1])
    m = attribute_metrics(guesses, truth)
    assert m["accuracy"] == pytest.approx(3 / 5)
    assert m["prior_accuracy"] == pytest.approx(3 / 5)  # always "1": 3 of 5
    assert m["advantage"] == pytest.approx(0.0)
    # recall(0) = 1/2, recall(1) = 2/3: balanced 7/12, minus 1/2 for any constant guess
    assert m["balanced_accuracy"] == pytest.approx(7 / 12)
    assert m["balanced_advantage"] == pytest.approx(7 / 12 - 1 / 2)


def _table_model(X: np.ndarray) -> np.ndarray:
    """P(y = 1) = 0.8 when the attribute column is 1, else 0.4 (whatever the other column)."""
    p1 = np.where(X[:, 0] == 1, 0.8, 0.4)
    return np.stack([1 - p1, p1], axis=1)


def test_inference_by_hand_with_and_without_prior():
    rows = np.array([[9.0, 0.1], [9.0, 0.2], [9.0, 0.3]])  # attribute column unknown
    y = np.array([1, 0, 1])
    build = column_builder(rows, 0)
    # Uniform prior: y=1 -> 0.8 vs 0.4 -> value 1; y=0 -> 0.2 vs 0.6 -> value 0.
    assert list(attribute_inference(_table_model, build, [0, 1], y)) == [1, 0, 1]
    # Prior (0.7, 0.3): y=1 -> 0.4*0.7 = 0.28 vs 0.8*0.3 = 0.24 -> value 0.
    guesses = attribute_inference(_table_model, build, [0, 1], y, prior=[0.7, 0.3])
    assert list(guesses) == [0, 0, 0]
    assert rows[0, 0] == 9.0  # the caller's rows are not modified


def test_prior_only_guesser_has_zero_advantage():
    truth = np.array([0, 0, 1, 0, 2, 0, 1])
    y = np.zeros(len(truth), dtype=int)
    rows = np.zeros((len(truth), 3), dtype=np.float32)
    values = [0, 1, 2]
    prior = np.bincount(truth) / len(truth)

    def blind(X):  # ignores its input: the model tells nothing
        return np.full((len(X), 2), 0.5)

    guesses = attribute_inference(blind, onehot_builder(rows, [0, 1, 2]), values, y, prior)
    m = attribute_metrics(guesses, truth)
    assert np.all(guesses == 0)
    assert m["advantage"] == 0.0 and m["balanced_advantage"] == 0.0


def _attribute_data(n: int, seed: int, tie: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sensitive bit s (30% ones) in column 0; the label copies s with probability ``tie``."""
    rng = np.random.default_rng(seed)
    s = (rng.random(n) < 0.3).astype(np.float32)
    X = np.column_stack([s, rng.normal(size=(n, 4))]).astype(np.float32)
    y = np.where(rng.random(n) < tie, s, 1 - s).astype(int)
    return X, y, s.astype(int)


def test_attribute_tied_to_label_is_inferred():
    X, y, s = _attribute_data(2000, 0, tie=0.9)
    Xo, yo, so = _attribute_data(2000, 1, tie=0.9)
    model = LogisticRegression(max_iter=1000).fit(X, y)
    members, non_members = (column_builder(X, 0), y, s), (column_builder(Xo, 0), yo, so)
    out = attribute_attack(model.predict_proba, [0, 1], members, non_members, prior=[0.7, 0.3])
    assert out["members"]["prior_accuracy"] == pytest.approx(0.7, abs=0.03)
    assert out["members"]["advantage"] > 0.1  # ~0.9 accuracy against 0.7
    assert out["non_members"]["advantage"] > 0.1  # the population statistic, not membership


def test_overfit_model_leaks_more_about_members():
    """A fully grown tree memorises its rows: members' attribute is easier to recover."""
    X, y, s = _attribute_data(1000, 2, tie=0.6)
    Xo, yo, so = _attribute_data(1000, 3, tie=0.6)
    tree = DecisionTreeClassifier(random_state=0).fit(X, y)
    members, non_members = (column_builder(X, 0), y, s), (column_builder(Xo, 0), yo, so)
    out = attribute_attack(tree.predict_proba, [0, 1], members, non_members)
    assert out["membership_gap"] > 0.1


def test_predict_proba_for_torch_modules():
    model = torch.nn.Linear(3, 2)
    X = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    p = predict_proba(model, X)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    with torch.no_grad():
        expected = torch.softmax(model(torch.as_tensor(X)), 1).numpy()
    np.testing.assert_allclose(p, expected, rtol=1e-5)


# ---- property inference by poisoning

D = 6
WEIGHTS = np.array([0.5, 1.0, -1.0, 0.5, 0.8, -0.5])  # column 0 is the property bit
FRACTIONS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]


def _rows(k: int, rng: np.random.Generator, fraction: float | None = None) -> np.ndarray:
    X = rng.normal(size=(k, D)).astype(np.float32)
    X[:, 0] = 1.0 if fraction is None else rng.random(k) < fraction
    return X


def _victim_data(t: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    X = _rows(2000, rng, t)
    p = 1 / (1 + np.exp(-(X @ WEIGHTS - 1.0)))
    return X, (rng.random(len(X)) < p).astype(np.int64)


def _logreg(X, y):
    return LogisticRegression(max_iter=1000).fit(X, y)


def test_poisoning_makes_the_fraction_inferable():
    kwargs = dict(targets_per_fraction=2, seed=0)
    clean = property_inference(_logreg, _victim_data, _rows, FRACTIONS, 0, **kwargs)
    poisoned = property_inference(_logreg, _victim_data, _rows, FRACTIONS, 100, **kwargs)
    assert clean["mae"] > 0.1  # a clean model's outputs barely depend on t
    assert poisoned["mae"] < 0.06
    assert poisoned["mae"] < clean["mae"] / 2
    again = property_inference(_logreg, _victim_data, _rows, FRACTIONS, 100, **kwargs)
    assert again["mae"] == poisoned["mae"]  # deterministic under a seed
    assert len(poisoned["targets"]) == 2 * len(FRACTIONS)


def test_property_inference_accepts_a_dp_trainer():
    def dp_train(X, y):
        torch.manual_seed(0)
        model, _ = train_dp_classifier(
            TorchLogReg(D, 2),
            X,
            y,
            recipe=Recipe(epochs=5, batch_size=256, lr=0.05),
            target_epsilon=4.0,
            delta=1e-5,
            max_grad_norm=1.0,
        )
        return model

    out = property_inference(
        dp_train, _victim_data, _rows, [0.1, 0.6], 100, shadow_fractions=[0.1, 0.35, 0.6]
    )
    estimates = [t["estimate"] for t in out["targets"]]
    assert all(0.1 <= e <= 0.6 for e in estimates) and 0 <= out["mae"] <= 0.5
