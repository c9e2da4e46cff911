"""The budget ledger: composition vs sum, refusal before training, windows, append-only."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
import sqlalchemy as sa
from test_governance_ledger_support import (  # noqa: F401  (fixtures)
    T0,
    Clock,
    exact_gaussian_epsilon,
    gaussian_sigma_for,
    isolated_env_fixture,
    ledger_url_fixture,
    row_counts,
)

from privml.accounting.mechanisms import EpsilonDelta, Gaussian, dp_sgd
from privml.governance import (
    BudgetError,
    BudgetExceeded,
    Ledger,
    LedgerInputError,
    PolicyError,
    ReservationError,
    group_privacy,
)
from privml.governance.db import LedgerURLError, default_ledger_path, resolve_url

DELTA = 1e-5  # the default policy's δ


@pytest.fixture(name="ledger")
def ledger_fixture(ledger_url):
    clock = Clock()
    with Ledger(ledger_url, clock=clock) as led:
        led.test_clock = clock
        yield led


def test_default_policy_is_stored(ledger):
    p = ledger.policy()
    assert (p.epsilon_cap, p.delta, p.window_days) == (4.0, 1e-5, 182)
    assert len(ledger.policy_history()) == 1


def test_ten_gaussian_runs_compose_well_below_the_sum(ledger):
    sigma = gaussian_sigma_for(1.0, DELTA)  # each run alone is exactly (1, 1e-5)-DP
    for i in range(10):
        ledger.commit(ledger.reserve(f"run-{i}", ["ada", "bo"], Gaussian(sigma)))
    b = ledger.balance("ada")
    print(f"10 Gaussian runs at ε=1: composed {b.epsilon_spent:.3f} vs sum {b.epsilon_sum:.3f}")
    assert b.charges == 10
    assert b.epsilon_sum == pytest.approx(10.0, rel=0.02)
    exact = exact_gaussian_epsilon(sigma / math.sqrt(10), DELTA)  # 10 Gaussians = σ/√10
    assert exact <= b.epsilon_spent <= exact * 1.02  # an upper bound, and a tight one
    assert b.epsilon_spent < 4.0 < b.epsilon_sum / 2  # clearly less than 10: it fits ε = 4
    assert b.remaining == pytest.approx(4.0 - b.epsilon_spent)
    # Composition, not the sum, decides: an 11th run still fits the cap of 4, a 12th does not.
    ledger.reserve("run-10", ["ada"], Gaussian(sigma))
    with pytest.raises(BudgetExceeded):
        ledger.reserve("run-11", ["ada"], Gaussian(sigma))


def test_reservation_over_the_cap_is_refused_naming_people_and_excess(ledger):
    users = [f"u{i:02d}" for i in range(10)]
    ledger.charge(users[:3], EpsilonDelta(3.5, 0.0), reason="earlier census release")
    before = row_counts(ledger)
    with pytest.raises(BudgetExceeded) as info:
        ledger.reserve("train-7", users, EpsilonDelta(1.0, 0.0))
    err = info.value
    msg = str(err)
    assert isinstance(err, BudgetError)
    assert "budget" in msg and "3 of 10 people" in msg and "by up to 0.5" in msg
    assert "3 people at ε=4.5" in msg and "Nothing was reserved" in msg
    assert err.people == 3 and err.max_excess == pytest.approx(0.5, abs=1e-3)
    assert sorted(err.over) == users[:3]
    assert row_counts(ledger) == before  # refused before anything was written
    assert ledger.balance("u05").charges == 0


def test_reserve_commit_release_and_void_are_appended(ledger):
    r = ledger.reserve("run-a", ["ada"], EpsilonDelta(1.0, 0.0))
    assert r.status == "reserved" and r.users == 1
    assert ledger.balance("ada").epsilon_spent == pytest.approx(1.0, abs=1e-3)  # open counts
    r2 = ledger.reserve("run-b", ["ada"], EpsilonDelta(1.0, 0.0))
    assert ledger.release(r2, reason="stopped before reading data").status == "released"
    assert ledger.commit(r).status == "committed"
    assert ledger.commit(r.id).status == "committed"  # idempotent, no new row
    assert ledger.balance("ada").epsilon_spent == pytest.approx(1.0, abs=1e-3)
    with pytest.raises(ReservationError, match="budget reservation .* committed to released"):
        ledger.release(r, reason="too late")
    with pytest.raises(ReservationError, match="no such reservation"):
        ledger.commit("0" * 32)
    assert ledger.void(r.id[:10], reason="recorded twice").status == "voided"  # id prefix
    assert ledger.balance("ada").epsilon_spent == 0.0
    statuses = [e.status for e in ledger.history("ada")]
    assert statuses == ["released", "voided"]  # newest first, each with all its rows kept
    assert [p.status for p in ledger.find_reservations("run-a")] == ["voided"]


def test_history_is_append_only(ledger):
    statements: list[str] = []
    sa.event.listen(
        ledger._engine,
        "before_cursor_execute",
        lambda conn, cursor, stmt, *a: statements.append(stmt.lstrip().upper()),
    )
    counts = [row_counts(ledger)]
    r = ledger.reserve("run-a", ["ada", "bo"], EpsilonDelta(1.0, 0.0))
    counts.append(row_counts(ledger))
    ledger.commit(r)
    counts.append(row_counts(ledger))
    ledger.void(r, reason="wrong users")
    counts.append(row_counts(ledger))
    ledger.set_policy(epsilon_cap=5.0, reason="raised")
    counts.append(row_counts(ledger))
    with pytest.raises(BudgetExceeded):
        ledger.charge(["ada"], EpsilonDelta(9.0, 0.0), reason="too much")
    counts.append(row_counts(ledger))
    for a, b in zip(counts, counts[1:], strict=False):
        assert all(b[t] >= a[t] for t in a), (a, b)
    assert counts[-1]["privml_reservation_events"] == 3
    assert not [s for s in statements if s.startswith(("UPDATE", "DELETE"))]
    # The database itself refuses edits of history.
    for stmt in ("UPDATE privml_charges SET user_id = 'x'", "DELETE FROM privml_policies"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            with ledger._engine.begin() as conn:
                conn.execute(sa.text(stmt))
    assert row_counts(ledger) == counts[-1]


def test_charges_outside_the_window_do_not_count(ledger):
    clock = ledger.test_clock
    ledger.charge(["ada"], EpsilonDelta(3.0, 0.0), reason="january release")
    clock.advance(100)
    ledger.charge(["ada"], EpsilonDelta(1.0, 0.0), reason="april release")
    with pytest.raises(BudgetExceeded):
        ledger.charge(["ada"], EpsilonDelta(1.0, 0.0), reason="may release")
    clock.now = T0 + timedelta(days=183)  # the January charge has left the 182-day window
    b = ledger.balance("ada")
    assert b.charges == 1 and b.epsilon_spent == pytest.approx(1.0, abs=1e-3)
    ledger.charge(["ada"], EpsilonDelta(2.5, 0.0), reason="july release")  # fits again
    assert ledger.balance("ada").epsilon_spent == pytest.approx(3.5, abs=1e-3)
    in_window = [e.counts for e in ledger.history("ada")]
    assert in_window == [True, True, False]
    ledger.set_policy(window_days=365, reason="one year")
    assert ledger.balance("ada").epsilon_spent == pytest.approx(6.5, abs=1e-3)  # over now
    assert ledger.balance("ada").remaining == 0.0


def test_policy_changes_are_new_rows_and_apply(ledger):
    ledger.charge(["ada"], EpsilonDelta(3.0, 0.0), reason="r1")
    p = ledger.set_policy(epsilon_cap=2.0, reason="stricter")
    assert (p.epsilon_cap, p.delta, p.window_days) == (2.0, 1e-5, 182)
    assert [x.epsilon_cap for x in ledger.policy_history()] == [4.0, 2.0]
    with pytest.raises(BudgetExceeded, match="cap ε=2"):
        ledger.charge(["ada"], EpsilonDelta(0.1, 0.0), reason="r2")
    with pytest.raises(PolicyError, match="window_days"):
        ledger.set_policy(window_days=0)
    with pytest.raises(PolicyError, match="delta"):
        ledger.set_policy(delta=0.5)
    assert len(ledger.policy_history()) == 2


def test_example_level_run_charges_group_privacy(ledger):
    example_delta = 1e-8
    mech = Gaussian(20.0)
    r = ledger.reserve(
        "ex-run", {"ada": 1, "bo": 2, "cy": 4}, mech, unit="example", example_delta=example_delta
    )
    assert r.group_charged == {"bo": 2, "cy": 4}
    assert len(r.notes) == 2 and all("group privacy" in n for n in r.notes)
    eps_example = ledger._composer.alone(_canon(mech), example_delta)
    bound = group_privacy(eps_example, example_delta, 4)  # (4ε, 4·e^{3ε}·δ)
    cy = ledger.balance("cy")
    assert 0.95 * bound.epsilon <= cy.epsilon_spent <= bound.epsilon + 1e-9
    assert cy.epsilon_spent > 3 * ledger.balance("ada").epsilon_spent  # far above user-level
    hist = ledger.history("cy")
    assert hist[0].records_per_user == 4 and "4 records" in hist[0].note
    # A user with many records gets a δ beyond the policy's: refused, with the reason.
    with pytest.raises(BudgetExceeded, match="budget.*δ exceed"):
        ledger.reserve("ex-2", {"dee": 40}, mech, unit="example", example_delta=example_delta)


def test_group_privacy_formula():
    g = group_privacy(0.5, 1e-7, 3)
    assert g.epsilon == pytest.approx(1.5)
    assert g.delta == pytest.approx(3 * math.exp(1.0) * 1e-7)
    assert group_privacy(2.0, 1e-6, 1) == EpsilonDelta(2.0, 1e-6)
    assert group_privacy(5.0, 1e-3, 500).delta < 1  # capped, never invalid
    with pytest.raises(ValueError, match="records"):
        group_privacy(1.0, 1e-6, 0)


def test_ten_thousand_users_share_one_accountant_call(ledger, monkeypatch):
    from privml.governance import ledger_spend

    calls = []
    real = ledger_spend._accountant_epsilon
    monkeypatch.setattr(
        ledger_spend, "_accountant_epsilon", lambda m, d: calls.append(m) or real(m, d)
    )
    users = [f"user{i:05d}" for i in range(10_000)]
    mech = dp_sgd(1.0, 0.01, 200)
    ledger.commit(ledger.reserve("big-1", users, mech))
    r = ledger.reserve("big-2", users, mech)
    assert r.users == 10_000
    balances = ledger.balances(users)
    assert len({b.epsilon_spent for b in balances.values()}) == 1
    assert len(calls) <= 3  # alone (for the sum), one history, two histories
    assert sum(h.users for h in ledger.history()) == 20_000


def test_inputs_are_validated_naming_the_field(ledger):
    with pytest.raises(LedgerInputError, match="users"):
        ledger.reserve("r", [], Gaussian(1.0))
    with pytest.raises(LedgerInputError, match="users"):
        ledger.reserve("r", "ada", Gaussian(1.0))
    with pytest.raises(LedgerInputError, match="run_id"):
        ledger.reserve(" ", ["ada"], Gaussian(1.0))
    with pytest.raises(LedgerInputError, match="reason"):
        ledger.charge(["ada"], EpsilonDelta(1.0, 0.0), reason="")
    with pytest.raises(LedgerInputError, match="records"):
        ledger.reserve("r", {"ada": 0}, Gaussian(1.0), unit="example")
    with pytest.raises(LedgerInputError, match="unit"):
        ledger.reserve("r", ["ada"], Gaussian(1.0), unit="row")
    with pytest.raises(LedgerInputError, match="mechanism"):
        ledger.reserve("r", ["ada"], {"kind": "gaussian", "noise_multiplier": 1.0})
    assert ledger.history() == []


def test_url_resolution(tmp_path, monkeypatch):
    env_file = tmp_path / "from-env.sqlite"
    monkeypatch.setenv("PRIVML_LEDGER", str(env_file))
    assert resolve_url() == f"sqlite:///{env_file}"
    with Ledger() as led:
        led.charge(["ada"], EpsilonDelta(1.0, 0.0), reason="via env")
    assert env_file.exists()
    other = tmp_path / "explicit.sqlite"
    assert resolve_url(str(other)) == f"sqlite:///{other}"  # --ledger wins over the env
    assert resolve_url(f"sqlite:///{other}") == f"sqlite:///{other}"
    monkeypatch.delenv("PRIVML_LEDGER")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_ledger_path() == tmp_path / "xdg" / "privml" / "ledger.sqlite"
    assert resolve_url() == f"sqlite:///{tmp_path / 'xdg' / 'privml' / 'ledger.sqlite'}"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_ledger_path() == tmp_path / "home" / ".local/share/privml/ledger.sqlite"
    with pytest.raises(LedgerURLError, match="ledger"):
        resolve_url("mysql://db/ledger")


def _canon(m):
    from privml.governance.ledger_spend import canonical

    return canonical(m)
