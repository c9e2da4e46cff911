"""The per-person privacy budget ledger: reserve, commit, release, charge, balance, history.

A run calls ``reserve`` before it touches any data. The reservation is checked against the
policy and written in one transaction holding the ledger's write lock (see ``db``), so
concurrent runs can never together overspend anyone's cap. It then calls ``commit`` on
success or ``release`` when it stopped before using the data.

A run that dies without either (SIGKILL, OOM, power loss) leaves its reservation *open*, and
an open reservation counts as spent: the data was read and partial checkpoints may exist, so
its privacy cost is never silently lost. Nothing expires it; an operator who knows the run
released nothing may append a ``release`` entry with a reason. History is append-only: every
status change, correction and policy change is a new row.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import Connection, exists, func, insert, select

from privml.accounting.mechanisms import Mechanism
from privml.governance.db import describe_url, make_engine, resolve_url
from privml.governance.ledger_models import (
    NOT_COUNTING,
    SCHEMA_VERSION,
    Base,
    ChargeGroupRow,
    ChargeRow,
    EventRow,
    LockRow,
    PolicyRow,
    ReservationRow,
    install_append_only_triggers,
)
from privml.governance.ledger_spend import Composer, parse, plan_charges
from privml.governance.ledger_types import (
    Balance,
    BudgetError,
    BudgetExceeded,
    HistoryEntry,
    LedgerInputError,
    Reservation,
    ReservationError,
    check_mechanism,
    check_records,
    check_text,
    check_users,
    refusal,
)
from privml.governance.policy import Policy, validate_policy

Unit = Literal["user", "example"]
_CHUNK = 500  # users per IN (...) query
CAP_TOLERANCE = 1e-9  # absorbs float noise only; the accountant's ε is already an upper bound


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _naive_utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC).replace(tzinfo=None) if dt.tzinfo else dt


class Ledger:
    """A privacy budget ledger at ``url`` (see ``db.resolve_url`` for the default)."""

    def __init__(
        self,
        url: str | None = None,
        *,
        clock: Callable[[], datetime] = _utcnow,
        busy_timeout: float | None = None,
    ) -> None:
        self.url = resolve_url(url)
        kwargs = {} if busy_timeout is None else {"busy_timeout": busy_timeout}
        self._engine = make_engine(self.url, **kwargs)
        self._pg = self._engine.dialect.name == "postgresql"
        self._clock = clock
        self._composer = Composer()
        self._init_schema()

    def __repr__(self) -> str:
        return f"Ledger({describe_url(self.url)!r})"

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions -------------------------------------------------------------------------

    def _now(self) -> datetime:
        return _naive_utc(self._clock())

    def _init_schema(self) -> None:
        with self._engine.begin() as conn:
            if self._pg:  # serialize concurrent first-time schema creation
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7243100311)")
            Base.metadata.create_all(conn)
            if conn.execute(select(LockRow.id)).first() is None:
                conn.execute(insert(LockRow).values(id=1, schema_version=SCHEMA_VERSION))
                install_append_only_triggers(conn)
                d = Policy()
                conn.execute(
                    insert(PolicyRow).values(
                        created_at=self._now(),
                        epsilon_cap=d.epsilon_cap,
                        delta=d.delta,
                        window_days=d.window_days,
                        reason=d.reason,
                    )
                )

    @contextmanager
    def _locked(self) -> Iterator[Connection]:
        """A transaction holding the ledger's write lock (SQLite: BEGIN IMMEDIATE)."""
        with self._engine.begin() as conn:
            if self._pg:
                conn.execute(select(LockRow.id).where(LockRow.id == 1).with_for_update())
            yield conn

    # -- policy ---------------------------------------------------------------------------

    def _policy(self, conn: Connection) -> Policy:
        row = conn.execute(select(PolicyRow).order_by(PolicyRow.id.desc()).limit(1)).one()
        return Policy(row.epsilon_cap, row.delta, row.window_days, row.created_at, row.reason)

    def policy(self) -> Policy:
        """The policy in force (the latest policy row)."""
        with self._engine.begin() as conn:
            return self._policy(conn)

    def policy_history(self) -> list[Policy]:
        with self._engine.begin() as conn:
            rows = conn.execute(select(PolicyRow).order_by(PolicyRow.id)).all()
        return [Policy(r.epsilon_cap, r.delta, r.window_days, r.created_at, r.reason) for r in rows]

    def set_policy(
        self,
        *,
        epsilon_cap: float | None = None,
        delta: float | None = None,
        window_days: int | None = None,
        reason: str = "",
    ) -> Policy:
        """Append a policy row; unspecified fields keep their current value."""
        with self._locked() as conn:
            cur = self._policy(conn)
            new = (
                cur.epsilon_cap if epsilon_cap is None else epsilon_cap,
                cur.delta if delta is None else delta,
                cur.window_days if window_days is None else window_days,
            )
            validate_policy(*new)
            now = self._now()
            conn.execute(
                insert(PolicyRow).values(
                    created_at=now,
                    epsilon_cap=new[0],
                    delta=new[1],
                    window_days=new[2],
                    reason=reason,
                )
            )
        return Policy(*new, now, reason)

    # -- reading spending -------------------------------------------------------------------

    def _histories(
        self, conn: Connection, users: Iterable[str], policy: Policy
    ) -> dict[str, list[str]]:
        """user -> canonical mechanism JSON of each of their counting charges in the window."""
        cutoff = self._now() - timedelta(days=policy.window_days)
        released = exists().where(
            EventRow.reservation_id == ReservationRow.id, EventRow.status.in_(NOT_COUNTING)
        )
        pairs: list[tuple[str, int]] = []
        users = list(users)
        for i in range(0, len(users), _CHUNK):
            q = (
                select(ChargeRow.user_id, ChargeRow.group_id)
                .join(ChargeGroupRow, ChargeRow.group_id == ChargeGroupRow.id)
                .join(ReservationRow, ChargeGroupRow.reservation_id == ReservationRow.id)
                .where(ChargeRow.user_id.in_(users[i : i + _CHUNK]))
                .where(ReservationRow.created_at > cutoff)
                .where(~released)
            )
            pairs.extend((u, g) for u, g in conn.execute(q))
        group_ids = sorted({g for _, g in pairs})
        mech: dict[int, str] = {}
        for i in range(0, len(group_ids), _CHUNK):
            q = select(ChargeGroupRow.id, ChargeGroupRow.mechanism).where(
                ChargeGroupRow.id.in_(group_ids[i : i + _CHUNK])
            )
            mech.update((gid, text) for gid, text in conn.execute(q))
        out: dict[str, list[str]] = defaultdict(list)
        for u, g in pairs:
            out[u].append(mech[g])
        return out

    def _balances(
        self, hist: dict[str, list[str]], users: list[str], policy: Policy
    ) -> dict[str, Balance]:
        out = {}
        for u in users:
            h = hist.get(u, [])
            s = self._composer.spent(h, policy.delta)
            out[u] = Balance(
                user=u,
                epsilon_spent=s.epsilon,
                epsilon_sum=s.epsilon_sum,
                epsilon_cap=policy.epsilon_cap,
                delta=policy.delta,
                window_days=policy.window_days,
                remaining=max(0.0, policy.epsilon_cap - s.epsilon),
                charges=len(h),
                accountant=s.accountant,
                note=s.note,
            )
        return out

    def balances(self, users: Iterable[str]) -> dict[str, Balance]:
        """Each user's balance; users with identical histories share one accountant call."""
        users = check_users(users)
        with self._engine.begin() as conn:  # read in one snapshot, compose after (no lock held)
            policy = self._policy(conn)
            hist = self._histories(conn, users, policy)
        return self._balances(hist, users, policy)

    def balance(self, user: str) -> Balance:
        return self.balances([user])[user]

    # -- reserving and charging ---------------------------------------------------------------

    def reserve(
        self,
        run_id: str,
        users: Iterable[str] | Mapping[str, int],
        mechanism: Mechanism,
        *,
        unit: Unit = "user",
        example_delta: float | None = None,
        reason: str = "",
    ) -> Reservation:
        """Reserve ``mechanism``'s cost for every user, or raise ``BudgetExceeded``.

        ``unit="user"``: every user is charged ``mechanism``. ``unit="example"``: ``users``
        maps each user to their number of records k; users with k = 1 are charged
        ``mechanism``, users with k >= 2 the group-privacy bound (kε, k·e^{(k−1)ε}·δ) where
        (ε, δ) is ``mechanism``'s guarantee at ``example_delta`` (default: policy δ / 100).
        """
        return self._reserve(run_id, users, mechanism, unit, example_delta, reason, "run")

    def charge(
        self,
        users: Iterable[str],
        mechanism: Mechanism,
        *,
        reason: str,
        run_id: str = "external",
    ) -> Reservation:
        """Record a release that already happened (reserve and commit in one transaction)."""
        return self._reserve(run_id, users, mechanism, "user", None, reason, "external")

    def _reserve(
        self,
        run_id: str,
        users: Iterable[str] | Mapping[str, int],
        mechanism: Mechanism,
        unit: str,
        example_delta: float | None,
        reason: str,
        source: str,
    ) -> Reservation:
        run_id = check_text("run_id", run_id, required=True)
        reason = check_text("reason", reason, required=source == "external")
        records = check_records(users, unit)
        check_mechanism(mechanism, example_delta)
        with self._locked() as conn:
            policy = self._policy(conn)
            if unit == "example" and example_delta is None:
                example_delta = policy.delta / 100
            plan = plan_charges(mechanism, records, unit, example_delta, self._composer)
            new_of = {u: c.mechanism for c in plan for u in c.users}
            hist = self._histories(conn, list(records), policy)
            worst, over = 0.0, {}
            for u in records:
                eps = self._composer.spent([*hist.get(u, []), new_of[u]], policy.delta).epsilon
                worst = max(worst, eps)
                if not eps <= policy.epsilon_cap + CAP_TOLERANCE:
                    over[u] = eps
            if over:
                raise refusal(run_id, len(records), over, policy)
            now = self._now()
            rid = uuid.uuid4().hex
            conn.execute(
                insert(ReservationRow).values(
                    id=rid,
                    run_id=run_id,
                    created_at=now,
                    source=source,
                    unit=unit,
                    users=len(records),
                    reason=reason,
                )
            )
            status = "committed" if source == "external" else "reserved"
            conn.execute(insert(EventRow).values(reservation_id=rid, created_at=now, status=status))
            for c in plan:
                gid = conn.execute(
                    insert(ChargeGroupRow)
                    .values(
                        reservation_id=rid,
                        mechanism=c.mechanism,
                        records_per_user=c.records,
                        note=c.note,
                    )
                    .returning(ChargeGroupRow.id)
                ).scalar_one()
                conn.execute(insert(ChargeRow), [{"group_id": gid, "user_id": u} for u in c.users])
        group = {u: k for u, k in records.items() if k >= 2} if unit == "example" else {}
        return Reservation(
            id=rid,
            run_id=run_id,
            status=status,
            created_at=now,
            users=len(records),
            unit=unit,
            source=source,
            reason=reason,
            group_charged=group,
            notes=tuple(c.note for c in plan if c.note),
            max_epsilon_after=worst,
        )

    # -- status changes (append-only) -------------------------------------------------------

    def _transition(self, reservation: Reservation | str, to: str, reason: str) -> Reservation:
        rid = reservation.id if isinstance(reservation, Reservation) else str(reservation)
        allowed = {"committed": ("reserved",), "released": ("reserved",), "voided": ("committed",)}
        with self._locked() as conn:
            row = _find(conn, rid)
            rid = row.id
            status = _status(conn, rid)
            if status == to:
                return self._reservation(conn, row, status)
            if status not in allowed[to]:
                hint = " (use void to correct a committed charge)" if status == "committed" else ""
                raise ReservationError(
                    f"budget reservation {rid!r}: cannot go from {status} to {to}{hint}"
                )
            conn.execute(
                insert(EventRow).values(
                    reservation_id=rid, created_at=self._now(), status=to, reason=reason
                )
            )
            return self._reservation(conn, row, to)

    def commit(self, reservation: Reservation | str, reason: str = "") -> Reservation:
        """Mark a reservation as spent (the run finished). Idempotent."""
        return self._transition(reservation, "committed", check_text("reason", reason))

    def release(self, reservation: Reservation | str, reason: str) -> Reservation:
        """Give an open reservation's budget back (the run used no data). Idempotent."""
        return self._transition(reservation, "released", check_text("reason", reason, True))

    def void(self, reservation: Reservation | str, reason: str) -> Reservation:
        """Correct a committed charge recorded in error (a new entry; the rows stay)."""
        return self._transition(reservation, "voided", check_text("reason", reason, True))

    def reservation(self, reservation_id: str) -> Reservation:
        """The reservation with this id (or unique id prefix of at least 8 characters)."""
        with self._engine.begin() as conn:
            row = _find(conn, reservation_id)
            return self._reservation(conn, row, _status(conn, row.id))

    def find_reservations(self, run_id: str) -> list[Reservation]:
        """All reservations of ``run_id``, oldest first."""
        with self._engine.begin() as conn:
            rows = conn.execute(
                select(ReservationRow)
                .where(ReservationRow.run_id == run_id)
                .order_by(ReservationRow.created_at)
            ).all()
            return [self._reservation(conn, r, _status(conn, r.id)) for r in rows]

    def _reservation(self, conn: Connection, row: ReservationRow, status: str) -> Reservation:
        notes = conn.execute(
            select(ChargeGroupRow.note).where(
                ChargeGroupRow.reservation_id == row.id, ChargeGroupRow.note != ""
            )
        ).scalars()
        return Reservation(
            id=row.id,
            run_id=row.run_id,
            status=status,
            created_at=row.created_at,
            users=row.users,
            unit=row.unit,
            source=row.source,
            reason=row.reason,
            notes=tuple(notes),
        )

    # -- history ----------------------------------------------------------------------------

    def history(self, user: str | None = None, limit: int | None = None) -> list[HistoryEntry]:
        """Charge groups, newest first (only those charging ``user`` if given)."""
        if user is not None:
            user = check_users([user])[0]
        with self._engine.begin() as conn:
            policy = self._policy(conn)
            cutoff = self._now() - timedelta(days=policy.window_days)
            q = (
                select(
                    ChargeGroupRow.id.label("gid"),
                    ChargeGroupRow.mechanism,
                    ChargeGroupRow.records_per_user,
                    ChargeGroupRow.note,
                    ReservationRow.id.label("rid"),
                    ReservationRow.run_id,
                    ReservationRow.created_at,
                    ReservationRow.source,
                    ReservationRow.unit,
                    ReservationRow.reason,
                )
                .join(ReservationRow, ChargeGroupRow.reservation_id == ReservationRow.id)
                .order_by(ReservationRow.created_at.desc(), ChargeGroupRow.id.desc())
            )
            if user is not None:
                charged = exists().where(
                    ChargeRow.group_id == ChargeGroupRow.id, ChargeRow.user_id == user
                )
                q = q.where(charged)
            if limit is not None:
                q = q.limit(limit)
            rows = conn.execute(q).all()
            counts: dict[int, int] = {}
            gids = [r.gid for r in rows]
            for i in range(0, len(gids), _CHUNK):
                q2 = (
                    select(ChargeRow.group_id, func.count())
                    .where(ChargeRow.group_id.in_(gids[i : i + _CHUNK]))
                    .group_by(ChargeRow.group_id)
                )
                counts.update((gid, n) for gid, n in conn.execute(q2))
            out = []
            for r in rows:
                status, status_reason = _status(conn, r.rid, with_reason=True)
                out.append(
                    HistoryEntry(
                        reservation_id=r.rid,
                        run_id=r.run_id,
                        created_at=r.created_at,
                        status=status,
                        status_reason=status_reason,
                        source=r.source,
                        unit=r.unit,
                        reason=r.reason,
                        mechanism=parse(r.mechanism),
                        records_per_user=r.records_per_user,
                        note=r.note,
                        users=counts.get(r.gid, 0),
                        epsilon=self._composer.alone(r.mechanism, policy.delta),
                        counts=r.created_at > cutoff and status not in NOT_COUNTING,
                    )
                )
        return out


def _find(conn: Connection, rid: str):  # type: ignore[no-untyped-def]
    """The reservation row for an id or a unique prefix of >= 8 hex characters."""
    rid = str(rid).strip().lower()
    q = select(ReservationRow).where(ReservationRow.id == rid)
    if 8 <= len(rid) < 32 and all(c in "0123456789abcdef" for c in rid):
        q = select(ReservationRow).where(ReservationRow.id.startswith(rid)).limit(2)
    rows = conn.execute(q).all()
    if len(rows) != 1:
        what = "no such reservation" if not rows else "ambiguous id prefix"
        raise ReservationError(f"budget reservation {rid!r}: {what}")
    return rows[0]


def _status(conn: Connection, rid: str, with_reason: bool = False):  # type: ignore[no-untyped-def]
    row = conn.execute(
        select(EventRow.status, EventRow.reason)
        .where(EventRow.reservation_id == rid)
        .order_by(EventRow.id.desc())
        .limit(1)
    ).one()
    return (row.status, row.reason) if with_reason else row.status


__all__ = [
    "Balance",
    "BudgetError",
    "BudgetExceeded",
    "HistoryEntry",
    "Ledger",
    "LedgerInputError",
    "Reservation",
    "ReservationError",
]
