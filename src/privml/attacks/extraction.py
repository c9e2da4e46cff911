"""Tab attack: greedy top-1 completion of a canary's prefix (as a smart-compose user would
press Tab), counting secrets reproduced exactly."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from privml.attacks.lm import CausalLMScorer


@dataclass(frozen=True)
class TabResult:
    extracted: bool
    digits_correct: int


def tab_attack(scorer: CausalLMScorer, context: Sequence[int], secret: Sequence[int]) -> TabResult:
    guess = scorer.greedy(context, len(secret))
    correct = sum(int(g == s) for g, s in zip(guess, secret, strict=True))
    return TabResult(extracted=correct == len(secret), digits_correct=correct)
