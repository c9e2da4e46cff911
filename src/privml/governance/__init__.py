"""privml.governance: the per-person privacy budget ledger, threat model and requirements.

The ledger names below are imported lazily, so importing the package (e.g. for the threat
model) does not load SQLAlchemy.
"""

from __future__ import annotations

from typing import Any

_LEDGER_NAMES = {
    "Balance": "privml.governance.ledger",
    "BudgetError": "privml.governance.ledger",
    "BudgetExceeded": "privml.governance.ledger",
    "HistoryEntry": "privml.governance.ledger",
    "Ledger": "privml.governance.ledger",
    "LedgerInputError": "privml.governance.ledger",
    "Reservation": "privml.governance.ledger",
    "ReservationError": "privml.governance.ledger",
    "Policy": "privml.governance.policy",
    "PolicyError": "privml.governance.policy",
    "group_privacy": "privml.governance.ledger_spend",
    "default_ledger_path": "privml.governance.db",
    "resolve_url": "privml.governance.db",
}


def __getattr__(name: str) -> Any:
    if name in _LEDGER_NAMES:
        import importlib

        return getattr(importlib.import_module(_LEDGER_NAMES[name]), name)
    raise AttributeError(f"module 'privml.governance' has no attribute {name!r}")
