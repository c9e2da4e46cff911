"""LiRA, RMIA and the model adapters, on hand-computed and synthetic cases."""

import math

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression

from privml.attacks import (
    ExampleScores,
    lira_scores,
    logit_confidence,
    loss_attack,
    loss_scores,
    membership_metrics,
    rmia_scores,
    score_examples,
)


def log_normal(x: float, mu: float, var: float) -> float:
    return -0.5 * math.log(2 * math.pi * var) - (x - mu) ** 2 / (2 * var)


def log_phi(x: float) -> float:
    return math.log(0.5 * math.erfc(-x / math.sqrt(2)))


# Two examples, four reference models (two IN and two OUT for each example):
# example 0: in [1, 3] (mean 2, var 2), out [-1, 1] (mean 0, var 2)
# example 1: in [4, 6] (mean 5, var 2), out [0, 4] (mean 2, var 8)
REF = np.array([[1.0, 4.0], [3.0, 6.0], [-1.0, 0.0], [1.0, 4.0]])
REF_IN = np.array([[True, True], [True, True], [False, False], [False, False]])
TARGET = np.array([2.0, 5.0])


def test_lira_online_per_example_gaussians_by_hand():
    got = lira_scores(TARGET, REF, REF_IN)
    assert got[0] == pytest.approx(log_normal(2, 2, 2) - log_normal(2, 0, 2))  # = 1
    assert got[0] == pytest.approx(1.0)
    assert got[1] == pytest.approx(math.log(2) + 9 / 16)


def test_lira_fixed_variance_pools_within_example_variance():
    # Pooled IN variance (2 + 2) / 2 = 2; pooled OUT variance (2 + 8) / 2 = 5.
    got = lira_scores(TARGET, REF, REF_IN, fixed_variance=True)
    assert got[0] == pytest.approx(log_normal(2, 2, 2) - log_normal(2, 0, 5))
    assert got[1] == pytest.approx(0.5 * math.log(2.5) + 0.9)


def test_lira_offline_is_one_sided_out_test():
    got = lira_scores(TARGET, REF, REF_IN, online=False)
    assert got[0] == pytest.approx(log_phi(2 / math.sqrt(2)))
    assert got[1] == pytest.approx(log_phi(3 / math.sqrt(8)))
    # ref_in may be omitted offline: then every reference is OUT (here 4 per example).
    alone = lira_scores(TARGET, REF, None, online=False)
    assert alone[0] == pytest.approx(log_phi((2 - 1) / np.std(REF[:, 0], ddof=1)))
    # Lower confidence = lower score, monotonically (one-sided).
    lower = lira_scores(TARGET - 1, REF, REF_IN, online=False)
    assert (lower < got).all()


def test_lira_falls_back_to_global_fit_with_fewer_than_two_references():
    ref = np.array([[1.0, 4.0, 0.0], [3.0, 6.0, 2.0], [0.0, 0.0, 5.0]])
    ref_in = np.array([[True, True, False], [True, True, False], [False, False, True]])
    target = np.array([2.0, 5.0, 5.0])
    # OUT: examples 0 and 1 have one OUT reference -> global OUT values [0, 0, 0, 2]
    # (mean 0.5, var 1); example 2 has [0, 2] (mean 1, var 2).
    # IN: example 2 has one IN reference -> global IN values [1, 3, 4, 6, 5] (mean 3.8, var 3.7).
    got = lira_scores(target, ref, ref_in)
    assert got[0] == pytest.approx(log_normal(2, 2, 2) - log_normal(2, 0.5, 1))
    assert got[2] == pytest.approx(log_normal(5, 3.8, 3.7) - log_normal(5, 1, 2))
    offline = lira_scores(target, ref, ref_in, online=False)
    assert offline[1] == pytest.approx(log_phi((5 - 0.5) / 1))


