"""DP n-gram extraction, DPNE (Kim, Gopi, Kulkarni, Yekhanin, NeurIPS 2021).

Released level by level, k = 1..n:

1. Level 1 is a DP set union of the users' words (weighted Gaussian, threshold ρ_1 with δ/2).
2. At level k ≥ 2 a k-gram is *valid* only if its (k−1)-prefix and (k−1)-suffix were both
   released at level k−1. The valid set V_k is a function of the public release, so the
   Gaussian noise can (conceptually) go on every valid k-gram, and no δ is spent for items one
   user alone holds. Valid k-grams that no user has can then pass the threshold: these are
   *spurious*. ρ_k is set so that their expected number is at most η·|S_{k−1}|, and they are
   drawn exactly as the full-domain mechanism would release them (a binomial count, uniformly
   among the zero-weight valid k-grams), which the privacy proof requires.

The budget is split evenly across levels: each level's Gaussian has σ_1·√n, where σ_1 is the
analytic-Gaussian σ for (ε, δ/2), so the n levels compose to exactly one Gaussian with σ_1.
Each user contributes at most Δ0 distinct n-grams per level with weight 1/√(their count).
"""

from __future__ import annotations

import bisect
import math
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from privml.accounting.mechanisms import Composed, EpsilonDelta, Gaussian, Mechanism, SelfComposed
from privml.dpstats import calibrate
from privml.dpstats.randomness import Randomness
from privml.dpstats.set_union import bound_contributions, release

Gram = tuple[str, ...]
ENUMERATE_LIMIT = 2_000_000  # valid k-grams enumerated outright below this many


@dataclass(frozen=True)
class NgramConfig:
    """Validated DPNE parameters; σ per level and ρ_1 are derived."""

    epsilon: float
    delta: float
    n: int
    max_per_user: int
    eta: float = 0.01
    selection: str = "random"

    def __post_init__(self) -> None:
        calibrate.check_epsilon_delta(self.epsilon, self.delta)
        calibrate.check_max_per_user(self.max_per_user)
        if not (isinstance(self.n, int) and 1 <= self.n <= 10):
            raise ValueError(f"n: must be an integer in [1, 10], got {self.n!r}")
        if not 0 < self.eta < 1:
            raise ValueError(f"eta: must be in (0, 1), got {self.eta!r}")
        if self.selection not in ("random", "frequent"):
            raise ValueError(f"selection: must be random or frequent, got {self.selection!r}")

    @cached_property  # a root-find: computed once per config
    def sigma(self) -> float:
        """σ of each level's Gaussian: σ_1·√n."""
        return calibrate.analytic_gaussian_sigma(self.epsilon, self.delta / 2) * math.sqrt(self.n)

    @property
    def first_threshold(self) -> float:
        return calibrate.gaussian_threshold(self.sigma, self.delta, self.max_per_user)

    def mechanism(self) -> Mechanism:
        """n Gaussians of σ_1·√n (one Gaussian of σ_1) plus level 1's threshold δ/2."""
        return Composed(
            (SelfComposed(Gaussian(self.sigma), self.n), EpsilonDelta(0.0, self.delta / 2))
        )


@dataclass
class Level:
    """One level's public facts: threshold, valid-domain size and the spurious bound."""

    k: int
    threshold: float
    valid: int | None  # |V_k| (None at level 1: the domain is open)
    expected_spurious_max: float  # η·|S_{k−1}| (0 at level 1)
    released: list[Gram] = field(default_factory=list)


@dataclass
class NgramResult:
    levels: list[Level]
    config: NgramConfig
    users: int
    seconds: float

    def grams(self, k: int) -> list[str]:
        return [" ".join(g) for g in self.levels[k - 1].released] if k <= len(self.levels) else []


def _kgrams(records: Sequence[Sequence[str]], k: int) -> Iterable[Gram]:
    for toks in records:
        for i in range(len(toks) - k + 1):
            yield tuple(toks[i : i + k])


