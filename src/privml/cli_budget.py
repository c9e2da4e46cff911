"""`privml budget ...`: the per-person privacy budget ledger from the command line.

Parses arguments, calls ``privml.governance.Ledger`` and prints; nothing more. Refusals by the
policy exit 1 with a message containing "budget"; invalid input exits 2 naming the field.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from privml.governance.ledger import Ledger

budget_app = typer.Typer(
    help="Per-person privacy budget ledger: charge, show, history, policy.",
    no_args_is_help=True,
)

LedgerURL = Annotated[
    str | None,
    typer.Option(
        "--ledger",
        help="ledger database URL or SQLite file (default: $PRIVML_LEDGER, else "
        "$XDG_DATA_HOME/privml/ledger.sqlite)",
    ),
]
AsJSON = Annotated[bool, typer.Option("--json", help="print JSON")]


def _console() -> Console:
    """Rich output; when piped, wide enough that ids and reasons are not cut."""
    import os
    import sys

    wide = not sys.stdout.isatty() and "COLUMNS" not in os.environ
    return Console(width=160 if wide else None)


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def ledger_session(url: str | None) -> Iterator[Ledger]:
    """Open the ledger; turn the ledger's exceptions into messages and exit codes."""
    from sqlalchemy.exc import SQLAlchemyError

    from privml.accounting.mechanisms import MechanismError
    from privml.governance.db import LedgerURLError, describe_url, resolve_url
    from privml.governance.ledger import BudgetError, Ledger, LedgerInputError
    from privml.governance.policy import PolicyError

    try:
        ledger = Ledger(url)
    except LedgerURLError as exc:
        _fail(str(exc))
    except SQLAlchemyError as exc:
        where = describe_url(resolve_url(url))
        _fail(f"ledger: cannot open {where}: {_db_error(exc)}")
    try:
        yield ledger
    except BudgetError as exc:
        _fail(str(exc), code=1)
    except (LedgerInputError, PolicyError, MechanismError) as exc:
        _fail(str(exc))
    except SQLAlchemyError as exc:
        _fail(f"ledger: database error: {_db_error(exc)}")
    finally:
        ledger.close()


def _db_error(exc: Exception) -> str:
    """The driver's first message line (no SQL, no parameters)."""
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    return f"{type(orig).__name__}: {lines[0] if lines else ''}"


def _num(x: float | None) -> str:
    if x is None or math.isinf(x):
        return "∞"
    return f"{x:.4g}"


@budget_app.command("charge")
def charge(
    user: Annotated[list[str], typer.Option("--user", help="user id (repeat for several)")],
    epsilon: Annotated[float, typer.Option("--epsilon", help="ε of the release")],
    delta: Annotated[float, typer.Option("--delta", help="δ of the release")],
    reason: Annotated[str, typer.Option("--reason", help="what was released and why")],
    run_id: Annotated[str, typer.Option("--run-id", help="label for this charge")] = "external",
    ledger: LedgerURL = None,
    as_json: AsJSON = False,
) -> None:
    """Record an external (ε, δ)-DP release for each --user; refused if over the cap."""
    from privml.accounting.mechanisms import EpsilonDelta

    if not (math.isfinite(epsilon) and epsilon >= 0):
        _fail(f"--epsilon: must be a finite number >= 0, got {epsilon!r}")
    if not 0 <= delta < 1:
        _fail(f"--delta: must be in [0, 1), got {delta!r}")
    if not reason.strip():
        _fail("--reason: must not be empty")
    with ledger_session(ledger) as led:
        r = led.charge(user, EpsilonDelta(epsilon, delta), reason=reason, run_id=run_id)
        balances = led.balances(user)
    if as_json:
        out = {"reservation": r.id, "status": r.status, "users": r.users}
        out["balances"] = [b.to_dict() for b in balances.values()]
        typer.echo(json.dumps(out))
        return
    typer.echo(f"charged (ε={epsilon:g}, δ={delta:g}) to {r.users} user(s), entry {r.id}")
    _balance_table(list(balances.values()))


def _balance_table(balances: list) -> None:  # type: ignore[type-arg]
    t = Table(title="privacy budget (composed over the window)")
    for col in ("user", "ε spent", "Σε", "cap", "left", "δ", "window", "charges"):
        t.add_column(col, justify="left" if col == "user" else "right")
    t.add_column("accountant")
    for b in balances:
        t.add_row(
            b.user,
            _num(b.epsilon_spent),
            _num(b.epsilon_sum),
            _num(b.epsilon_cap),
            _num(b.remaining),
            f"{b.delta:g}",
            f"{b.window_days} d",
            str(b.charges),
            b.accountant,
        )
    _console().print(t)
    for b in balances:
        if b.note:
            _console().print(f"{b.user}: {b.note}")


@budget_app.command("show")
def show(
    user: Annotated[list[str], typer.Option("--user", help="user id (repeat for several)")],
    ledger: LedgerURL = None,
    as_json: AsJSON = False,
) -> None:
    """A person's spending: ε composed with the tight accountant, beside the loose sum."""
    with ledger_session(ledger) as led:
        balances = list(led.balances(user).values())
    if as_json:
        items = [b.to_dict() for b in balances]
        typer.echo(json.dumps(items[0] if len(items) == 1 else items))
    else:
        _balance_table(balances)


