"""Numerical back ends over mechanism descriptions: dp_accounting's PLD and RDP, Opacus's PRV.

Each function computes one bound or raises; choosing among them and falling back is the job of
``privml.accounting.accountants``. No accountant is written here by hand: PLDs, RDP curves and
PRVs all come from the libraries, and this module only maps descriptions onto their APIs.

Neighbouring relation: add-or-remove one unit, as in DP-SGD. Trees containing randomized
response are analysed under "replace with a special element" (same Gaussian/Laplace PLDs as
add-or-remove, and the relation dp_accounting supports for randomized response); trees with
fixed-size sampling under "replace one", the only relation dp_accounting has for it.
"""

from __future__ import annotations

import contextlib
import functools
import math
import warnings
from collections import Counter
from collections.abc import Iterator

import numpy as np
from absl import logging as absl_logging
from dp_accounting.pld import common
from dp_accounting.pld import privacy_loss_distribution as pld_lib
from dp_accounting.privacy_accountant import NeighboringRelation as Rel
from dp_accounting.rdp import RdpAccountant

from privml.accounting.mechanisms import (
    Composed,
    EpsilonDelta,
    FixedSizeSampled,
    Gaussian,
    Laplace,
    Mechanism,
    PoissonSampled,
    RandomizedResponse,
    SelfComposed,
    to_dp_event,
)

# RDP orders: a base grid like dp_accounting's default, extended (only when the optimum sits at
# its edge) towards 1 for huge ε (e.g. σ 0.3 over 1e6 full-batch steps) and upwards for tiny ε
# (e.g. σ 50 at δ 1e-12). Large fractional-free orders are costly, so they are not always built.
RDP_BASE_ORDERS: tuple[float, ...] = (
    *(1 + x / 10 for x in range(1, 100)),
    *range(11, 64),
    *(80, 96, 128, 160, 192, 256, 384, 512, 768, 1024),
)
RDP_LOW_ORDERS: tuple[float, ...] = tuple((1 + np.geomspace(1e-5, 0.09, 40)).tolist())
RDP_HIGH_ORDERS: tuple[float, ...] = tuple(np.round(np.geomspace(1200, 20_000, 14)).tolist())
RDP_GRIDS = {"base": RDP_BASE_ORDERS, "low": RDP_LOW_ORDERS, "high": RDP_HIGH_ORDERS}
PRV_MAX_POINTS = 2**20  # larger PRV meshes cost memory and, over many steps, FFT precision
PLD_MAX_POINTS = 2**19  # finest PLD grid built for one mechanism (about 2 s on one core)


class Unsupported(Exception):
    """This back end cannot analyse the description (e.g. RDP of an (ε, δ) release)."""


def _walk(m: Mechanism) -> Iterator[Mechanism]:
    yield m
    children = getattr(m, "mechanisms", None) or (getattr(m, "mechanism", None),)
    for child in children:
        if child is not None:
            yield from _walk(child)


def relation(m: Mechanism) -> Rel:
    """The neighbouring relation the whole tree is analysed under (see module docstring)."""
    kinds = {type(x) for x in _walk(m)}
    if FixedSizeSampled in kinds:
        return Rel.REPLACE_ONE
    if RandomizedResponse in kinds:
        return Rel.REPLACE_SPECIAL
    return Rel.ADD_OR_REMOVE_ONE


def contains_epsilon_delta(m: Mechanism) -> bool:
    return any(isinstance(x, EpsilonDelta) for x in _walk(m))


def compositions(m: Mechanism) -> int:
    """How many lossy compositions a PLD of ``m`` takes (its grid error grows with this)."""
    match m:
        case SelfComposed(mechanism=Gaussian() | PoissonSampled(rate=1.0, mechanism=Gaussian())):
            return 1  # composed exactly
        case SelfComposed(mechanism=inner, count=n):
            return n * compositions(inner)
        case Composed(mechanisms=ms):
            return sum(compositions(x) for x in ms)
    return 1