class _Valid:
    """The valid k-grams built from S_{k−1}: joins of a and b with a[1:] == b[:-1]."""

    def __init__(self, prev: list[Gram]) -> None:
        self.prev = set(prev)
        self.by_suffix: dict[Gram, list[Gram]] = defaultdict(list)
        self.by_prefix: dict[Gram, list[Gram]] = defaultdict(list)
        for g in prev:
            self.by_suffix[g[1:]].append(g)
            self.by_prefix[g[:-1]].append(g)
        self.keys = [key for key in self.by_suffix if key in self.by_prefix]
        self.weights = [len(self.by_suffix[key]) * len(self.by_prefix[key]) for key in self.keys]
        self.size = sum(self.weights)

    def __contains__(self, gram: Gram) -> bool:
        return gram[:-1] in self.prev and gram[1:] in self.prev

    def all(self) -> Iterable[Gram]:
        for key in self.keys:
            for a in self.by_suffix[key]:
                for b in self.by_prefix[key]:
                    yield a + b[-1:]

    def sample(self, count: int, exclude: Mapping, rand: Randomness) -> list[Gram]:
        """``count`` distinct valid k-grams not in ``exclude``, uniformly."""
        if count <= 0:
            return []
        if self.size <= ENUMERATE_LIMIT or self.size - len(exclude) < 4 * count:
            pool = [g for g in self.all() if g not in exclude]
            pick = rand.permutation(len(pool))[:count]
            return [pool[i] for i in pick]
        cum, total = [], 0
        for w in self.weights:
            total += w
            cum.append(total)
        out: set[Gram] = set()
        while len(out) < count:
            r = int(rand.integers(total, 1)[0])
            key = self.keys[bisect.bisect_right(cum, r)]
            a_list, b_list = self.by_suffix[key], self.by_prefix[key]
            i, j = rand.integers(len(a_list), 1)[0], rand.integers(len(b_list), 1)[0]
            g = a_list[i] + b_list[j][-1:]
            if g not in exclude:
                out.add(g)
        return sorted(out)


def dp_ngrams(
    users: Mapping[str, Sequence[Sequence[str]]] | Iterable[Sequence[Sequence[str]]],
    config: NgramConfig,
    rng=None,
) -> NgramResult:
    """Release DP 1..n-grams from users' tokenized records (one token list per record).

    ``rng``: None for the OS CSPRNG; a seeded numpy Generator for tests and simulations only.
    """
    start = time.perf_counter()
    rand = Randomness(rng)
    per_user = [list(v) for v in (users.values() if isinstance(users, Mapping) else users)]
    sigma = config.sigma
    levels: list[Level] = []
    valid: _Valid | None = None
    for k in range(1, config.n + 1):
        if valid is not None and valid.size == 0:
            levels.append(Level(k, math.inf, 0, 0.0))
            continue
        hist: dict[Gram, float] = defaultdict(float)
        for records in per_user:
            grams = _kgrams(records, k)
            if valid is not None:
                grams = (g for g in grams if g in valid)
            items = bound_contributions(grams, config.max_per_user, config.selection, rand)
            if items:
                share = 1.0 / math.sqrt(len(items))
                for g in items:
                    hist[g] += share
        if valid is None:
            level = Level(k, config.first_threshold, None, 0.0)
        else:
            prev = len(levels[-1].released)
            rho = calibrate.ngram_threshold(sigma, config.eta, prev, valid.size)
            level = Level(k, rho, valid.size, config.eta * prev)
        lvl_cfg = _LevelNoise(sigma, level.threshold)
        out = release(hist, lvl_cfg, rand)  # type: ignore[arg-type]
        if valid is not None:
            zero = valid.size - len(hist)
            spurious = rand.binomial(zero, calibrate.gaussian_tail(level.threshold, sigma))
            out.extend(valid.sample(spurious, hist, rand))
        level.released = sorted(out)
        levels.append(level)
        valid = _Valid(level.released)
    return NgramResult(levels, config, len(per_user), time.perf_counter() - start)


@dataclass(frozen=True)
class _LevelNoise:
    """The two fields ``set_union.release`` reads: Gaussian σ and the level's threshold."""

    noise_scale: float
    threshold: float
    gaussian: bool = True


def ngram_counts(users: Iterable[Sequence[Sequence[str]]], k: int) -> Counter:
    """Distinct users per k-gram, non-privately (for benchmarks and tests only)."""
    c: Counter = Counter()
    for records in users:
        c.update(set(_kgrams(records, k)))
    return c
