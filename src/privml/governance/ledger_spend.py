"""What a person has spent: their charges composed with the tight accountant, and the loose sum.

A person's history is the multiset of mechanisms charged to them inside the window. People
with the same multiset share one accountant call (``Composer`` caches by the sorted tuple of
canonical mechanism JSONs), so checking thousands of users of one run costs one computation.

``epsilon_spent`` is ``privml.accounting.epsilon(Composed(charges), policy δ)``: the tight
accountant (PLD/PRV, or a valid looser bound it names when those fail; (ε, δ) releases compose
tightly under PLD). If the charges' δs alone exceed the policy δ it is infinite, so any
further charge is refused. ``epsilon_sum`` is the spreadsheet figure: the sum of each charge's
own ε at the policy δ (its stated ε for an (ε, δ) release).
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from privml.accounting.mechanisms import (
    Composed,
    EpsilonDelta,
    Gaussian,
    Laplace,
    Mechanism,
    PoissonSampled,
    RandomizedResponse,
    SelfComposed,
    from_dict,
    to_dict,
)


def canonical(m: Mechanism) -> str:
    """The mechanism as canonical JSON: equal mechanisms give equal strings."""
    return json.dumps(to_dict(m), sort_keys=True, separators=(",", ":"))


def parse(text: str) -> Mechanism:
    return from_dict(json.loads(text))


def describe(m: Mechanism) -> str:
    """A short human description, e.g. ``dp_sgd(σ=1.1, q=0.01, steps=1000)``."""
    match m:
        case SelfComposed(
            mechanism=PoissonSampled(rate=q, mechanism=Gaussian(noise_multiplier=z)), count=c
        ):
            return f"dp_sgd(σ={z:g}, q={q:g}, steps={c})"
        case EpsilonDelta(epsilon=e, delta=d):
            return f"(ε={e:g}, δ={d:g})"
        case Gaussian(noise_multiplier=z):
            return f"gaussian(σ={z:g})"
        case Laplace(noise_multiplier=b):
            return f"laplace(b={b:g})"
        case RandomizedResponse(noise_parameter=p, num_buckets=k):
            return f"randomized_response(p={p:g}, k={k})"
        case SelfComposed(mechanism=inner, count=c):
            return f"{describe(inner)}×{c}"
        case PoissonSampled(rate=q, mechanism=inner):
            return f"poisson(q={q:g}, {describe(inner)})"
        case Composed(mechanisms=ms):
            return " + ".join(describe(x) for x in ms)
    return type(m).__name__.lower()


def group_privacy(epsilon: float, delta: float, records: int) -> EpsilonDelta:
    """The group-privacy bound for ``records`` records of one person under an (ε, δ) release.

    An (ε, δ)-DP release at the record level is (kε, k·e^{(k−1)ε}·δ)-DP for a group of k
    records. δ is capped just below 1 (such a charge never fits any cap).
    """
    if not (isinstance(records, int) and records >= 1):
        raise ValueError(f"records: must be an integer >= 1, got {records!r}")
    k = records
    try:
        group_delta = k * math.exp((k - 1) * epsilon) * delta
    except OverflowError:
        group_delta = math.inf
    return EpsilonDelta(k * epsilon, min(group_delta, math.nextafter(1.0, 0.0)))


@dataclass(frozen=True)
class Spend:
    """Composed ε of one history at the policy δ, the loose sum, and which bound was used."""

    epsilon: float
    epsilon_sum: float
    accountant: str
    note: str = ""


def _accountant_epsilon(mechanism: Mechanism, delta: float) -> tuple[float, str, str]:
    """``privml.accounting.epsilon`` (tight by default); an unbounded result on failure."""
    from privml.accounting import epsilon as accountant_epsilon
    from privml.accounting.backends import Unsupported

    try:
        r = accountant_epsilon(mechanism, delta)
    except (Unsupported, ArithmeticError, MemoryError) as exc:  # never overspend on failure
        return math.inf, "none", f"accountant failed ({type(exc).__name__}: {exc})"
    eps = float(r.epsilon)
    if math.isnan(eps):
        eps = math.inf
    return eps, str(r.accountant), str(getattr(r, "note", "") or "")


class Composer:
    """Composes histories (tuples of canonical mechanism JSON), caching by history and δ."""

    def __init__(self) -> None:
        self._spent: dict[tuple[tuple[str, ...], float], Spend] = {}
        self._alone: dict[tuple[str, float], float] = {}

    def alone(self, mech_json: str, delta: float) -> float:
        """One charge's own ε at ``delta`` (its stated ε for an (ε, δ) release)."""
        key = (mech_json, delta)
        if key not in self._alone:
            m = parse(mech_json)
            if isinstance(m, EpsilonDelta):
                self._alone[key] = m.epsilon
            else:
                self._alone[key] = _accountant_epsilon(m, delta)[0]
        return self._alone[key]

    def spent(self, history: Sequence[str], delta: float) -> Spend:
        """The composed spend of ``history`` (any order) at ``delta``."""
        key = (tuple(sorted(history)), delta)
        if key not in self._spent:
            self._spent[key] = self._compute(key[0], delta)
        return self._spent[key]

    def _compute(self, history: tuple[str, ...], delta: float) -> Spend:
        if not history:
            return Spend(0.0, 0.0, "none")
        loose = math.fsum(self.alone(h, delta) for h in history)
        # Identical charges (the same pipeline re-run, the same release repeated) enter once,
        # self-composed: the same description, but each is analysed once, not n times.
        parts = tuple(
            parse(h) if n == 1 else SelfComposed(parse(h), n)
            for h, n in sorted(Counter(history).items())
        )
        eps, accountant, note = _accountant_epsilon(Composed(parts), delta)
        if math.isinf(eps):
            why = f"unbounded at δ={delta:g}: the charges' δ add up to more than the policy δ"
            note = f"{why}; {note}" if note else why
        return Spend(eps, loose, accountant, note)


