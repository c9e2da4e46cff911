"""Input checks shared by the telemetry clients, estimators and simulation.

Every check raises ``ValueError`` whose message starts with the field name and shows the bad
value, so the CLI can print it as ``error: ...`` unchanged.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def check_epsilon(epsilon: Any, field: str = "epsilon") -> float:
    """ε must be a finite number > 0 (ε = 0 would need infinite noise, ε = ∞ is no privacy)."""
    try:
        value = float(epsilon)
    except (TypeError, ValueError):
        raise ValueError(f"{field}: must be a finite number > 0, got {epsilon!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{field}: must be a finite number > 0, got {epsilon!r}")
    return value


def check_int(value: Any, field: str, low: int, high: int | None = None) -> int:
    """An integer in [low, high] (bools and floats with a fraction are refused)."""
    ok = isinstance(value, int | np.integer) and not isinstance(value, bool)
    if not ok or value < low or (high is not None and value > high):
        bound = f"in [{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"{field}: must be an integer {bound}, got {value!r}")
    return int(value)


def check_m(m: Any) -> float:
    """The upper end m of the value range [0, m]: finite and > 0."""
    try:
        value = float(m)
    except (TypeError, ValueError):
        raise ValueError(f"m: must be a finite number > 0, got {m!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"m: must be a finite number > 0, got {m!r}")
    return value


def check_gamma(gamma: Any) -> float:
    """Output-perturbation flip probability γ in [0, 0.5) (γ = 0.5 would erase the signal)."""
    try:
        value = float(gamma)
    except (TypeError, ValueError):
        raise ValueError(f"gamma: must be a number in [0, 0.5), got {gamma!r}") from None
    if not 0 <= value < 0.5:
        raise ValueError(f"gamma: must be a number in [0, 0.5), got {gamma!r}")
    return value


def check_values(x: Any, m: float, field: str = "value") -> np.ndarray:
    """Values in [0, m] as float64; names the first bad one."""
    arr = np.asarray(x, dtype=np.float64)
    bad = ~((arr >= 0) & (arr <= m))  # also catches NaN
    if bad.any():
        first = arr[bad].flat[0].item()
        raise ValueError(f"{field}: must be in [0, m] = [0, {m:g}], got {first!r}")
    return arr


def check_buckets(v: Any, k: int, field: str = "bucket") -> np.ndarray:
    """Bucket indices: integers in [0, k); names the first bad one."""
    arr = np.asarray(v)
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{field}: must be an integer in [0, k) = [0, {k}), got {v!r}")
    as_int = arr.astype(np.int64) if np.issubdtype(arr.dtype, np.integer) else None
    if as_int is None:
        finite = np.isfinite(arr)
        whole = finite & (arr == np.floor(np.where(finite, arr, 0)))
        if not whole.all():
            first = arr[~whole].flat[0].item()
            raise ValueError(f"{field}: must be an integer in [0, k) = [0, {k}), got {first!r}")
        as_int = arr.astype(np.int64)
    bad = (as_int < 0) | (as_int >= k)
    if bad.any():
        first = as_int[bad].flat[0]
        raise ValueError(f"{field}: must be an integer in [0, k) = [0, {k}), got {int(first)}")
    return as_int


def check_bits(bits: Any, field: str = "bits") -> np.ndarray:
    """Reports are 0/1 bits."""
    arr = np.asarray(bits)
    bad = ~((arr == 0) | (arr == 1))
    if bad.any():
        raise ValueError(f"{field}: reports must be 0 or 1, got {arr[bad].flat[0].item()!r}")
    return arr.astype(np.float64)
