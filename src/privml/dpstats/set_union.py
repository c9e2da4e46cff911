"""DP set union (Gopi, Gulhane, Kulkarni, Shen, Shokouhi, Yekhanin, ICML 2020).

Each user holds a set of items (words, n-grams, URLs). The release is a set of items such that
adding or removing one user changes its distribution by at most (ε, δ). Four algorithms:

- ``weighted_laplace`` / ``weighted_gaussian`` (the baselines): each user spreads an L1 (or L2)
  budget of 1 evenly over at most Δ0 of their items; Laplace (Gaussian) noise; keep items whose
  noisy weight exceeds ρ.
- ``policy_laplace`` / ``policy_gaussian`` (the paper's algorithms): users come in a random
  order and spend their budget only on items still below a cutoff Γ = ρ + α·(noise scale), by
  L1 (water-filling) or L2 (projection) descent towards Γ. Weight no longer piles up on items
  that are already certain to be released, so more distinct items cross ρ.

Contribution bounding keeps Δ0 items per user, drawn uniformly (``selection="random"``, as in
the paper) or the user's most frequent ones (``"frequent"``); either rule looks only at the
user's own data, so the threshold analysis holds. Noise, the user order and the random choices
come from the OS CSPRNG unless a seeded ``rng`` is passed (tests and simulations only).
"""

from __future__ import annotations

import math
import time
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np

from privml.accounting.mechanisms import Composed, EpsilonDelta, Gaussian, Laplace, Mechanism
from privml.dpstats import calibrate
from privml.dpstats.randomness import Randomness

Algorithm = Literal["weighted_laplace", "weighted_gaussian", "policy_laplace", "policy_gaussian"]
ALGORITHMS: tuple[str, ...] = (
    "weighted_laplace",
    "weighted_gaussian",
    "policy_laplace",
    "policy_gaussian",
)
SELECTIONS = ("random", "frequent")
DEFAULT_ALPHA = 3.0  # Γ = ρ + α·scale; the paper's experiments use α between 2 and 5


@dataclass(frozen=True)
class SetUnionConfig:
    """Validated parameters of one DP set union release; derived values are properties."""

    epsilon: float
    delta: float
    max_per_user: int
    algorithm: str = "policy_gaussian"
    alpha: float = DEFAULT_ALPHA
    selection: str = "random"

    def __post_init__(self) -> None:
        calibrate.check_epsilon_delta(self.epsilon, self.delta)
        calibrate.check_max_per_user(self.max_per_user)
        if self.algorithm not in ALGORITHMS:
            raise ValueError(
                f"algorithm: must be one of {', '.join(ALGORITHMS)}, got {self.algorithm!r}"
            )
        if not (math.isfinite(self.alpha) and self.alpha >= 0):
            raise ValueError(f"alpha: must be a finite number >= 0, got {self.alpha!r}")
        if self.selection not in SELECTIONS:
            raise ValueError(
                f"selection: must be one of {', '.join(SELECTIONS)}, got {self.selection!r}"
            )

    @property
    def gaussian(self) -> bool:
        return self.algorithm.endswith("gaussian")

    @property
    def policy(self) -> bool:
        return self.algorithm.startswith("policy")

    @cached_property  # a root-find: computed once per config (frozen, so it cannot go stale)
    def noise_scale(self) -> float:
        """Laplace scale b = 1/ε, or Gaussian σ calibrated to (ε, δ/2)."""
        if self.gaussian:
            return calibrate.analytic_gaussian_sigma(self.epsilon, self.delta / 2)
        return 1.0 / self.epsilon

    @cached_property
    def threshold(self) -> float:
        """ρ: an item is released when its noisy weight exceeds this."""
        if self.gaussian:
            return calibrate.gaussian_threshold(self.noise_scale, self.delta, self.max_per_user)
        return calibrate.laplace_threshold(self.epsilon, self.delta, self.max_per_user)

    @property
    def cutoff(self) -> float | None:
        """Γ for the policy algorithms (users stop adding weight to an item at Γ)."""
        return self.threshold + self.alpha * self.noise_scale if self.policy else None

    def mechanism(self) -> Mechanism:
        """What the ledger is charged: the noise mechanism plus the threshold's δ."""
        if self.gaussian:
            return Composed((Gaussian(self.noise_scale), EpsilonDelta(0.0, self.delta / 2)))
        return Composed((Laplace(self.noise_scale), EpsilonDelta(0.0, self.delta)))

    def describe(self) -> dict:
        return {
            "algorithm": self.algorithm,
            "epsilon": self.epsilon,
            "delta": self.delta,
            "max_per_user": self.max_per_user,
            "selection": self.selection,
            "noise": "gaussian" if self.gaussian else "laplace",
            "noise_scale": self.noise_scale,
            "threshold": self.threshold,
            "cutoff": self.cutoff,
            "alpha": self.alpha if self.policy else None,
        }