@dataclass(frozen=True)
class PlannedCharge:
    """One charge group of a reservation: ``users`` are all charged ``mechanism`` (JSON)."""

    mechanism: str
    records: int | None  # records per user for example-level runs
    note: str
    users: tuple[str, ...]


def plan_charges(
    mechanism: Mechanism,
    records: dict[str, int],
    unit: str,
    example_delta: float | None,
    composer: Composer,
) -> list[PlannedCharge]:
    """What each user is charged: ``mechanism`` (user level, or k = 1), else group privacy.

    For an example-level run, a user with k >= 2 records is charged the group-privacy bound
    (kε, k·e^{(k−1)ε}·δ) where ε is ``mechanism``'s ε at δ = ``example_delta``.
    """
    if unit == "user":
        return [PlannedCharge(canonical(mechanism), None, "", tuple(records))]
    if example_delta is None or not 0 < example_delta < 1:
        raise ValueError(f"example_delta: must be in (0, 1), got {example_delta!r}")
    by_k: dict[int, list[str]] = defaultdict(list)
    for u, k in records.items():
        by_k[k].append(u)
    plan = []
    for k in sorted(by_k):
        if k == 1:
            plan.append(PlannedCharge(canonical(mechanism), 1, "", tuple(by_k[k])))
            continue
        eps = composer.alone(canonical(mechanism), example_delta)
        charged = group_privacy(eps, example_delta, k)
        note = (
            f"group privacy for {k} records: example-level (ε={eps:.4g}, δ={example_delta:.3g}) "
            f"charged as (kε, k·e^((k−1)ε)·δ) = (ε={charged.epsilon:.4g}, "
            f"δ={charged.delta:.3g}) to {len(by_k[k])} people"
        )
        plan.append(PlannedCharge(canonical(charged), k, note, tuple(by_k[k])))
    return plan
