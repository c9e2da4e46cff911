"""Simulate N clients over a grid of ε: observed estimation error against the variance formula.

Per mechanism and N, one synthetic population of true values is drawn (1BitMean: x = m·u², a
skewed spread over [0, m]; dBitFlip: buckets with Zipf weights 1/(v+1)); then, per ε, ``repeats``
fresh populations of clients (new α, new sampled buckets, new bits) report once, vectorized, and
the server estimates. RMSE over the repeats is compared with the exact theoretical std from
``privml.telemetry.estimators``; their ratio should be 1 within about 1/√(2·repeats).

All randomness here comes from ``SeededSource``: this is a simulation, not a collection.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from privml.telemetry.dbitflip import check_k_d, randomize_histogram
from privml.telemetry.estimators import (
    estimate_histogram,
    estimate_mean,
    histogram_variance,
    histogram_variance_bound,
    mean_variance,
    mean_variance_bound,
)
from privml.telemetry.one_bit_mean import randomize_mean
from privml.telemetry.randomness import SeededSource
from privml.telemetry.validation import check_epsilon, check_gamma, check_int, check_m

MECHANISMS = ("1bitmean", "dbitflip")
_CHUNK_ELEMENTS = 4_000_000  # reports per vectorized batch: bounds memory at ~100 MB


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate; ``s = None`` turns α-point rounding off."""

    clients: tuple[int, ...]
    epsilons: tuple[float, ...]
    mechanisms: tuple[str, ...] = MECHANISMS
    repeats: int = 200
    seed: int = 0
    m: float = 100.0
    s: int | None = 16
    gamma: float = 0.0
    k: int = 16
    d: int = 4

    def __post_init__(self) -> None:
        if not self.clients:
            raise ValueError("clients: give at least one N")
        if not self.epsilons:
            raise ValueError("epsilon: give at least one ε")
        for n in self.clients:
            check_int(n, "clients", 1)
        for eps in self.epsilons:
            check_epsilon(eps)
        for mech in self.mechanisms or ("",):
            if mech not in MECHANISMS:
                raise ValueError(f"mechanism: must be one of {', '.join(MECHANISMS)}, got {mech!r}")
        check_int(self.repeats, "repeats", 2)
        check_int(self.seed, "seed", 0)
        check_m(self.m)
        if self.s is not None:
            check_int(self.s, "s (rounding levels)", 1)
        check_gamma(self.gamma)
        check_k_d(self.k, self.d)


@dataclass
class SimulationRow:
    """One (mechanism, ε, N) cell: errors over ``repeats`` runs against the theory."""

    mechanism: str
    epsilon: float
    clients: int
    repeats: int
    mean_error: float  # average signed error (bias check); per bucket averaged for dBitFlip
    rmse: float  # observed root mean squared error (per bucket for dBitFlip)
    theory_std: float  # sqrt of the exact variance formula for this population
    worst_case_std: float  # sqrt of the worst-case variance bound for this N and ε
    ratio: float = field(init=False)  # rmse / theory_std; 1 ± about 1/sqrt(2·repeats)

    def __post_init__(self) -> None:
        self.ratio = self.rmse / self.theory_std

    def to_dict(self) -> dict:
        return asdict(self)


def _source(config: SimulationConfig, *parts: int) -> SeededSource:
    return SeededSource([config.seed, *parts])


