"""Where the ledger lives and how writers are serialized.

The ledger URL is, in order: the ``--ledger`` option (``url`` argument), the ``PRIVML_LEDGER``
environment variable, then ``$XDG_DATA_HOME/privml/ledger.sqlite`` (falling back to
``~/.local/share/privml/ledger.sqlite``). A bare file path is accepted wherever a URL is.

Every check-and-insert runs in one transaction that holds the ledger's write lock for its whole
duration, so two runs charging the same person can never both pass the cap check:

- SQLite: every transaction starts with ``BEGIN IMMEDIATE`` (the write lock is taken up front,
  not on first write), and waiters block up to ``busy_timeout`` seconds instead of failing.
- PostgreSQL: ``SELECT ... FOR UPDATE`` on the single row of ``privml_ledger_lock``.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

ENV_VAR = "PRIVML_LEDGER"
DEFAULT_BUSY_TIMEOUT_S = 120.0


class LedgerURLError(ValueError):
    """The ledger URL cannot be used; the message names ``ledger``."""


def default_ledger_path() -> Path:
    """``$XDG_DATA_HOME/privml/ledger.sqlite``, else ``~/.local/share/privml/ledger.sqlite``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "privml" / "ledger.sqlite"


def resolve_url(url: str | os.PathLike[str] | None = None) -> str:
    """The ledger URL to use: ``url``, else ``$PRIVML_LEDGER``, else the default path."""
    raw = str(url) if url not in (None, "") else os.environ.get(ENV_VAR) or ""
    if not raw:
        raw = str(default_ledger_path())
    if "://" not in raw:  # a bare file path
        return f"sqlite:///{Path(raw).expanduser().resolve()}"
    try:
        parsed = make_url(raw)
    except ArgumentError as exc:
        raise LedgerURLError(f"ledger: not a valid database URL: {exc}") from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise LedgerURLError(
            f"ledger: only sqlite and postgresql URLs are supported, got "
            f"{parsed.get_backend_name()!r}"
        )
    if parsed.drivername in ("postgresql", "postgres"):  # the installed driver is psycopg 3
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return raw


def _sqlite_file(url: str) -> Path | None:
    db = make_url(url).database
    if not db or db == ":memory:" or db.startswith("file:"):
        return None
    return Path(db)


def make_engine(url: str, busy_timeout: float = DEFAULT_BUSY_TIMEOUT_S) -> Engine:
    """An engine for ``url`` (already resolved) whose transactions serialize writers."""
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        path = _sqlite_file(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": busy_timeout})
        _sqlite_begin_immediate(engine, busy_timeout)
        return engine
    if backend == "postgresql":
        try:
            return create_engine(url, pool_pre_ping=True)
        except ModuleNotFoundError as exc:
            raise LedgerURLError(f"ledger: PostgreSQL driver not installed ({exc})") from None
    raise LedgerURLError(f"ledger: unsupported database {backend!r}")


def _sqlite_begin_immediate(engine: Engine, busy_timeout: float) -> None:
    """Let SQLAlchemy, not pysqlite, start transactions, and start them IMMEDIATE."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # no implicit BEGIN from pysqlite
        cur = dbapi_connection.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def describe_url(url: str) -> str:
    """The URL with any password hidden, for messages."""
    return make_url(url).render_as_string(hide_password=True)
