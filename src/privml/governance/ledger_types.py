"""The ledger's value types, exceptions and input checks (no database code here)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import get_args

from privml.accounting.mechanisms import Mechanism
from privml.governance.policy import Policy

_REPORT_USERS = 5  # user ids named in a refusal message
MECHANISM_TYPES = get_args(Mechanism)


class BudgetError(Exception):
    """The ledger refused a request; the message says why and contains "budget"."""


class BudgetExceeded(BudgetError):
    """A reservation or charge would take people over the cap. Nothing was written."""

    def __init__(self, message: str, over: dict[str, float], cap: float) -> None:
        super().__init__(message)
        self.over = over  # user -> ε they would reach
        self.cap = cap
        self.people = len(over)
        self.max_excess = max(over.values()) - cap if over else 0.0


class ReservationError(BudgetError):
    """Unknown reservation, or a status change that is not allowed."""


class LedgerInputError(ValueError):
    """Invalid input; the message names the field."""


@dataclass(frozen=True)
class Reservation:
    """One reserve/charge call as recorded in the ledger."""

    id: str
    run_id: str
    status: str
    created_at: datetime
    users: int
    unit: str
    source: str
    reason: str = ""
    group_charged: dict[str, int] = field(default_factory=dict)  # user -> records (k >= 2)
    notes: tuple[str, ...] = ()
    max_epsilon_after: float | None = None  # worst composed spend right after reserving


@dataclass(frozen=True)
class Balance:
    """One person's spending in the window: composed (``epsilon_spent``) and loose sum."""

    user: str
    epsilon_spent: float
    epsilon_sum: float
    epsilon_cap: float
    delta: float
    window_days: int
    remaining: float
    charges: int
    accountant: str
    note: str = ""

    def to_dict(self) -> dict[str, object]:
        return {
            k: (None if isinstance(v, float) and math.isinf(v) else v)
            for k, v in vars(self).items()
        }


@dataclass(frozen=True)
class HistoryEntry:
    """One group of a reservation: what was charged, to how many people, and its status."""

    reservation_id: str
    run_id: str
    created_at: datetime
    status: str
    status_reason: str
    source: str
    unit: str
    reason: str
    mechanism: Mechanism
    records_per_user: int | None
    note: str
    users: int
    epsilon: float  # this charge alone at the policy δ
    counts: bool  # inside the window and neither released nor voided


def refusal(run_id: str, total: int, over: dict[str, float], policy: Policy) -> BudgetExceeded:
    worst = max(over.values())
    n_worst = sum(1 for e in over.values() if e == worst)
    first = ", ".join(sorted(over, key=lambda u: -over[u])[:_REPORT_USERS])
    excess = "unbounded" if math.isinf(worst) else f"{worst - policy.epsilon_cap:.4g}"
    worst_s = "∞ (the charges' δ exceed the policy δ)" if math.isinf(worst) else f"{worst:.4g}"
    msg = (
        f"budget exceeded for run {run_id!r}: {len(over)} of {_people(total)} would exceed the "
        f"cap ε={policy.epsilon_cap:g} at δ={policy.delta:g} over {policy.window_days} days, "
        f"by up to {excess} (worst: {_people(n_worst)} at ε={worst_s}); e.g. {first}. "
        f"Nothing was reserved."
    )
    return BudgetExceeded(msg, over, policy.epsilon_cap)


def _people(n: int) -> str:
    return f"{n} person" if n == 1 else f"{n} people"


def check_text(name: str, value: object, required: bool = False) -> str:
    if not isinstance(value, str):
        raise LedgerInputError(f"{name}: must be a string, got {type(value).__name__}")
    value = value.strip()
    if required and not value:
        raise LedgerInputError(f"{name}: must not be empty")
    if len(value) > 2000:
        raise LedgerInputError(f"{name}: must be at most 2000 characters")
    return value


def check_users(users: Iterable[str]) -> list[str]:
    """Distinct user ids, in first-seen order."""
    if isinstance(users, str):
        raise LedgerInputError("users: must be a collection of user ids, not one string")
    out = {}
    for u in users:
        if not isinstance(u, str) or not u.strip() or len(u) > 200:
            raise LedgerInputError(
                f"users: each id must be a non-empty string of <= 200 chars, got {u!r}"
            )
        out[u] = None
    return list(out)


def check_records(users: Iterable[str] | Mapping[str, int], unit: str) -> dict[str, int]:
    """user -> records per user (1 for user-level runs), distinct, validated."""
    if unit not in ("user", "example"):
        raise LedgerInputError(f"unit: must be 'user' or 'example', got {unit!r}")
    if unit == "user":
        records = dict.fromkeys(check_users(users), 1)
    else:
        if not isinstance(users, Mapping):
            raise LedgerInputError("users: example-level runs need a mapping user -> records")
        records = {u: users[u] for u in check_users(users)}
        for u, k in records.items():
            if isinstance(k, bool) or not isinstance(k, int) or k < 1:
                raise LedgerInputError(f"users[{u!r}]: records must be an integer >= 1")
    if not records:
        raise LedgerInputError("users: must not be empty")
    return records


def check_mechanism(mechanism: object, example_delta: float | None) -> None:
    if not isinstance(mechanism, MECHANISM_TYPES):
        raise LedgerInputError(
            f"mechanism: must be a privml.accounting mechanism, got {type(mechanism).__name__}"
        )
    if example_delta is not None and not 0 < example_delta < 1:
        raise LedgerInputError(f"example_delta: must be in (0, 1), got {example_delta!r}")
