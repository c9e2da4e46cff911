"""The ledger's tables (SQLAlchemy 2.x). Every table except the lock row is append-only.

- ``privml_reservations``: one row per reserve/charge call (a run, or an external release).
- ``privml_charge_groups``: the mechanism JSON, stored once per group of users charged the same
  thing (a user-level run has one group; an example-level run one per records-per-user count).
- ``privml_charges``: one row per (group, user), the only per-user table.
- ``privml_reservation_events``: status entries: reserved, committed, released, voided. The
  latest entry is the status; a reservation counts against the cap unless released or voided.
- ``privml_policies``: the policy history; the latest row applies.

Database triggers refuse UPDATE and DELETE on all of them, so history can only grow.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Connection,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SCHEMA_VERSION = 1
STATUSES = ("reserved", "committed", "released", "voided")
NOT_COUNTING = ("released", "voided")


class Base(DeclarativeBase):
    pass


class LockRow(Base):
    """A single row locked FOR UPDATE by every writer on PostgreSQL."""

    __tablename__ = "privml_ledger_lock"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    schema_version: Mapped[int] = mapped_column(Integer)


class PolicyRow(Base):
    __tablename__ = "privml_policies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    epsilon_cap: Mapped[float] = mapped_column(Float)
    delta: Mapped[float] = mapped_column(Float)
    window_days: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text, default="")


class ReservationRow(Base):
    __tablename__ = "privml_reservations"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(200), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    source: Mapped[str] = mapped_column(String(16))  # "run" or "external"
    unit: Mapped[str] = mapped_column(String(16))  # "user" or "example"
    users: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text, default="")


class EventRow(Base):
    __tablename__ = "privml_reservation_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reservation_id: Mapped[str] = mapped_column(ForeignKey("privml_reservations.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")


class ChargeGroupRow(Base):
    __tablename__ = "privml_charge_groups"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reservation_id: Mapped[str] = mapped_column(ForeignKey("privml_reservations.id"), index=True)
    mechanism: Mapped[str] = mapped_column(Text)  # canonical JSON of mechanisms.to_dict
    records_per_user: Mapped[int | None] = mapped_column(Integer, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")


class ChargeRow(Base):
    __tablename__ = "privml_charges"
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    group_id: Mapped[int] = mapped_column(ForeignKey("privml_charge_groups.id"))
    user_id: Mapped[str] = mapped_column(String(200))

    __table_args__ = (
        Index("ix_privml_charges_user_group", "user_id", "group_id"),
        Index("ix_privml_charges_group", "group_id"),
    )


APPEND_ONLY_TABLES = (
    PolicyRow.__tablename__,
    ReservationRow.__tablename__,
    EventRow.__tablename__,
    ChargeGroupRow.__tablename__,
    ChargeRow.__tablename__,
)

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION privml_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION USING MESSAGE =
    'privml ledger is append-only: ' || TG_OP || ' on ' || TG_TABLE_NAME || ' refused';
END
$$
"""


def install_append_only_triggers(conn: Connection) -> None:
    """Make the database itself refuse UPDATE/DELETE on the ledger's history tables."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        conn.exec_driver_sql(_PG_FUNCTION)
    for table in APPEND_ONLY_TABLES:
        if dialect == "sqlite":
            for op in ("UPDATE", "DELETE"):
                conn.exec_driver_sql(
                    f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'privml ledger is append-only: {op} on {table} "
                    f"refused'); END"
                )
        elif dialect == "postgresql":
            conn.exec_driver_sql(
                f"CREATE OR REPLACE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON "
                f"{table} FOR EACH ROW EXECUTE FUNCTION privml_append_only()"
            )
