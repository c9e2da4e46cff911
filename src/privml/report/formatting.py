"""Number and text formatting for the run report: every value the report shows is a string.

Missing or malformed values (``None``, text where a number belongs, dicts, lists) render as
``DASH`` ("—"); infinities render as "∞" / "−∞".
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

from privml.report.verdict import num

DASH = "—"


def _special(value: float) -> str | None:
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    return None


def _numeric(fmt: Callable[..., str]) -> Callable[..., str]:
    """Wrap a formatter of plain floats: missing/malformed -> ``DASH``, infinities -> "∞" / "−∞"."""

    @functools.wraps(fmt)
    def wrapper(value: Any, *args: Any) -> str:
        v = num(value)
        if v is None:
            return DASH
        return _special(v) or fmt(v, *args)

    return wrapper


@_numeric
def fmt_int(v: float) -> str:
    return f"{v:,.0f}"


@_numeric
def fmt_float(v: float, digits: int = 2) -> str:
    return f"{v:,.{digits}f}"


@_numeric
def fmt_pct(v: float) -> str:
    """A fraction as a percentage: 0.412 -> "41.2%", 0.0012 -> "0.12%"."""
    pct = v * 100
    digits = 2 if 0 < abs(pct) < 1 else 1
    return f"{pct:.{digits}f}%"


@_numeric
def fmt_g(v: float) -> str:
    return f"{v:g}"


@_numeric
def fmt_seconds(v: float) -> str:
    if v < 60:
        return f"{v:.1f} s"
    minutes, seconds = divmod(round(v), 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def fmt_bool(value: Any, yes: str = "on", no: str = "off") -> str:
    if isinstance(value, bool):
        return yes if value else no
    return DASH


def fmt_text(value: Any) -> str:
    if value is None or isinstance(value, dict | list | tuple):
        return DASH
    text = str(value)
    return text if text else DASH


def fmt_change(value: Any, reference: Any) -> str:
    """Relative change of ``value`` vs ``reference``: "+5.0%" / "−12.3%"."""
    v, r = num(value), num(reference)
    if v is None or r is None or r == 0 or not math.isfinite(v) or not math.isfinite(r):
        return DASH
    change = (v - r) / abs(r) * 100
    sign = "+" if change > 0 else ("−" if change < 0 else "±")
    return f"{sign}{abs(change):.1f}%"
