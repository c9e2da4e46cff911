"""Interchangeable accountants over mechanism descriptions: ``epsilon`` and ``delta``.

Every figure is an upper bound. ``accountant`` picks the method: "pld" (dp_accounting's privacy
loss distributions, pessimistic discretization, grid sized to the answer), "prv" (Opacus's PRV
accountant, DP-SGD shaped descriptions only; the upper end of its error interval), "rdp"
(dp_accounting's RDP over a wide grid of orders) or "tight" (PLD, and PRV if PLD fails). A
requested accountant that fails numerically (PRV above ε = 10 or with a mesh too large, PLD
grids too large, unsupported descriptions, overflows, ...) falls back to a valid looser bound,
and the result names the bound used (``accountant``) and says why (``note``). RDP (or, with
(ε, δ) releases, composition by theorem) is always computed too: the minimum of valid upper
bounds is a valid upper bound, so it wins where it is tighter. Results and PLDs are cached on
the frozen descriptions, so a ledger recomposing the same charges pays once.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

from privml.accounting import backends
from privml.accounting.backends import Unsupported
from privml.accounting.composition import epsilon_by_theorem
from privml.accounting.mechanisms import (
    Composed,
    EpsilonDelta,
    FixedSizeSampled,
    Gaussian,
    Laplace,
    Mechanism,
    MechanismError,
    PoissonSampled,
    RandomizedResponse,
    SelfComposed,
)
from privml.accounting.results import DeltaResult, EpsilonResult

ACCOUNTANTS = ("tight", "pld", "prv", "rdp")
PRV_MAX_EPSILON = 10.0  # PRV's mesh grows with ε until memory runs out: skipped above this
PLD_MAX_EPSILON = 1_000.0  # beyond this the PLD grid is not worth building: RDP is used
PRV_RELATIVE_ERROR = 1 / 200  # PRV's eps_error relative to a rough ε (upper end ~0.5% above)
PLD_MAX_COMPOSED = 2**18  # composed PLD grid cap: finer FFT grids over many steps get noisy
PRV_COARSE = "prv could not reach its relative precision (mesh too large)"
_MECHANISMS = (
    Gaussian,
    Laplace,
    RandomizedResponse,
    EpsilonDelta,
    PoissonSampled,
    FixedSizeSampled,
    SelfComposed,
    Composed,
)


def _check(mechanism: object, accountant: str) -> None:
    if not isinstance(mechanism, _MECHANISMS):
        raise MechanismError(f"mechanism: must be a mechanism description, got {mechanism!r}")
    if accountant not in ACCOUNTANTS:
        raise ValueError(f"accountant: must be one of {ACCOUNTANTS}, got {accountant!r}")


def _span(m: Mechanism) -> float:
    """Rough reach of the composed privacy losses: the ε bound at δ = 1e-15 (PLD tails are cut
    at about that mass), as Opacus's PRV sizes its domain. Inf when unknown."""
    try:
        return _rdp_or_theorem(m, 1e-15)[0]
    except Exception:
        return math.inf


def _interval(m: Mechanism, eps_guess: float) -> float:
    """PLD grid step: fine enough that rounding costs well under 1% of ε, as coarse as allowed.

    Measured on dp_accounting's pessimistic (connect-the-dots) PLDs: the relative excess stays
    below ~0.2% while step <= ε / (50 sqrt(compositions)). The step is a power of two so caches
    hit across calls, and never so fine that one component's losses span more than
    ``PLD_MAX_POINTS`` steps or the composed losses more than ``PLD_MAX_COMPOSED`` steps.
    """
    if not math.isfinite(eps_guess):
        eps_guess = 10.0
    n = backends.compositions(m)
    step = max(eps_guess, 1e-12) / max(2000.0, 50.0 * math.sqrt(n))
    finest = backends.loss_width(m) / backends.PLD_MAX_POINTS
    span = _span(m)
    if math.isfinite(span):
        finest = max(finest, 2 * span / PLD_MAX_COMPOSED)
    exponent = max(math.floor(math.log2(step)), math.ceil(math.log2(finest)))
    return 2.0 ** min(-4, max(-40, exponent))


def _pld_epsilon(m: Mechanism, delta: float, rough: float) -> float:
    """Pessimistic PLD ε; refined once when the rough guess was far above the answer."""
    step = _interval(m, rough)
    eps = backends.pld_epsilon(m, delta, step)
    finer = _interval(m, eps)
    if finer < step / 2:
        eps = min(eps, backends.pld_epsilon(m, delta, finer))
    return eps


def _prv_epsilon(
    runs: tuple[tuple[float, float, int], ...], delta: float, rough: float
) -> tuple[float, bool]:
    """PRV's upper end with an error budget relative to ε (refined once, as for PLD).

    Returns the bound and whether it reached that relative precision; a coarse figure is
    still a valid upper bound, but then PLD is tried as well.
    """
    err = min(0.05, rough * PRV_RELATIVE_ERROR)
    eps = backends.prv_epsilon(runs, delta, err)
    if eps * PRV_RELATIVE_ERROR < err / 2:
        try:
            return min(eps, backends.prv_epsilon(runs, delta, eps * PRV_RELATIVE_ERROR)), True
        except MemoryError:
            return eps, False
    return eps, True


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:120]


class _Bounds:
    """Collects upper bounds from several methods and remembers why others failed."""

    def __init__(self) -> None:
        self.values: dict[str, float] = {}
        self.failures: list[str] = []

    def attempt(self, name: str, fn: Callable[[], float]) -> None:
        try:
            value = float(fn())
        except (Exception, MemoryError) as exc:  # numerical failures of the libraries
            self.failures.append(f"{name} failed ({_short(exc)})")
            return
        if math.isnan(value) or value < 0:
            self.failures.append(f"{name} failed (returned {value})")
        else:
            self.values[name] = value

    def best(self) -> tuple[str, float]:
        name = min(self.values, key=lambda k: self.values[k])
        return name, self.values[name]


