"""Run a DP statistics release with its cost charged to every contributing user.

The order matters: the cost is *reserved* in the ledger before the data is read for the release
(a refusal stops it untouched), *committed* once the release is written, and *released* only if
it failed before producing anything. The same protocol as a training run (``pipeline.budget``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from privml.accounting.mechanisms import Mechanism, to_dict
from privml.governance.db import describe_url
from privml.governance.run_charge import run_id

T = TypeVar("T")


def charged_release(
    ledger: Any,
    users: Iterable[str],
    mechanism: Mechanism,
    kind: str,
    compute: Callable[[], T],
    reason: str,
) -> tuple[T, dict]:
    """Reserve ``mechanism`` for ``users``, run ``compute``, commit; release on failure.

    Returns ``compute``'s result and a JSON-able note of the charge. ``BudgetExceeded`` from
    the ledger propagates before ``compute`` runs.
    """
    rid = run_id(f"dpstats-{kind}")
    users = sorted(set(users))
    reservation = ledger.reserve(rid, users, mechanism, unit="user", reason=reason)
    try:
        result = compute()
    except BaseException:
        ledger.release(reservation, f"{kind} release failed before producing output")
        raise
    ledger.commit(reservation, f"{kind} release written")
    note = {
        "run_id": rid,
        "reservation": reservation.id,
        "users_charged": len(users),
        "mechanism": to_dict(mechanism),
        "max_epsilon_after": reservation.max_epsilon_after,
        "ledger": describe_url(ledger.url),
    }
    return result, note