def test_lira_averages_over_augmentations():
    rng = np.random.default_rng(0)
    ref, t = rng.normal(size=(6, 5, 2)), rng.normal(size=(5, 2))
    ref_in = np.tile([[True], [False]], (3, 5))
    both = lira_scores(t, ref, ref_in)
    each = [lira_scores(t[:, j], ref[..., j], ref_in) for j in range(2)]
    assert both.shape == (5,)
    np.testing.assert_allclose(both, (each[0] + each[1]) / 2)


def test_lira_clamps_zero_variance():
    ref = np.array([[1.0, 1.0], [1.0, 1.0], [0.0, 2.0], [0.0, 4.0]])
    got = lira_scores(np.array([1.0, 1.0]), ref, REF_IN)
    assert np.isfinite(got).all() and got[0] > 1e3  # sigma_in = 0 clamped, not divided by


def _difficulty_world(n: int = 2000, k: int = 16, seed: int = 0, shift: float = 2.0):
    """Confidence = per-example difficulty (spread 3) + shift if trained on + noise (0.5).

    The loss attack sees difficulty as noise; reference models let LiRA/RMIA subtract it."""
    rng = np.random.default_rng(seed)
    difficulty = rng.normal(0, 3, n)
    member = rng.random(n) < 0.5
    ref_in = rng.random((k, n)) < 0.5
    target = difficulty + shift * member + rng.normal(0, 0.5, n)
    ref = difficulty + shift * ref_in + rng.normal(0, 0.5, (k, n))
    return target, ref, ref_in, member


def test_lira_beats_loss_at_low_fpr_when_difficulty_varies():
    target, ref, ref_in, member = _difficulty_world()
    loss = -np.log(1 / (1 + np.exp(-target)))  # cross-entropy of p = sigmoid(confidence)
    base = loss_attack(loss[member], loss[~member])["tpr_at_1pct_fpr"]
    for kwargs in ({}, {"fixed_variance": True}, {"online": False}):
        s = lira_scores(target, ref, ref_in, **kwargs)
        tpr = membership_metrics(s[member], s[~member])["tpr_at_1pct_fpr"]
        assert tpr > 0.5 and tpr > 5 * base, (kwargs, tpr, base)
    assert base < 0.15


def test_lira_input_errors():
    with pytest.raises(ValueError, match="online LiRA needs ref_in"):
        lira_scores(TARGET, REF, None)
    with pytest.raises(ValueError, match="ref_conf must have shape"):
        lira_scores(TARGET, REF[:, :1], REF_IN)
    with pytest.raises(ValueError, match="ref_in must have shape"):
        lira_scores(TARGET, REF, REF_IN[:3])
    with pytest.raises(ValueError, match="at least 2 'in'"):
        lira_scores(TARGET, REF, np.zeros_like(REF_IN))
    with pytest.raises(ValueError, match="target_conf contains NaN"):
        lira_scores(np.array([np.nan, 1.0]), REF, REF_IN)


def test_logit_and_loss_scores():
    p = np.array([0.5, 0.9, 0.0, 1.0])
    phi = logit_confidence(p)
    assert phi[0] == 0.0 and phi[1] == pytest.approx(math.log(9))
    assert np.isfinite(phi).all() and phi[2] == pytest.approx(-phi[3], rel=1e-3)
    np.testing.assert_array_equal(loss_scores([1.0, 2.0]), [-1.0, -2.0])


# RMIA: x0 has p 0.8 where references give 0.4 (ratio 2); x1 0.4 vs 0.4 (ratio 1); x2 is an
# easy example, 0.9 vs 0.9 (ratio 1): highest raw probability, yet not more member-like than x1.
# Population ratios p(z)/Pr(z) = 0.5 / [1, 0.5, 1/3, 1/6] = [0.5, 1, 1.5, 3].
RMIA_X = np.array([0.8, 0.4, 0.9])
RMIA_REF = np.array([[0.4, 0.4, 0.9], [0.4, 0.4, 0.9]])
RMIA_IN = np.array([[True, True, True], [False, False, False]])
RMIA_Z = np.full(4, 0.5)
RMIA_REF_Z = np.tile([1.0, 0.5, 1 / 3, 1 / 6], (2, 1))


