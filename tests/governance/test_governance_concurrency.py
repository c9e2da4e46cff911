"""Concurrent charges never overspend; a run killed mid-way leaves a consistent ledger.

Eight processes charge the same person at once; a process that reserved budget is SIGKILLed
during its (fake) training loop, in the middle of writing its commit. On SQLite and PostgreSQL.

The processes come from a forkserver that preloads the ledger modules: each is a fresh process
with its own database connection (nothing inherited from pytest), but privml's imports (torch,
via privml.accounting) are paid once instead of eight times on a 2-core machine.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal

import pytest
from test_governance_ledger_support import (  # noqa: F401  (fixtures)
    isolated_env_fixture,
    ledger_url_fixture,
    row_counts,
)

from privml.accounting.mechanisms import EpsilonDelta, to_dict
from privml.governance import BudgetExceeded, Ledger
from privml.governance.ledger import CAP_TOLERANCE

WORKERS = 8
TRIES = 3  # charges per worker
PRELOAD = [
    "privml.governance.ledger",
    "sqlalchemy.dialects.postgresql.psycopg",
    "test_governance_concurrency",
]


def _ctx() -> mp.context.BaseContext:
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    return ctx


def _charge_worker(url: str, mech: dict, tries: int, barrier, queue) -> None:
    """Open the ledger, wait for everyone, then try ``tries`` charges; report each outcome."""
    from privml.accounting.mechanisms import from_dict
    from privml.governance import BudgetError, Ledger

    outcomes = []
    try:
        with Ledger(url) as ledger:
            barrier.wait(timeout=300)
            for i in range(tries):
                try:
                    ledger.charge(["ada"], from_dict(mech), reason=f"worker {os.getpid()} #{i}")
                    outcomes.append(("accepted", ""))
                except BudgetError as exc:
                    outcomes.append(("refused", str(exc)))
    except Exception as exc:  # reported, and the test fails on it
        outcomes.append(("error", f"{type(exc).__name__}: {exc}"))
    queue.put(outcomes)


def _run_workers(url: str, mech) -> list[tuple[str, str]]:
    ctx = _ctx()
    barrier, queue = ctx.Barrier(WORKERS), ctx.Queue()
    procs = [
        ctx.Process(target=_charge_worker, args=(url, to_dict(mech), TRIES, barrier, queue))
        for _ in range(WORKERS)
    ]
    for p in procs:
        p.start()
    results = [o for _ in procs for o in queue.get(timeout=600)]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    return results


def _allowed(ledger: Ledger, mech) -> int:
    """How many charges of ``mech`` the cap allows, by the ledger's own composition."""
    from privml.governance.ledger_spend import canonical

    p = ledger.policy()
    k = 0
    while (
        ledger._composer.spent([canonical(mech)] * (k + 1), p.delta).epsilon
        <= p.epsilon_cap + CAP_TOLERANCE
    ):
        k += 1
    return k


def test_eight_processes_never_overspend(ledger_url):
    mech = EpsilonDelta(1.0, 1e-7)  # four fit under ε = 4 at δ = 1e-5, a fifth does not
    with Ledger(ledger_url) as ledger:  # creates the schema before the race
        allowed = _allowed(ledger, mech)
    assert allowed == 4
    results = _run_workers(ledger_url, mech)
    assert [m for kind, m in results if kind == "error"] == []
    accepted = [m for kind, m in results if kind == "accepted"]
    refused = [m for kind, m in results if kind == "refused"]
    assert len(results) == WORKERS * TRIES
    assert len(accepted) == allowed  # every charge that fits got in, none more
    assert refused and all("budget" in m and "would exceed the cap" in m for m in refused)
    with Ledger(ledger_url) as ledger:
        b = ledger.balance("ada")
        assert b.charges == allowed
        assert b.epsilon_spent <= b.epsilon_cap
        assert row_counts(ledger)["privml_charges"] == allowed
        with pytest.raises(BudgetExceeded):  # and it stays full
            ledger.charge(["ada"], mech, reason="one more")


def _training_run(url: str, pipe) -> None:
    """A run: reserve, "train", then commit; it is SIGKILLed inside the commit transaction."""
    import time

    from sqlalchemy import insert

    from privml.governance.ledger_models import EventRow

    ledger = Ledger(url)
    r = ledger.reserve("run-killed", ["ada", "bo", "cy"], EpsilonDelta(2.5, 0.0))
    pipe.send(("reserved", r.id))
    for _step in range(3):  # fake training loop
        time.sleep(0.01)
    with ledger._locked() as conn:  # what Ledger.commit does, stopped halfway
        conn.execute(
            insert(EventRow).values(
                reservation_id=r.id, created_at=ledger._now(), status="committed", reason=""
            )
        )
        pipe.send(("committing", r.id))
        while True:
            time.sleep(0.05)


def test_killed_run_keeps_its_reservation_as_spent(ledger_url):
    Ledger(ledger_url).close()
    ctx = _ctx()
    here, there = ctx.Pipe()
    proc = ctx.Process(target=_training_run, args=(ledger_url, there))
    proc.start()
    try:
        assert here.poll(300), "the training process never reserved"
        kind, rid = here.recv()
        assert kind == "reserved"
        assert here.poll(300) and here.recv() == ("committing", rid)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.join(timeout=60)
    assert proc.exitcode == -signal.SIGKILL

    with Ledger(ledger_url, busy_timeout=30) as ledger:  # the write lock was freed
        r = ledger.reservation(rid)
        assert (r.status, r.users, r.run_id) == ("reserved", 3, "run-killed")  # still open
        counts = row_counts(ledger)  # the half-written commit was rolled back
        assert counts["privml_reservations"] == 1 and counts["privml_charges"] == 3
        assert counts["privml_reservation_events"] == 1
        for user in ("ada", "bo", "cy"):  # documented: an open reservation counts as spent
            b = ledger.balance(user)
            assert b.epsilon_spent == pytest.approx(2.5, abs=1e-3)
            assert b.remaining == pytest.approx(1.5, abs=1e-3)
        # The next run sees the remaining budget: 2.0 is refused, 1.5 fits.
        with pytest.raises(BudgetExceeded, match=r"1 of 1 person.*by up to 0\.5"):
            ledger.reserve("next-run", ["ada"], EpsilonDelta(2.0, 0.0))
        ledger.commit(ledger.reserve("next-run", ["ada"], EpsilonDelta(1.5, 0.0)))
        # An operator who knows the killed run released nothing appends a release entry.
        ledger.release(rid, reason="killed before any checkpoint was written")
        assert ledger.reservation(rid).status == "released"
        assert ledger.balance("bo").epsilon_spent == 0.0
        assert ledger.balance("ada").epsilon_spent == pytest.approx(1.5, abs=1e-3)
        assert row_counts(ledger)["privml_charges"] == 4  # nothing removed