def _chunks(repeats: int, per_repeat: int) -> list[int]:
    size = max(1, _CHUNK_ELEMENTS // max(per_repeat, 1))
    return [min(size, repeats - start) for start in range(0, repeats, size)]


def _mean_rows(config: SimulationConfig, n: int) -> list[SimulationRow]:
    x = config.m * _source(config, 0, n).random(n) ** 2
    rows = []
    for i, eps in enumerate(config.epsilons):
        rng = _source(config, 0, n, i + 1)
        errors = []
        for r in _chunks(config.repeats, n):
            bits = randomize_mean(
                np.broadcast_to(x, (r, n)), eps, config.m, s=config.s, gamma=config.gamma, rng=rng
            )
            errors.append(estimate_mean(bits, eps, config.m, config.gamma) - x.mean())
        err = np.concatenate(errors)
        theory = mean_variance(x, eps, config.m, config.gamma)
        bound = mean_variance_bound(n, eps, config.m, config.gamma)
        rows.append(_row("1bitmean", eps, n, config.repeats, err, theory, bound))
    return rows


def _histogram_rows(config: SimulationConfig, n: int) -> list[SimulationRow]:
    k, d = config.k, config.d
    weights = 1 / np.arange(1, k + 1)
    cdf = np.cumsum(weights) / weights.sum()
    values = np.minimum(np.searchsorted(cdf, _source(config, 1, n).random(n), side="right"), k - 1)
    truth = np.bincount(values, minlength=k) / n
    rows = []
    for i, eps in enumerate(config.epsilons):
        rng = _source(config, 1, n, i + 1)
        errors = []
        for r in _chunks(config.repeats, n * d):
            buckets, bits = randomize_histogram(np.broadcast_to(values, (r, n)), k, d, eps, rng)
            errors.append(estimate_histogram(buckets, bits, k, eps) - truth)
        err = np.concatenate(errors)
        theory = float(histogram_variance(values, k, d, eps).mean())
        bound = histogram_variance_bound(n, k, d, eps)
        rows.append(_row("dbitflip", eps, n, config.repeats, err, theory, bound))
    return rows


def _row(mech: str, eps: float, n: int, repeats: int, err: np.ndarray, var: float, bound: float):
    return SimulationRow(
        mechanism=mech,
        epsilon=float(eps),
        clients=n,
        repeats=repeats,
        mean_error=float(err.mean()),
        rmse=float(np.sqrt(np.mean(err**2))),
        theory_std=math.sqrt(var),
        worst_case_std=math.sqrt(bound),
    )


def simulate(config: SimulationConfig) -> list[SimulationRow]:
    """Rows for every mechanism × N × ε, in that order."""
    rows: list[SimulationRow] = []
    for mech in config.mechanisms:
        for n in config.clients:
            rows += (_mean_rows if mech == "1bitmean" else _histogram_rows)(config, n)
    return rows


def parse_epsilons(text: str) -> list[float]:
    """ "0.5,1,2" (a list) or "0.25:8:6" (6 log-spaced values from 0.25 to 8); each ε > 0."""
    text = text.strip()
    try:
        if ":" in text:
            lo, hi, num = text.split(":")
            lo_f, hi_f = check_epsilon(lo, "epsilons"), check_epsilon(hi, "epsilons")
            count = int(num)
            if count < 1 or hi_f < lo_f:
                raise ValueError
            return [float(f"{e:.12g}") for e in np.geomspace(lo_f, hi_f, count)]
        return [check_epsilon(part, "epsilons") for part in text.split(",") if part.strip()]
    except ValueError as exc:
        if str(exc).startswith("epsilons:"):
            raise
        raise ValueError(
            f"epsilons: expected a list like 0.5,1,2 or a grid LOW:HIGH:COUNT, got {text!r}"
        ) from None


def config_dict(config: SimulationConfig) -> dict:
    """The configuration as JSON-ready values."""
    out = asdict(config)
    return {key: list(val) if isinstance(val, tuple) else val for key, val in out.items()}


def _falls(rows: Sequence[SimulationRow], key: str, group: str) -> bool:
    """Whether observed RMSE strictly falls as ``key`` grows within each ``group`` value."""
    by: dict[tuple, list[SimulationRow]] = {}
    for row in rows:
        by.setdefault((row.mechanism, getattr(row, group)), []).append(row)
    for cell in by.values():
        errs = [r.rmse for r in sorted(cell, key=lambda r: getattr(r, key))]
        if any(b >= a for a, b in zip(errs, errs[1:], strict=False)):
            return False
    return True


def summary(rows: Sequence[SimulationRow]) -> dict:
    """Range of RMSE / theory ratios, and whether error falls as ε grows and as N grows."""
    ratios = [r.ratio for r in rows]
    return {
        "min_ratio": min(ratios),
        "max_ratio": max(ratios),
        "error_falls_with_epsilon": _falls(rows, "epsilon", "clients"),
        "error_falls_with_clients": _falls(rows, "clients", "epsilon"),
    }