@budget_app.command("history")
def history(
    user: Annotated[str | None, typer.Option("--user", help="only charges to this user")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="newest entries shown")] = 200,
    ledger: LedgerURL = None,
    as_json: AsJSON = False,
) -> None:
    """Charges, newest first: run, status, mechanism, people charged, ε alone."""
    from privml.accounting.mechanisms import to_dict
    from privml.governance.ledger_spend import describe

    with ledger_session(ledger) as led:
        entries = led.history(user, limit=limit)
    if as_json:
        rows = []
        for e in entries:
            d = dict(vars(e))
            d["created_at"] = e.created_at.isoformat()
            d["mechanism"] = to_dict(e.mechanism)
            d["epsilon"] = None if math.isinf(e.epsilon) else e.epsilon
            rows.append(d)
        typer.echo(json.dumps(rows))
        return
    t = Table(title=f"budget history{f' for {user}' if user else ''} (newest first)")
    for col in ("time (UTC)", "run", "entry", "status", "mechanism", "people", "ε alone"):
        t.add_column(col, justify="right" if col in ("people", "ε alone") else "left")
    t.add_column("reason")
    for e in entries:
        reason = e.reason + (f" [{e.status}: {e.status_reason}]" if e.status_reason else "")
        mech = describe(e.mechanism)
        if e.records_per_user and e.records_per_user > 1:
            mech += f" (group of {e.records_per_user} records)"
        status = e.status if e.counts or e.status in ("released", "voided") else "out of window"
        t.add_row(
            e.created_at.strftime("%Y-%m-%d %H:%M"),
            e.run_id,
            e.reservation_id[:12],
            status,
            mech,
            str(e.users),
            _num(e.epsilon),
            reason,
        )
    _console().print(t)


@budget_app.command("policy")
def policy(
    epsilon_cap: Annotated[
        float | None, typer.Option("--epsilon-cap", help="set: max ε per person")
    ] = None,
    delta: Annotated[float | None, typer.Option("--delta", help="set: the policy's δ")] = None,
    window_days: Annotated[
        int | None, typer.Option("--window-days", help="set: rolling window in days")
    ] = None,
    reason: Annotated[str, typer.Option("--reason", help="why the policy changes")] = "",
    ledger: LedgerURL = None,
    as_json: AsJSON = False,
) -> None:
    """Show the policy; with --epsilon-cap/--delta/--window-days, append a new one."""
    with ledger_session(ledger) as led:
        if epsilon_cap is not None or delta is not None or window_days is not None:
            led.set_policy(
                epsilon_cap=epsilon_cap, delta=delta, window_days=window_days, reason=reason
            )
        history = led.policy_history()
    current = history[-1]
    if as_json:
        typer.echo(json.dumps(current.to_dict()))
        return
    t = Table(title="budget policy (latest row applies)")
    for col in ("since (UTC)", "cap ε", "δ", "window", "reason"):
        t.add_column(col)
    for p in history[-10:]:
        since = p.created_at.strftime("%Y-%m-%d %H:%M:%S") if p.created_at else "-"
        t.add_row(since, f"{p.epsilon_cap:g}", f"{p.delta:g}", f"{p.window_days} d", p.reason)
    _console().print(t)


def _pick(led: Ledger, reservation: str | None, run_id: str | None, status: str) -> list[str]:
    if (reservation is None) == (run_id is None):
        _fail("--reservation/--run: give exactly one")
    if reservation is not None:
        return [reservation]
    found = [r.id for r in led.find_reservations(run_id or "") if r.status == status]
    if not found:
        _fail(f"--run: no {status} reservation for run {run_id!r}")
    return found


@budget_app.command("release")
def release(
    reason: Annotated[str, typer.Option("--reason", help="why no budget was used")],
    reservation: Annotated[str | None, typer.Option("--reservation", help="entry id")] = None,
    run_id: Annotated[str | None, typer.Option("--run", help="all open entries of a run")] = None,
    ledger: LedgerURL = None,
) -> None:
    """Release an open reservation (e.g. of a killed run that provably used no data)."""
    with ledger_session(ledger) as led:
        for rid in _pick(led, reservation, run_id, "reserved"):
            r = led.release(rid, reason)
            typer.echo(f"{r.id} ({r.run_id}): {r.status}")


@budget_app.command("void")
def void(
    reason: Annotated[str, typer.Option("--reason", help="why the charge was wrong")],
    reservation: Annotated[str | None, typer.Option("--reservation", help="entry id")] = None,
    run_id: Annotated[str | None, typer.Option("--run", help="all committed entries")] = None,
    ledger: LedgerURL = None,
) -> None:
    """Correct a committed charge recorded in error (appends a 'voided' entry)."""
    with ledger_session(ledger) as led:
        for rid in _pick(led, reservation, run_id, "committed"):
            r = led.void(rid, reason)
            typer.echo(f"{r.id} ({r.run_id}): {r.status}")