def test_rmia_online_by_hand():
    got = rmia_scores(RMIA_X, RMIA_REF, RMIA_Z, RMIA_REF_Z, ref_in=RMIA_IN)
    np.testing.assert_allclose(got, [3 / 4, 2 / 4, 2 / 4])  # ratios <= 2, <= 1, <= 1
    strict = rmia_scores(RMIA_X, RMIA_REF, RMIA_Z, RMIA_REF_Z, ref_in=RMIA_IN, gamma=1.8)
    np.testing.assert_allclose(strict, [2 / 4, 1 / 4, 1 / 4])  # ratios <= 1.11, <= 0.56


def test_rmia_online_balances_in_and_out_references():
    # IN average 0.2, OUT average 0.5 -> Pr(x) = 0.35 and ratio 0.7 / 0.35 = 2 (the plain mean
    # 0.4 would give 1.75). Population ratios [1, 1.9, 2.1, 3].
    ref = np.array([[0.2], [0.4], [0.6]])
    ref_in = np.array([[True], [False], [False]])
    ref_z = np.tile(0.5 / np.array([1, 1.9, 2.1, 3]), (3, 1))
    got = rmia_scores(np.array([0.7]), ref, RMIA_Z, ref_z, ref_in=ref_in)
    assert got[0] == 0.5


def test_rmia_offline_linear_approximation_by_hand():
    # a = 0.3: Pr = ((1.3) * mean + 0.7) / 2. x: mean 0.4 -> Pr 0.61, p = 0.915 -> ratio 1.5.
    # z: means [0, 0, 1, 1] -> Pr [0.35, 0.35, 1, 1]; p [0.35, 0.7, 1, 0.5] -> [1, 2, 1, 0.5].
    ref_z = np.tile([0.0, 0.0, 1.0, 1.0], (2, 1))
    z = np.array([0.35, 0.7, 1.0, 0.5])
    x, ref = np.array([0.915]), np.array([[0.2], [0.6]])
    assert rmia_scores(x, ref, z, ref_z)[0] == 0.75
    assert rmia_scores(x, ref, z, ref_z, gamma=1.6)[0] == 0.25
    # a = 1: Pr = Pr_out. x: 0.915 / 0.4; z: the two zero-mean points get huge ratios.
    assert rmia_scores(x, ref, z, ref_z, offline_a=1.0)[0] == 0.5


@pytest.mark.parametrize("online", [True, False])
@pytest.mark.parametrize("gamma", [1.0, 2.0])
def test_rmia_matches_brute_force_pairwise_definition(online, gamma):
    rng = np.random.default_rng(3)
    k, n, z = 5, 50, 70
    x, ref = rng.random(n), rng.random((k, n))
    zp, ref_z = rng.random(z), rng.random((k, z))
    # 2 IN and 3 OUT references per example, in random order: unbalanced on purpose.
    ref_in = rng.permuted(np.tile([[1], [1], [0], [0], [0]], (1, n)), axis=0).astype(bool)
    ref_in = ref_in if online else None
    got = rmia_scores(x, ref, zp, ref_z, ref_in=ref_in, gamma=gamma)
    if online:
        w = ref_in.astype(float)
        pr_x = 0.5 * ((w * ref).sum(0) / w.sum(0) + ((1 - w) * ref).sum(0) / (1 - w).sum(0))
        pr_z = ref_z.mean(0)
    else:
        pr_x, pr_z = 0.5 * (1.3 * ref.mean(0) + 0.7), 0.5 * (1.3 * ref_z.mean(0) + 0.7)
    pairwise = (x / pr_x)[:, None] / (zp / pr_z)[None, :] >= gamma
    assert got.shape == (n,)
    np.testing.assert_allclose(got, pairwise.mean(1))