@dataclass
class SetUnionResult:
    """The released items (sorted) and the parameters that produced them."""

    items: list
    config: SetUnionConfig
    users: int
    seconds: float
    extra: dict = field(default_factory=dict)


def bound_contributions(
    items: Iterable[Hashable], max_per_user: int, selection: str, rand: Randomness
) -> list:
    """At most ``max_per_user`` distinct items of one user (by the selection rule)."""
    counts = Counter(items)
    distinct = list(counts)
    if len(distinct) <= max_per_user:
        return distinct
    if selection == "frequent":  # most frequent first; ties broken at random
        keys = rand.uniform(len(distinct))
        order = sorted(range(len(distinct)), key=lambda i: (-counts[distinct[i]], keys[i]))
        return [distinct[i] for i in order[:max_per_user]]
    pick = np.argsort(rand.uniform(len(distinct)))[:max_per_user]
    return [distinct[i] for i in pick]


def _l1_descent(hist: dict, items: list, cutoff: float) -> None:
    """Water-filling: raise the items below Γ by a common amount, L1 total at most 1."""
    below = [w for w in items if hist[w] < cutoff]
    if not below:
        return
    gaps = np.sort(np.array([cutoff - hist[w] for w in below]))
    # Largest level L with sum(min(gap, L)) <= 1: walk the sorted gaps.
    budget, level, k = 1.0, 0.0, len(gaps)
    for i, g in enumerate(gaps):
        cost = (g - level) * (k - i)
        if cost <= budget:
            budget -= cost
            level = g
        else:
            level += budget / (k - i)
            break
    for w in below:
        hist[w] += min(cutoff - hist[w], level)


def _l2_descent(hist: dict, items: list, cutoff: float) -> None:
    """Move the user's items towards Γ along the gap vector, L2 length at most 1."""
    below = [w for w in items if hist[w] < cutoff]
    if not below:
        return
    gaps = np.array([cutoff - hist[w] for w in below])
    norm = float(np.linalg.norm(gaps))
    scale = min(1.0, norm) / norm
    for w, g in zip(below, gaps, strict=True):
        hist[w] += float(g * scale)


def weighted_histogram(
    users: list[list], config: SetUnionConfig, rand: Randomness
) -> dict[Hashable, float]:
    """The pre-noise weights: each user's bounded items, weighted or by the policy."""
    hist: dict[Hashable, float] = defaultdict(float)
    order = rand.permutation(len(users)) if config.policy else range(len(users))
    cutoff = config.cutoff
    for u in order:
        items = bound_contributions(users[u], config.max_per_user, config.selection, rand)
        if not items:
            continue
        if config.algorithm == "weighted_laplace":
            share = 1.0 / len(items)
        elif config.algorithm == "weighted_gaussian":
            share = 1.0 / math.sqrt(len(items))
        elif config.algorithm == "policy_laplace":
            _l1_descent(hist, items, cutoff)
            continue
        else:
            _l2_descent(hist, items, cutoff)
            continue
        for w in items:
            hist[w] += share
    return hist


def release(hist: Mapping[Hashable, float], config: SetUnionConfig, rand: Randomness) -> list:
    """Items whose weight plus fresh noise exceeds ρ."""
    if not hist:
        return []
    keys = list(hist)
    weights = np.fromiter((hist[k] for k in keys), dtype=np.float64, count=len(keys))
    if config.gaussian:
        noisy = weights + config.noise_scale * rand.normal(len(keys))
    else:
        noisy = weights + rand.laplace(len(keys), config.noise_scale)
    return [keys[i] for i in np.nonzero(noisy > config.threshold)[0]]


def dp_set_union(
    users: Mapping[str, Iterable[Hashable]] | Iterable[Iterable[Hashable]],
    config: SetUnionConfig,
    rng: np.random.Generator | None = None,
) -> SetUnionResult:
    """Release the DP union of the users' item sets.

    ``users`` maps a user id to that user's items (repeats allowed; only distinct items count),
    or is a sequence of per-user item lists. ``rng``: None for the OS CSPRNG (production);
    a seeded generator makes the run reproducible and is for tests and simulations only.
    """
    start = time.perf_counter()
    rand = Randomness(rng)
    lists = [list(v) for v in (users.values() if isinstance(users, Mapping) else users)]
    hist = weighted_histogram(lists, config, rand)
    items = sorted(release(hist, config, rand), key=str)
    return SetUnionResult(items, config, len(lists), time.perf_counter() - start)