def _rdp_or_theorem(m: Mechanism, delta: float) -> tuple[float, str]:
    """RDP, or (with (ε, δ) parts) the composition theorem over RDP: the always-there bound."""
    if backends.contains_epsilon_delta(m):
        eps, _ = epsilon_by_theorem(m, delta, _rdp_or_theorem)
        return eps, "composition"
    return backends.rdp_epsilon(m, delta), "rdp"


@functools.lru_cache(maxsize=4096)
def _epsilon(m: Mechanism, delta: float, accountant: str) -> EpsilonResult:
    bounds = _Bounds()
    fallback = "rdp"
    try:
        rough, fallback = _rdp_or_theorem(m, delta)
        bounds.values[fallback] = rough
    except (Exception, MemoryError) as exc:
        bounds.failures.append(f"rdp failed ({_short(exc)})")
        rough = math.inf
    if rough == 0:  # e.g. δ above the sampling rate: nothing tighter exists
        return EpsilonResult(0.0, delta, fallback, note=f"{fallback} bound is already 0")
    runs = backends.dp_sgd_runs(m)

    def try_prv() -> None:
        if runs is None:
            bounds.failures.append("prv does not support this description (DP-SGD only)")
        elif rough > PRV_MAX_EPSILON:
            bounds.failures.append(f"prv skipped (epsilon > {PRV_MAX_EPSILON:g})")
        else:
            precise = []

            def prv() -> float:
                eps, ok = _prv_epsilon(runs, delta, rough)
                precise.append(ok)
                return eps

            bounds.attempt("prv", prv)
            if precise == [False]:
                bounds.failures.append(PRV_COARSE)

    def try_pld() -> None:
        if math.isfinite(rough) and rough > PLD_MAX_EPSILON:
            bounds.failures.append(f"pld skipped (epsilon > {PLD_MAX_EPSILON:g})")
        else:
            bounds.attempt("pld", lambda: _pld_epsilon(m, delta, rough))

    if accountant == "prv":
        try_prv()
        if "prv" not in bounds.values or bounds.failures[-1:] == [PRV_COARSE]:
            try_pld()
    elif accountant in ("pld", "tight"):
        try_pld()
        if accountant == "tight" and "pld" not in bounds.values and runs is not None:
            try_prv()
    wanted = accountant
    if accountant == "tight":
        wanted = "pld" if "pld" in bounds.values or runs is None else "prv"
    if not bounds.values:
        raise Unsupported("no accountant supports this description: " + "; ".join(bounds.failures))
    used, value = bounds.best()
    notes = list(bounds.failures)
    if used != wanted and wanted in bounds.values:
        notes.append(f"{used} bound was tighter than {wanted} here")
    elif used != wanted:
        notes.append(f"{used} upper bound used")
    if used == "composition":
        notes.append("(epsilon, delta) releases composed by the basic/advanced theorem")
    return EpsilonResult(value, delta, used, note="; ".join(notes))


def clear_caches() -> None:
    """Forget cached results and PLDs (for benchmarks and tests; results never go stale)."""
    _epsilon.cache_clear()
    _delta.cache_clear()
    backends.pld.cache_clear()
    backends.clear_rdp_cache()


def epsilon(mechanism: Mechanism, delta: float, accountant: str = "tight") -> EpsilonResult:
    """Upper bound on ε at ``delta`` for ``mechanism``; ``accountant`` as in the module doc."""
    _check(mechanism, accountant)
    if not 0 < delta < 1:
        raise ValueError(f"delta: must be in (0, 1), got {delta}")
    return _epsilon(mechanism, float(delta), accountant)


def _delta_by_bisection(m: Mechanism, eps: float, accountant: str) -> float:
    """Smallest δ (within 1% in log space) whose ε upper bound is ≤ ``eps``; 1 if none."""
    lo, hi = -700.0, 0.0  # log δ
    if _epsilon(m, 0.5, accountant).epsilon > eps:
        return 1.0
    hi = math.log(0.5)
    for _ in range(40):
        mid = (lo + hi) / 2
        if _epsilon(m, math.exp(mid), accountant).epsilon <= eps:
            hi = mid
        else:
            lo = mid
        if hi - lo < 0.01:
            break
    return math.exp(hi)


@functools.lru_cache(maxsize=4096)
def _delta(m: Mechanism, eps: float, accountant: str) -> DeltaResult:
    bounds = _Bounds()
    if accountant in ("rdp", "tight"):
        bounds.attempt("rdp", lambda: backends.rdp_delta(m, eps))
    if accountant in ("pld", "tight"):
        bounds.attempt("pld", lambda: backends.pld_delta(m, eps, _interval(m, max(eps, 1e-3))))
    if not bounds.values or accountant == "prv":
        bounds.attempt(
            f"{accountant} by bisection", lambda: _delta_by_bisection(m, eps, accountant)
        )
    if not bounds.values:
        raise Unsupported("no accountant supports this description: " + "; ".join(bounds.failures))
    used, value = bounds.best()
    return DeltaResult(min(1.0, value), eps, used, note="; ".join(bounds.failures))


def delta(mechanism: Mechanism, epsilon: float, accountant: str = "tight") -> DeltaResult:
    """Upper bound on δ at ``epsilon`` for ``mechanism``."""
    _check(mechanism, accountant)
    if not (math.isfinite(epsilon) and epsilon >= 0):
        raise ValueError(f"epsilon: must be a finite number >= 0, got {epsilon}")
    return _delta(mechanism, float(epsilon), accountant)