def test_rmia_beats_raw_probability_when_difficulty_varies():
    target, ref, ref_in, member = _difficulty_world(seed=1)
    rng = np.random.default_rng(2)
    d_z = rng.normal(0, 3, 1000)  # population points: no model trained on them
    z_target = d_z + rng.normal(0, 0.5, 1000)
    z_ref = d_z + rng.normal(0, 0.5, (ref.shape[0], 1000))

    def sig(a):
        return 1 / (1 + np.exp(-a))

    s = rmia_scores(sig(target), sig(ref), sig(z_target), sig(z_ref), ref_in=ref_in)
    rmia = membership_metrics(s[member], s[~member])
    raw = membership_metrics(sig(target)[member], sig(target)[~member])
    assert rmia["auc"] > raw["auc"] + 0.2
    assert rmia["tpr_at_1pct_fpr"] > 3 * raw["tpr_at_1pct_fpr"]
    assert ((s >= 0) & (s <= 1)).all()


def test_rmia_input_errors():
    with pytest.raises(ValueError, match="gamma must be positive"):
        rmia_scores(RMIA_X, RMIA_REF, RMIA_Z, RMIA_REF_Z, gamma=0)
    with pytest.raises(ValueError, match="probabilities in"):
        rmia_scores(RMIA_X * 2, RMIA_REF, RMIA_Z, RMIA_REF_Z)
    with pytest.raises(ValueError, match=r"ref_prob must have shape \(k, 3\)"):
        rmia_scores(RMIA_X, RMIA_REF[:, :2], RMIA_Z, RMIA_REF_Z)
    with pytest.raises(ValueError, match="ref_prob_pop must have shape"):
        rmia_scores(RMIA_X, RMIA_REF, RMIA_Z, RMIA_REF_Z[:1])
    with pytest.raises(ValueError, match="ref_in must have shape"):
        rmia_scores(RMIA_X, RMIA_REF, RMIA_Z, RMIA_REF_Z, ref_in=RMIA_IN[:1])


# ---- score_examples ----


def _mlp() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))


def test_score_examples_torch_classifier():
    model = _mlp().train()
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(10, 5)), rng.integers(0, 3, 10)
    got = score_examples(model, X, y, batch_size=3)
    assert model.training  # mode restored
    with torch.no_grad():
        logits = model(torch.as_tensor(X, dtype=torch.float32)).double()
    p = torch.softmax(logits, -1)[torch.arange(10), torch.as_tensor(y)].numpy()
    ce = torch.nn.functional.cross_entropy(logits, torch.as_tensor(y), reduction="none")
    assert isinstance(got, ExampleScores) and got.loss.dtype == np.float64
    np.testing.assert_allclose(got.prob_true, p, rtol=1e-6)
    np.testing.assert_allclose(got.loss, ce.numpy(), rtol=1e-6)
    np.testing.assert_allclose(got.logit_conf, np.log(p / (1 - p)), rtol=1e-6)
    whole = score_examples(model, torch.as_tensor(X), torch.as_tensor(y))
    np.testing.assert_allclose(whole.logit_conf, got.logit_conf, rtol=1e-6)


