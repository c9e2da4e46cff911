"""Exposure, tab attack and membership metrics on scorers whose answers we know."""

import math

import numpy as np
import pytest
import torch

from privml.attacks import canary_exposure, loss_attack, membership_metrics, tab_attack
from privml.attacks.lm import TorchLMScorer

V, DIGITS = 16, list(range(10))


class FixedLM(torch.nn.Module):
    """A 'model' whose next token after any prefix follows a fixed table keyed on length."""

    def __init__(self, favourite: list[int] | None, strength: float = 8.0) -> None:
        super().__init__()
        self.favourite, self.strength = favourite, strength

    def forward(self, tokens):
        b, k, length = tokens.shape
        logits = torch.zeros(b, k, length, V)
        if self.favourite is not None:
            for pos in range(length):
                i = pos - 2  # the secret starts after a context of 3 tokens
                if 0 <= i < len(self.favourite):
                    logits[:, :, pos, self.favourite[i]] = self.strength
        return logits


CONTEXT = [11, 12, 13]
SECRET = [4, 8, 2, 9, 1, 6]


def test_memorised_canary_has_full_exposure_exactly():
    scorer = TorchLMScorer(FixedLM(SECRET), pad_id=0)
    r = canary_exposure(scorer, CONTEXT, SECRET, DIGITS)
    assert r.method == "exact" and r.rank == 1
    assert r.exposure == pytest.approx(6 * math.log2(10))


def test_uniform_model_gives_low_exposure_by_sampling():
    scorer = TorchLMScorer(FixedLM(None), pad_id=0)
    r = canary_exposure(
        scorer, CONTEXT, SECRET, DIGITS, samples=300, budget=50, rng=np.random.default_rng(0)
    )
    assert r.method == "sampled"  # every candidate ties with the canary: rank ~ |R|/2
    assert r.exposure < 1.5


def test_partly_memorised_canary_ranks_between():
    # The model prefers another secret that shares the first three digits.
    other = SECRET[:3] + [0, 0, 0]
    scorer = TorchLMScorer(FixedLM(other, strength=3.0), pad_id=0)
    r = canary_exposure(scorer, CONTEXT, SECRET, DIGITS, budget=100000)
    assert r.method == "exact"
    assert 0 < r.exposure < 6 * math.log2(10)


def test_tab_attack_extracts_only_what_is_memorised():
    assert tab_attack(TorchLMScorer(FixedLM(SECRET), 0), CONTEXT, SECRET).extracted
    t = tab_attack(TorchLMScorer(FixedLM(SECRET[:3] + [7, 7, 7]), 0), CONTEXT, SECRET)
    assert not t.extracted and t.digits_correct == 3


def test_membership_metrics_separable_and_random():
    rng = np.random.default_rng(0)
    perfect = membership_metrics(np.ones(500) + rng.random(500), rng.random(500))
    assert perfect["auc"] == 1.0 and perfect["tpr_at_0.1pct_fpr"] == 1.0
    random = loss_attack(rng.random(2000), rng.random(2000))
    assert abs(random["auc"] - 0.5) < 0.04 and random["tpr_at_1pct_fpr"] < 0.05
    assert random["roc"]["fpr"][0] == 0.0 and len(random["roc"]["fpr"]) == len(random["roc"]["tpr"])


def test_membership_needs_both_sets():
    with pytest.raises(ValueError, match="at least one member"):
        membership_metrics(np.array([]), np.array([1.0]))
