"""Mechanisms as small composable values, in the style of dp_accounting's ``DpEvent``.

A description says *what* was released, not how much privacy it cost: any accountant that
supports it can compute epsilon from it, and descriptions compose (``Composed``,
``SelfComposed``) and subsample (``PoissonSampled``, ``FixedSizeSampled``). They are frozen,
hashable and round-trip through plain JSON (``to_dict`` / ``from_dict``), so the budget ledger
can store exactly what each run did and recompose it later.

Sensitivity is 1 throughout: ``Gaussian(2.0)`` adds N(0, 2²·Δ²) to a query of L2 sensitivity Δ.
``EpsilonDelta`` stands for a release known only by its (ε, δ) guarantee, e.g. an external
DP release recorded by hand; only the PLD accountant can compose it tightly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import dp_accounting


class MechanismError(ValueError):
    """A mechanism description is invalid; the message names the field."""


def _positive(name: str, value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise MechanismError(f"{name}: must be a finite number > 0, got {value!r}")


@dataclass(frozen=True)
class Gaussian:
    """Gaussian noise with standard deviation ``noise_multiplier`` × sensitivity."""

    noise_multiplier: float

    def __post_init__(self) -> None:
        _positive("gaussian.noise_multiplier", self.noise_multiplier)


@dataclass(frozen=True)
class Laplace:
    """Laplace noise with scale ``noise_multiplier`` × L1 sensitivity (ε = 1 / scale)."""

    noise_multiplier: float

    def __post_init__(self) -> None:
        _positive("laplace.noise_multiplier", self.noise_multiplier)


@dataclass(frozen=True)
class RandomizedResponse:
    """Keep the true bucket with prob. 1 − p, else answer uniformly among ``num_buckets``."""

    noise_parameter: float
    num_buckets: int

    def __post_init__(self) -> None:
        if not 0 < self.noise_parameter <= 1:
            raise MechanismError(
                f"randomized_response.noise_parameter: must be in (0, 1], got "
                f"{self.noise_parameter!r}"
            )
        if not (isinstance(self.num_buckets, int) and self.num_buckets >= 2):
            raise MechanismError(
                f"randomized_response.num_buckets: must be an integer >= 2, got "
                f"{self.num_buckets!r}"
            )


@dataclass(frozen=True)
class EpsilonDelta:
    """A release known only by its (ε, δ)-DP guarantee."""

    epsilon: float
    delta: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.epsilon) and self.epsilon >= 0):
            raise MechanismError(f"epsilon_delta.epsilon: must be >= 0, got {self.epsilon!r}")
        if not 0 <= self.delta < 1:
            raise MechanismError(f"epsilon_delta.delta: must be in [0, 1), got {self.delta!r}")


@dataclass(frozen=True)
class PoissonSampled:
    """``mechanism`` run on a Poisson sample: each unit is in with probability ``rate``."""

    rate: float
    mechanism: Mechanism

    def __post_init__(self) -> None:
        if not 0 < self.rate <= 1:
            raise MechanismError(f"poisson_sampled.rate: must be in (0, 1], got {self.rate!r}")


@dataclass(frozen=True)
class FixedSizeSampled:
    """``mechanism`` run on ``sample_size`` units drawn without replacement."""

    sample_size: int
    population_size: int
    mechanism: Mechanism

    def __post_init__(self) -> None:
        if not (isinstance(self.population_size, int) and self.population_size >= 1):
            raise MechanismError(
                f"fixed_size_sampled.population_size: must be an integer >= 1, got "
                f"{self.population_size!r}"
            )
        if not (
            isinstance(self.sample_size, int) and 1 <= self.sample_size <= self.population_size
        ):
            raise MechanismError(
                f"fixed_size_sampled.sample_size: must be an integer in [1, population_size], "
                f"got {self.sample_size!r}"
            )


@dataclass(frozen=True)
class SelfComposed:
    """``mechanism`` run ``count`` times (adaptively)."""

    mechanism: Mechanism
    count: int

    def __post_init__(self) -> None:
        if not (isinstance(self.count, int) and self.count >= 1):
            raise MechanismError(
                f"self_composed.count: must be an integer >= 1, got {self.count!r}"
            )


@dataclass(frozen=True)
class Composed:
    """Each of ``mechanisms`` run once, in sequence (adaptively)."""

    mechanisms: tuple[Mechanism, ...]

    def __post_init__(self) -> None:
        if not self.mechanisms:
            raise MechanismError("composed.mechanisms: must not be empty")
        object.__setattr__(self, "mechanisms", tuple(self.mechanisms))


Mechanism = (
    Gaussian
    | Laplace
    | RandomizedResponse
    | EpsilonDelta
    | PoissonSampled
    | FixedSizeSampled
    | SelfComposed
    | Composed
)

_KINDS: dict[str, type] = {
    "gaussian": Gaussian,
    "laplace": Laplace,
    "randomized_response": RandomizedResponse,
    "epsilon_delta": EpsilonDelta,
    "poisson_sampled": PoissonSampled,
    "fixed_size_sampled": FixedSizeSampled,
    "self_composed": SelfComposed,
    "composed": Composed,
}
_NAMES = {cls: name for name, cls in _KINDS.items()}


def dp_sgd(noise_multiplier: float, sampling_rate: float, steps: int) -> Mechanism:
    """DP-SGD: ``steps`` Poisson-subsampled Gaussian steps."""
    return SelfComposed(PoissonSampled(sampling_rate, Gaussian(noise_multiplier)), steps)


def to_dict(m: Mechanism) -> dict[str, Any]:
    """A plain-JSON description: ``{"kind": ..., <fields>}``, nested for wrappers."""
    out: dict[str, Any] = {"kind": _NAMES[type(m)]}
    for name, value in vars(m).items():
        if name == "mechanism":
            out[name] = to_dict(value)
        elif name == "mechanisms":
            out[name] = [to_dict(v) for v in value]
        else:
            out[name] = value
    return out


def from_dict(d: Any, where: str = "mechanism") -> Mechanism:
    """Inverse of ``to_dict``; errors name the offending field by its path."""
    if not isinstance(d, dict):
        raise MechanismError(f"{where}: must be an object, got {type(d).__name__}")
    kind = d.get("kind")
    if kind not in _KINDS:
        raise MechanismError(f"{where}.kind: must be one of {sorted(_KINDS)}, got {kind!r}")
    cls = _KINDS[kind]
    fields = dict(d)
    fields.pop("kind")
    if "mechanism" in fields:
        fields["mechanism"] = from_dict(fields["mechanism"], f"{where}.mechanism")
    if "mechanisms" in fields:
        if not isinstance(fields["mechanisms"], list):
            raise MechanismError(f"{where}.mechanisms: must be a list")
        fields["mechanisms"] = tuple(
            from_dict(v, f"{where}.mechanisms[{i}]") for i, v in enumerate(fields["mechanisms"])
        )
    try:
        return cls(**fields)
    except TypeError as exc:
        raise MechanismError(f"{where}: {exc}") from None
    except MechanismError as exc:
        raise MechanismError(f"{where}.{exc}") from None


def to_dp_event(m: Mechanism) -> dp_accounting.DpEvent:
    """The equivalent dp_accounting event. ``EpsilonDelta`` has none (UnsupportedDpEvent)."""
    e = dp_accounting.dp_event
    match m:
        case Gaussian(noise_multiplier=z):
            return e.GaussianDpEvent(z)
        case Laplace(noise_multiplier=b):
            return e.LaplaceDpEvent(b)
        case RandomizedResponse(noise_parameter=p, num_buckets=k):
            return e.RandomizedResponseDpEvent(p, k)
        case EpsilonDelta():
            return e.UnsupportedDpEvent()
        case PoissonSampled(rate=q, mechanism=inner):
            return e.PoissonSampledDpEvent(q, to_dp_event(inner))
        case FixedSizeSampled(sample_size=s, population_size=n, mechanism=inner):
            return e.SampledWithoutReplacementDpEvent(n, s, to_dp_event(inner))
        case SelfComposed(mechanism=inner, count=c):
            return e.SelfComposedDpEvent(to_dp_event(inner), c)
        case Composed(mechanisms=ms):
            return e.ComposedDpEvent([to_dp_event(x) for x in ms])
    raise MechanismError(f"mechanism: unknown description {m!r}")