class _Fixed(torch.nn.Module):
    def __init__(self, logits: list) -> None:
        super().__init__()
        self.out = torch.tensor(logits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out[: len(x)]


def test_score_examples_logit_confidence_is_exact_for_extreme_logits():
    model = _Fixed([[100.0, 0.0, 0.0], [0.0, 100.0, 0.0]])
    got = score_examples(model, torch.zeros(2, 1), np.array([0, 0]))
    assert got.logit_conf[0] == pytest.approx(100 - math.log(2))  # p rounds to 1 in float64
    assert got.logit_conf[1] == pytest.approx(-100.0)
    assert got.loss[1] == pytest.approx(100.0)


def test_score_examples_single_logit_binary_classifier():
    model = _Fixed([[2.0], [-1.0]])
    got = score_examples(model, torch.zeros(2, 1), np.array([1, 1]))
    np.testing.assert_allclose(got.logit_conf, [2.0, -1.0])
    np.testing.assert_allclose(got.prob_true, 1 / (1 + np.exp([-2.0, 1.0])))
    flipped = score_examples(model, torch.zeros(2, 1), np.array([0, 0]))
    np.testing.assert_allclose(flipped.logit_conf, [-2.0, 1.0])


def test_score_examples_sklearn_maps_labels_through_classes():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    y = np.array(["emu", "cat", "dog"])[rng.integers(0, 3, 60)]
    clf = LogisticRegression().fit(X, y)
    got = score_examples(clf, X, y, batch_size=7)
    cols = [list(clf.classes_).index(v) for v in y]
    p = clf.predict_proba(X)[np.arange(60), cols]
    np.testing.assert_allclose(got.prob_true, p)
    np.testing.assert_allclose(got.loss, -np.log(p))
    np.testing.assert_allclose(got.logit_conf, np.log(p) - np.log1p(-p))
    with pytest.raises(ValueError, match=r"\['yak'\] are not in classes_"):
        score_examples(clf, X[:2], np.array(["cat", "yak"]))


class _FakeLM:
    """Stands in for a CausalLMScorer: the loss of a unit is its mean token id / 10."""

    def __init__(self) -> None:
        self.calls = 0

    def losses(self, units):
        self.calls += 1
        return torch.stack([u.float().mean() / 10 for u in units])


def test_score_examples_lm_scorer():
    lm = _FakeLM()
    units = [torch.tensor([1, 2, 3]), torch.tensor([10]), torch.tensor([0, 0]), torch.tensor([5])]
    got = score_examples(lm, units, batch_size=3)
    assert lm.calls == 2
    np.testing.assert_allclose(got.loss[[0, 1, 3]], [0.2, 1.0, 0.5], rtol=1e-6)
    p = np.exp(-got.loss)
    np.testing.assert_allclose(got.prob_true, p)
    np.testing.assert_allclose(got.logit_conf[[0, 1, 3]], np.log(p / (1 - p))[[0, 1, 3]])
    assert np.isfinite(got.logit_conf[2]) and got.logit_conf[2] > 20  # zero loss, clipped


class _FakeEnsemble:
    def __init__(self, k: int) -> None:
        self.models = [_mlp() for _ in range(k)]
        for i, m in enumerate(self.models):
            torch.nn.init.normal_(m[2].weight, std=1.0, generator=torch.Generator().manual_seed(i))

    def logits(self, X):
        x = torch.as_tensor(X, dtype=torch.float32)
        return torch.stack([m(x) for m in self.models])


def test_score_examples_ensemble_gives_one_row_per_model():
    ens = _FakeEnsemble(3)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(8, 5)), rng.integers(0, 3, 8)
    got = score_examples(ens, X, y, batch_size=5)
    assert got.prob_true.shape == got.logit_conf.shape == got.loss.shape == (3, 8)
    for i, m in enumerate(ens.models):
        one = score_examples(m, X, y)
        np.testing.assert_allclose(got.logit_conf[i], one.logit_conf, rtol=1e-6)


def test_score_examples_errors():
    with pytest.raises(TypeError, match="cannot score a object; supported: .*predict_proba"):
        score_examples(object(), np.zeros((2, 5)), np.zeros(2, int))
    with pytest.raises(ValueError, match="need the true labels"):
        score_examples(_mlp(), np.zeros((2, 5)))
    with pytest.raises(ValueError, match="integer labels"):
        score_examples(_mlp(), np.zeros((2, 5)), np.array([0.5, 1.0]))
    with pytest.raises(ValueError, match=r"labels must be integers in \[0, 3\)"):
        score_examples(_mlp(), np.zeros((2, 5)), np.array([0, 3]))
