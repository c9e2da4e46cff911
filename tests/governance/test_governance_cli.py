"""`privml budget ...`: the CLI contract (keys, exit codes, messages) on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from test_governance_ledger_support import (  # noqa: F401  (fixtures)
    isolated_env_fixture,
    ledger_url_fixture,
)
from typer.testing import CliRunner

from privml.cli import app

SHOW_KEYS = {"user", "epsilon_spent", "epsilon_sum", "epsilon_cap", "window_days", "remaining"}


def budget(*args: str, ledger: str | None = None):
    argv = ["budget", *args] + (["--ledger", ledger] if ledger else [])
    return CliRunner().invoke(app, argv)


def charge(ledger: str | None, user: str, eps: str, delta: str = "0", reason: str = "release"):
    return budget(
        "charge", "--user", user, "--epsilon", eps, "--delta", delta, "--reason", reason,
        ledger=ledger,
    )  # fmt: skip


def test_charge_show_history_policy(ledger_url):
    r = charge(ledger_url, "ada", "1.5", "1e-7", "census table 2026")
    assert r.exit_code == 0, r.output
    assert "charged (ε=1.5, δ=1e-07) to 1 user" in r.output
    assert charge(ledger_url, "ada", "1.0").exit_code == 0

    r = budget("show", "--user", "ada", "--json", ledger=ledger_url)
    assert r.exit_code == 0, r.output
    shown = json.loads(r.output)
    assert SHOW_KEYS <= set(shown)
    assert shown["user"] == "ada" and shown["epsilon_cap"] == 4.0 and shown["window_days"] == 182
    assert shown["epsilon_sum"] == pytest.approx(2.5)
    assert 2.4 <= shown["epsilon_spent"] <= 2.5 + 1e-9
    assert shown["remaining"] == pytest.approx(4.0 - shown["epsilon_spent"])
    assert shown["delta"] == 1e-5 and shown["accountant"]

    r = budget("show", "--user", "ada", ledger=ledger_url)
    assert r.exit_code == 0 and "ada" in r.output and "2.5" in r.output

    r = charge(ledger_url, "ada", "2.0", reason="too much")
    assert r.exit_code != 0
    assert "budget" in r.output and "1 of 1 person" in r.output and "by up to 0.5" in r.output
    r = budget("show", "--user", "ada", "--json", ledger=ledger_url)
    assert json.loads(r.output)["epsilon_sum"] == pytest.approx(2.5)  # refusal wrote nothing

    r = budget("history", "--user", "ada", "--json", ledger=ledger_url)
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert [x["reason"] for x in rows] == ["release", "census table 2026"]
    assert rows[1]["mechanism"] == {"kind": "epsilon_delta", "epsilon": 1.5, "delta": 1e-7}
    r = budget("history", ledger=ledger_url)
    assert r.exit_code == 0 and "census table 2026" in r.output and "committed" in r.output
    assert json.loads(budget("history", "--user", "bo", "--json", ledger=ledger_url).output) == []

    r = budget("policy", "--json", ledger=ledger_url)
    assert json.loads(r.output)["epsilon_cap"] == 4.0
    r = budget(
        "policy", "--epsilon-cap", "6", "--window-days", "365", "--reason", "DPO", ledger=ledger_url
    )
    assert r.exit_code == 0 and "DPO" in r.output
    p = json.loads(budget("policy", "--json", ledger=ledger_url).output)
    assert (p["epsilon_cap"], p["delta"], p["window_days"]) == (6.0, 1e-5, 365)
    assert charge(ledger_url, "ada", "2.0").exit_code == 0  # fits the new cap


def test_operator_release_of_a_killed_run(ledger_url):
    from privml.accounting.mechanisms import EpsilonDelta
    from privml.governance import Ledger

    with Ledger(ledger_url) as led:
        led.reserve("run-9", ["ada"], EpsilonDelta(3.0, 0.0))  # the run died: left open
    shown = json.loads(budget("show", "--user", "ada", "--json", ledger=ledger_url).output)
    assert shown["epsilon_spent"] == pytest.approx(3.0, abs=1e-3)
    r = budget("release", "--run", "run-9", ledger=ledger_url)
    assert r.exit_code != 0 and "--reason" in r.output
    r = budget("release", "--run", "run-9", "--reason", "no data read", ledger=ledger_url)
    assert r.exit_code == 0 and "released" in r.output
    shown = json.loads(budget("show", "--user", "ada", "--json", ledger=ledger_url).output)
    assert shown["epsilon_spent"] == 0.0
    r = budget("release", "--run", "run-9", "--reason", "again", ledger=ledger_url)
    assert r.exit_code != 0 and "no reserved reservation" in r.output


@pytest.mark.parametrize(
    "args,field",
    [
        (
            ["charge", "--user", "a", "--epsilon", "-1", "--delta", "0", "--reason", "x"],
            "--epsilon",
        ),
        (["charge", "--user", "a", "--epsilon", "1", "--delta", "1.5", "--reason", "x"], "--delta"),
        (["charge", "--user", "a", "--epsilon", "1", "--delta", "0", "--reason", " "], "--reason"),
        (["charge", "--user", " ", "--epsilon", "1", "--delta", "0", "--reason", "x"], "users"),
        (["policy", "--window-days", "0"], "window_days"),
        (["policy", "--epsilon-cap", "-2"], "epsilon_cap"),
        (["policy", "--delta", "0.5"], "delta"),
        (["show", "--user", "a", "--ledger", "mysql://h/db"], "ledger"),
        (["charge", "--user", "a", "--epsilon", "x", "--delta", "0", "--reason", "x"], "--epsilon"),
    ],
)
def test_bad_input_names_the_field(args, field):
    r = budget(*args)
    assert r.exit_code == 2, r.output
    assert field in r.output


def test_default_ledger_comes_from_privml_ledger(tmp_path, monkeypatch):
    path = tmp_path / "team-ledger.sqlite"
    monkeypatch.setenv("PRIVML_LEDGER", str(path))
    assert charge(None, "ada", "1.0").exit_code == 0
    assert path.exists()
    shown = json.loads(budget("show", "--user", "ada", "--json").output)
    assert shown["epsilon_sum"] == 1.0
    other = tmp_path / "other.sqlite"  # --ledger wins over the environment
    assert (
        json.loads(budget("show", "--user", "ada", "--json", ledger=str(other)).output)[
            "epsilon_sum"
        ]
        == 0.0
    )