def loss_width(m: Mechanism) -> float:
    """Rough width of one component's privacy-loss support (sets the finest affordable grid)."""
    match m:
        case Gaussian(noise_multiplier=z):
            return 2 * (12 / z + 1 / (2 * z * z))
        case SelfComposed(
            mechanism=Gaussian(noise_multiplier=z)
            | PoissonSampled(rate=1.0, mechanism=Gaussian(noise_multiplier=z)),
            count=n,
        ):
            return loss_width(Gaussian(z / math.sqrt(n)))
        case Laplace(noise_multiplier=b):
            return 2 / b
        case RandomizedResponse(noise_parameter=p, num_buckets=k):
            return 2 * math.log1p((1 - p) * k / p)
        case EpsilonDelta(epsilon=e):
            return 2 * e + 1e-12
        case PoissonSampled(rate=q, mechanism=inner):
            half = loss_width(inner) / 2  # log(1 - q + q e^L) for the largest loss L
            return 2 * float(np.logaddexp(math.log1p(-q) if q < 1 else -np.inf, math.log(q) + half))
        case SelfComposed(mechanism=inner):
            return loss_width(inner)
        case Composed(mechanisms=ms):
            return max(loss_width(x) for x in ms)
    return 1.0


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the libraries' numerical warnings (failed orders are simply excluded)."""
    level = absl_logging.get_verbosity()
    absl_logging.set_verbosity(absl_logging.ERROR)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            yield
    finally:
        absl_logging.set_verbosity(level)


# --- RDP --------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=512)
def _rdp_accountant(m: Mechanism, grid: str) -> RdpAccountant:
    if contains_epsilon_delta(m):
        raise Unsupported("RDP cannot compose a release known only by (epsilon, delta)")
    acc = RdpAccountant(orders=list(RDP_GRIDS[grid]), neighboring_relation=relation(m))
    event = to_dp_event(m)
    if not acc.supports(event):
        raise Unsupported(f"RDP does not support {type(m).__name__} here")
    with _quiet():
        acc.compose(event)
    return acc


def clear_rdp_cache() -> None:
    """Forget cached RDP curves."""
    _rdp_accountant.cache_clear()


def _rdp_best(m: Mechanism, read: str, target: float) -> float:
    """Best of the base grid and, if its optimum is at an edge, the grid beyond that edge."""
    with _quiet():
        value, order = getattr(_rdp_accountant(m, "base"), read)(target)
        if order == RDP_BASE_ORDERS[0]:
            value = min(value, getattr(_rdp_accountant(m, "low"), read)(target)[0])
        elif order == RDP_BASE_ORDERS[-1]:
            value = min(value, getattr(_rdp_accountant(m, "high"), read)(target)[0])
    return float(value)


def rdp_epsilon(m: Mechanism, delta: float) -> float:
    """dp_accounting's RDP bound on epsilon, over a wide grid of orders."""
    return _rdp_best(m, "get_epsilon_and_optimal_order", delta)


def rdp_delta(m: Mechanism, epsilon: float) -> float:
    """dp_accounting's RDP bound on delta, over a wide grid of orders."""
    return _rdp_best(m, "get_delta_and_optimal_order", epsilon)


# --- PLD --------------------------------------------------------------------------------------


def amplified(q: float, ed: EpsilonDelta) -> EpsilonDelta:
    """Privacy amplification by Poisson sampling of an (ε, δ) release (add-or-remove)."""
    return EpsilonDelta(math.log1p(q * math.expm1(ed.epsilon)), q * ed.delta)


@functools.lru_cache(maxsize=32)
def pld(m: Mechanism, interval: float, pessimistic: bool = True) -> pld_lib.PrivacyLossDistribution:
    """dp_accounting's PLD for ``m`` on a grid of ``interval``; cached per frozen description.

    With ``pessimistic`` the rounding makes every epsilon read from it an upper bound; without,
    a lower estimate (used by the tests as the reference for "never below the true epsilon").
    """
    rel = relation(m)
    kw = {"value_discretization_interval": interval}
    g_kw = {**kw, "pessimistic_estimate": pessimistic, "use_connect_dots": pessimistic}
    match m:
        case Gaussian(noise_multiplier=z):
            return pld_lib.from_gaussian_mechanism(z, neighboring_relation=rel, **g_kw)
        case Laplace(noise_multiplier=b):
            if rel == Rel.REPLACE_ONE:
                raise Unsupported("PLD has no Laplace under replace-one")
            return pld_lib.from_laplace_mechanism(b, **g_kw)
        case RandomizedResponse(noise_parameter=p, num_buckets=k):
            return pld_lib.from_randomized_response(
                p, k, pessimistic_estimate=pessimistic, neighboring_relation=rel, **kw
            )
        case EpsilonDelta(epsilon=e, delta=d):
            return pld_lib.from_privacy_parameters(common.DifferentialPrivacyParameters(e, d), **kw)
        case PoissonSampled(rate=q, mechanism=Gaussian(noise_multiplier=z)):
            return pld_lib.from_gaussian_mechanism(
                z, sampling_prob=q, neighboring_relation=rel, **g_kw
            )
        case PoissonSampled(rate=q, mechanism=Laplace(noise_multiplier=b)):
            return pld_lib.from_laplace_mechanism(b, sampling_prob=q, **g_kw)
        case PoissonSampled(rate=q, mechanism=EpsilonDelta() as ed):
            return pld(amplified(q, ed), interval, pessimistic)
        case PoissonSampled(rate=1.0, mechanism=inner):
            return pld(inner, interval, pessimistic)  # sampling everyone is no sampling
        case SelfComposed(
            mechanism=Gaussian(noise_multiplier=z)
            | PoissonSampled(rate=1.0, mechanism=Gaussian(noise_multiplier=z)),
            count=n,
        ):
            # n Gaussians with multiplier z are exactly one with multiplier z / sqrt(n).
            return pld(Gaussian(z / math.sqrt(n)), interval, pessimistic)
        case SelfComposed(mechanism=inner, count=n):
            return pld(inner, interval, pessimistic).self_compose(n)
        case Composed(mechanisms=ms):
            counts = Counter(ms)
            out = None
            for x, n in counts.items():
                part = pld(x if n == 1 else SelfComposed(x, n), interval, pessimistic)
                out = part if out is None else out.compose(part)
            return out
    raise Unsupported(f"PLD does not support {type(m).__name__} here")


