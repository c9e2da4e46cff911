"""Fallback for releases known only by (ε, δ): split them off and compose by theorem.

Used only when the PLD accountant (which composes ``EpsilonDelta`` tightly) fails. The rest of
the description is bounded by another accountant at part of the δ budget and enters as one more
(ε, δ) release; all of them are then composed by the better of basic composition and the
heterogeneous advanced composition theorem of Kairouz, Oh and Viswanath (ICML 2015, Thm 3.5).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable

from privml.accounting.backends import Unsupported, amplified, contains_epsilon_delta
from privml.accounting.mechanisms import (
    Composed,
    EpsilonDelta,
    Mechanism,
    PoissonSampled,
    SelfComposed,
)


def split(m: Mechanism) -> tuple[Counter[EpsilonDelta], Counter[Mechanism]]:
    """(ε, δ) releases (with counts) and the remaining parts (with counts) of ``m``."""
    eds: Counter[EpsilonDelta] = Counter()
    rest: Counter[Mechanism] = Counter()
    match m:
        case EpsilonDelta():
            eds[m] += 1
        case PoissonSampled(rate=q, mechanism=EpsilonDelta() as ed):
            eds[amplified(q, ed)] += 1
        case Composed(mechanisms=ms):
            for x in ms:
                e, r = split(x)
                eds.update(e)
                rest.update(r)
        case SelfComposed(mechanism=inner, count=n) if contains_epsilon_delta(inner):
            e, r = split(inner)
            eds.update({k: v * n for k, v in e.items()})
            rest.update({k: v * n for k, v in r.items()})
        case _:
            if contains_epsilon_delta(m):
                raise Unsupported(f"cannot separate the (epsilon, delta) releases inside {m!r}")
            rest[m] += 1
    return eds, rest


def compose_epsilon_delta(eds: Counter[EpsilonDelta], delta: float) -> float:
    """Smallest ε (basic or advanced composition) with total δ ≤ ``delta``; inf if none."""
    basic_delta = sum(n * ed.delta for ed, n in eds.items())
    if basic_delta > delta:
        return math.inf
    basic = sum(n * ed.epsilon for ed, n in eds.items())
    slack = delta - basic_delta
    if slack <= 0:
        return basic
    sq = sum(n * ed.epsilon**2 for ed, n in eds.items())
    drift = sum(n * ed.epsilon * math.tanh(ed.epsilon / 2) for ed, n in eds.items())
    advanced = drift + math.sqrt(2 * sq * math.log(1 / slack))
    return min(basic, advanced)


def epsilon_by_theorem(
    m: Mechanism, delta: float, bound_rest: Callable[[Mechanism, float], tuple[float, str]]
) -> tuple[float, str]:
    """Upper bound on ε of ``m`` with its (ε, δ) parts composed by theorem.

    ``bound_rest(mechanism, delta)`` bounds the remaining parts (as one composition) and
    returns ``(epsilon, label)``; it gets half of the δ left after the (ε, δ) releases.
    """
    eds, rest = split(m)
    label = "composition theorem"
    if rest:
        slack = delta - sum(n * ed.delta for ed, n in eds.items())
        if slack <= 0:
            return math.inf, label
        parts = [x if n == 1 else SelfComposed(x, n) for x, n in rest.items()]
        eps_rest, rest_label = bound_rest(Composed(tuple(parts)), slack / 2)
        label = f"composition theorem over {rest_label}"
        if not math.isfinite(eps_rest):
            return math.inf, label
        eds[EpsilonDelta(eps_rest, slack / 2)] += 1
    return compose_epsilon_delta(eds, delta), label
