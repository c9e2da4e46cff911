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

from typing import Any

from privml.accounting.mechanisms import dp_sgd
from privml.governance.run_charge import (  # noqa: F401  (the pipeline's budget API)
    RunCharge,
    close,
    open_ledger,
    run_id,
    settle,
    summary,
)

CHARGED_VARIANT = "private"


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
