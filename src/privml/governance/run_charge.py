"""A run's reservation in the budget ledger: open, settle (commit or release), summarise.

Shared by every job that charges people before touching their data (the text pipeline, the
tabular sweep, federated training, DP statistics): reserve before any training, commit when the
released model or statistic exists, release only if the job stopped before using the data. A job
killed mid-way leaves the reservation open, which the ledger counts as spent.
"""

from __future__ import annotations

import secrets
import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from privml.accounting.mechanisms import to_dict


@dataclass
class RunCharge:
    """One run's reservation in the ledger and what it covers."""

    ledger: Any  # privml.governance.Ledger (imported lazily: SQLAlchemy only when used)
    run_id: str
    unit: str
    users: list[str]
    mechanism: Any
    reservation: Any = None
    status: str = "none"
    variant: str = "private"
    notes: list[str] = field(default_factory=list)


def open_ledger(url: str | None) -> Any:
    from privml.governance import Ledger

    return Ledger(url)


def run_id(name: str) -> str:
    """A unique, readable run id: spec name, UTC time and a random suffix."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{name}-{stamp}-{secrets.token_hex(3)}"


def settle(charge: RunCharge | None, *, trained: bool, failed: bool) -> None:
    """Commit once the private model exists; release only if its training never started."""
    if charge is None or charge.status != "reserved":
        return
    if trained or not failed:
        charge.ledger.commit(charge.reservation, "private model trained")
        charge.status = "committed"
    else:
        charge.ledger.release(charge.reservation, "run failed before private training started")
        charge.status = "released"


def close(charge: RunCharge | None) -> None:
    """Release the ledger's database connections."""
    if charge is not None:
        charge.ledger.close()


def summary(charge: RunCharge | None, url: str | None, reason_none: str = "") -> dict:
    """Aggregate balances for results.json (never user ids: they may identify people)."""
    if charge is None:
        return {"charged": False, "reason": reason_none}
    led = charge.ledger
    pol = led.policy()
    bal = led.balances(charge.users)
    spent = [b.epsilon_spent for b in bal.values()]
    sums = [b.epsilon_sum for b in bal.values()]
    remaining = [b.remaining for b in bal.values()]
    res = charge.reservation
    group = dict(getattr(res, "group_charged", {}) or {})
    return {
        "charged": True,
        "ledger": _safe_url(url),
        "run_id": charge.run_id,
        "reservation": getattr(res, "id", None),
        "status": charge.status,
        "variant": charge.variant,
        "unit": charge.unit,
        "users_charged": len(charge.users),
        "group_charged_users": len(group),
        "mechanism": to_dict(charge.mechanism),
        "policy": {
            "epsilon_cap": pol.epsilon_cap,
            "delta": pol.delta,
            "window_days": pol.window_days,
        },
        "epsilon_spent": _stats(spent),
        "epsilon_sum": _stats(sums),
        "remaining": _stats(remaining),
        "users_at_or_over_cap": sum(1 for r in remaining if r is not None and r <= 0),
        "accountant": next((b.accountant for b in bal.values()), None),
        "notes": list(getattr(res, "notes", []) or [])[:3],
    }


def _stats(values: list[float | None]) -> dict:
    finite = [v for v in values if v is not None and v == v and v != float("inf")]
    if not finite:
        return {"min": None, "median": None, "max": None}
    return {
        "min": round(min(finite), 4),
        "median": round(statistics.median(finite), 4),
        "max": round(max(finite), 4),
    }


def _safe_url(url: str | None) -> str:
    from sqlalchemy.engine import make_url

    from privml.governance import resolve_url

    parsed = make_url(resolve_url(url))
    if parsed.get_backend_name() == "sqlite":
        return f"sqlite: {parsed.database.rsplit('/', 1)[-1] if parsed.database else ''}"
    return parsed.render_as_string(hide_password=True)