def pld_epsilon(m: Mechanism, delta: float, interval: float, pessimistic: bool = True) -> float:
    """Epsilon from dp_accounting's PLD (an upper bound when ``pessimistic``)."""
    with _quiet():
        return float(pld(m, interval, pessimistic).get_epsilon_for_delta(delta))


def pld_delta(m: Mechanism, epsilon: float, interval: float) -> float:
    """Delta from dp_accounting's pessimistic PLD (an upper bound)."""
    with _quiet():
        return float(pld(m, interval, True).get_delta_for_epsilon(epsilon))


# --- PRV --------------------------------------------------------------------------------------


def dp_sgd_runs(m: Mechanism) -> tuple[tuple[float, float, int], ...] | None:
    """``m`` as DP-SGD runs ``(sigma, q, steps)`` if it is one (what PRV supports), else None."""
    match m:
        case Gaussian(noise_multiplier=z):
            return ((z, 1.0, 1),)
        case PoissonSampled(rate=q, mechanism=Gaussian(noise_multiplier=z)):
            return ((z, q, 1),)
        case SelfComposed(mechanism=inner, count=n):
            runs = dp_sgd_runs(inner)
            return None if runs is None else tuple((z, q, t * n) for z, q, t in runs)
        case Composed(mechanisms=ms):
            parts = [dp_sgd_runs(x) for x in ms]
            if any(p is None for p in parts):
                return None
            total: Counter[tuple[float, float]] = Counter()
            for p in parts:
                for z, q, t in p:
                    total[(z, q)] += t
            return tuple((z, q, t) for (z, q), t in total.items())
    return None


def prv_epsilon(
    runs: tuple[tuple[float, float, int], ...], delta: float, eps_error: float
) -> float:
    """Upper end of Opacus PRV's error interval for the DP-SGD ``runs``.

    The steps of ``PRVAccountant.get_epsilon``, with the mesh sized once up front so that a
    mesh beyond ``PRV_MAX_POINTS`` raises ``MemoryError`` instead of exhausting memory.
    """
    # Imported here: Opacus loads torch (seconds), which `privml budget` never needs.
    from opacus.accountants.analysis.prv import (
        Domain,
        PoissonSubsampledGaussianPRV,
        TruncatedPrivacyRandomVariable,
        compose_heterogeneous,
        compute_safe_domain_size,
        discretize,
    )

    prvs = [PoissonSubsampledGaussianPRV(q, z) for z, q, _ in runs]
    counts = [t for _, _, t in runs]
    delta_error = delta / 1000  # Opacus's default
    with _quiet():
        half_width = compute_safe_domain_size(prvs, counts, eps_error, delta_error)
        mesh = eps_error / math.sqrt(sum(counts) * math.log(12 / delta_error) / 2)
        points = 2 * half_width / mesh
        if points > PRV_MAX_POINTS:
            raise MemoryError(f"PRV mesh of {points:.3g} points exceeds {PRV_MAX_POINTS}")
        domain = Domain.create_aligned(-half_width, half_width, mesh)
        dprvs = [
            discretize(TruncatedPrivacyRandomVariable(prv, domain.t_min, domain.t_max), domain)
            for prv in prvs
        ]
        composed = compose_heterogeneous(dprvs=dprvs, num_self_compositions=counts)
        _, _, upper = composed.compute_epsilon(delta, delta_error, eps_error)
    return float(upper)
