"""Number and text formatting for the run report: every value the report shows is a string.

Missing or malformed values (``None``, text where a number belongs, dicts, lists) render as
``DASH`` ("—"); infinities render as "∞" / "−∞".
"""

from __future__ import annotations

import math
from typing import Any

from privml.report.verdict import num

DASH = "—"


def _special(value: float) -> str | None:
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    return None


def fmt_int(value: Any) -> str:
    v = num(value)
    if v is None:
        return DASH
    return _special(v) or f"{v:,.0f}"


def fmt_float(value: Any, digits: int = 2) -> str:
    v = num(value)
    if v is None:
        return DASH
    return _special(v) or f"{v:,.{digits}f}"


def fmt_pct(value: Any) -> str:
    """A fraction as a percentage: 0.412 -> "41.2%", 0.0012 -> "0.12%"."""
    v = num(value)
    if v is None:
        return DASH
    if _special(v):
        return _special(v)
    pct = v * 100
    digits = 2 if 0 < abs(pct) < 1 else 1
    return f"{pct:.{digits}f}%"


def fmt_g(value: Any) -> str:
    v = num(value)
    if v is None:
        return DASH
    return _special(v) or f"{v:g}"


def fmt_seconds(value: Any) -> str:
    v = num(value)
    if v is None:
        return DASH
    if _special(v):
        return _special(v)
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
