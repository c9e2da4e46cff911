"""Shared fixtures for the ledger tests: one ledger per test on SQLite and on PostgreSQL.

The PostgreSQL variants run when ``PRIVML_TEST_POSTGRES_URL`` points at a server (``.ci/run``
starts one); each test gets its own schema, dropped afterwards. Without it they are skipped.
"""

from __future__ import annotations

import math
import os
import uuid
import warnings
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest

POSTGRES_URL = os.environ.get("PRIVML_TEST_POSTGRES_URL", "")
SKIP_PG = (
    "PRIVML_TEST_POSTGRES_URL is not set: PostgreSQL variants of the ledger tests skipped "
    "(.ci/run starts a throwaway server and sets it)"
)
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param(
        "postgres", id="postgres", marks=pytest.mark.skipif(not POSTGRES_URL, reason=SKIP_PG)
    ),
]
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
if not POSTGRES_URL:  # shown in pytest's warnings summary, so a plain `make test` says so
    warnings.warn(SKIP_PG, stacklevel=1)


class Clock:
    """A settable clock for ``Ledger(clock=...)``: windows are tested without sleeping."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, days: float) -> None:
        self.now += timedelta(days=days)


def _pg_url_with_schema(schema: str) -> str:
    sep = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{sep}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture(name="isolated_env", autouse=True)
def isolated_env_fixture(tmp_path, monkeypatch):
    """Nothing may reach the real default ledger: point every default into tmp_path."""
    monkeypatch.setenv("PRIVML_LEDGER", str(tmp_path / "env-ledger.sqlite"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))


@pytest.fixture(name="ledger_url", params=BACKENDS)
def ledger_url_fixture(request, tmp_path):
    """A fresh, empty ledger URL: a SQLite file in tmp_path or a new PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.sqlite'}"
        return
    import sqlalchemy as sa

    schema = f"privml_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        yield _pg_url_with_schema(schema)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


def gaussian_sigma_for(epsilon: float, delta: float) -> float:
    """σ of the Gaussian mechanism that is exactly (ε, δ)-DP (analytic Gaussian, bisection)."""
    lo, hi = 0.05, 100.0
    for _ in range(100):
        mid = math.sqrt(lo * hi)
        if exact_gaussian_epsilon(mid, delta) > epsilon:
            lo = mid
        else:
            hi = mid
    return hi


def exact_gaussian_epsilon(sigma: float, delta: float) -> float:
    """Exact ε at δ of one Gaussian mechanism with noise σ (sensitivity 1), by bisection."""

    def cdf(x: float) -> float:
        return 0.5 * math.erfc(-x / math.sqrt(2))

    def delta_of(eps: float) -> float:  # Balle & Wang (2018), Theorem 8
        return cdf(-eps * sigma + 0.5 / sigma) - math.exp(eps) * cdf(-eps * sigma - 0.5 / sigma)

    lo, hi = 0.0, 200.0
    for _ in range(100):
        mid = (lo + hi) / 2
        if delta_of(mid) > delta:
            lo = mid
        else:
            hi = mid
    return hi


def row_counts(ledger) -> dict[str, int]:
    """Rows per ledger table (through the ledger's own engine)."""
    import sqlalchemy as sa

    from privml.governance.ledger_models import APPEND_ONLY_TABLES

    with ledger._engine.connect() as conn:
        return {
            t: conn.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
            for t in APPEND_ONLY_TABLES
        }
