"""Charge the shipped model's privacy cost to every person in the budget ledger.

Orchestration only (the ledger is :mod:`privml.governance`, the mechanism description is
:mod:`privml.accounting.mechanisms`). What is charged, and why:

- Only the ``private`` variant is charged: it is the model the run ships. The baseline and the
  ablations (``dp_only``, ``scrub_only``) are evaluation models for the reviewer; they stay in
  the run folder and must not be released. The report says so.
- User-level DP charges every training user the run's DP-SGD mechanism. Example-level DP charges
  a user with k training records the group-privacy bound for k records (the ledger computes it).
- A private variant without DP carries no per-person guarantee, so there is nothing to charge;
  the results say so instead of recording a fake ε.

The reservation is made before any training. It is committed when the private model has been
trained; it is released only if the run fails before that model's training started. A run killed
mid-way leaves it open, which the ledger counts as spent (see ``privml budget release``).
"""

from __future__ import annotations

import secrets
import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from privml.accounting.mechanisms import dp_sgd, to_dict

CHARGED_VARIANT = "private"


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
    notes: list[str] = field(default_factory=list)


def open_ledger(url: str | None) -> Any:
    from privml.governance import Ledger

    return Ledger(url)


def run_id(name: str) -> str:
    """A unique, readable run id: spec name, UTC time and a random suffix."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{name}-{stamp}-{secrets.token_hex(3)}"


def reserve(
    ledger: Any,
    rid: str,
    unit: str,
    records: dict[str, int],
    noise_multiplier: float,
    sampling_rate: float,
    steps: int,
    delta: float,
) -> RunCharge:
    """Reserve the DP-SGD run's cost for every training user; BudgetExceeded refuses the run."""
    mech = dp_sgd(noise_multiplier, sampling_rate, steps)
    users = sorted(records)
    charge = RunCharge(ledger, rid, unit, users, mech)
    if unit == "user":
        charge.reservation = ledger.reserve(rid, users, mech, unit="user", reason="privml run")
    else:
        charge.reservation = ledger.reserve(
            rid, records, mech, unit="example", example_delta=delta, reason="privml run"
        )
    charge.status = "reserved"
    return charge


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
        "variant": CHARGED_VARIANT,
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
