"""The text task on Flower, end to end: each client is one user; DP-FedAvg with secure
aggregation; users charged in the ledger by their own ids; per-user membership attack."""

import json

import pytest
import yaml

from privml.federated.runner import run_federated
from privml.governance import Ledger

SPEC = {
    "task": "federated",
    "name": "fl-text",
    "data": {
        "dataset": "text",
        "setting": "cross_device",
        "clients": 40,
        "holdout_clients": 12,
        "vocab_size": 512,
    },
    "model": {"architecture": "tiny-gpt", "d_model": 32, "layers": 1, "heads": 2, "context": 32},
    "training": {
        "rounds": 4,
        "sampling_rate": 0.5,
        "batch_size": 8,
        "lr": 0.003,
        "optimizer": "adam",
        "server_momentum": 0.5,
    },
    "dp": {"enabled": True, "target_epsilon": 4.0, "clip_norm": 1.0},
    "secure_aggregation": True,
    "ledger": "${out}/ledger.sqlite",
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    d = tmp_path_factory.mktemp("fl-text")
    (d / "spec.yaml").write_text(yaml.safe_dump(SPEC))
    return d / "out", run_federated(d / "spec.yaml", d / "out")


def test_results_carry_the_interface_keys_for_users(run):
    _, res = run
    fed = res["federated"]
    assert fed["rounds_completed"] == 4 and fed["clients"] == 40
    assert fed["secure_aggregation"] is True and fed["bytes_per_client_per_round"] > 0
    assert res["privacy"]["unit"] == "user" and res["privacy"]["epsilon"] <= 4.0 + 1e-9
    assert 0 <= res["utility"]["private"]["accuracy"] <= 1
    assert 0 <= res["attacks"]["private"]["membership"]["loss"]["auc"] <= 1


def test_the_baseline_learns_and_its_loss_falls(run):
    _, res = run
    rounds = res["federated"]["variants"]["baseline"]["per_round"]
    assert rounds[-1]["loss"] < rounds[0]["loss"] - 0.3


def test_training_users_are_charged_under_their_own_ids(run):
    out, res = run
    users = sorted({json.loads(line)["user_id"] for line in (out / "data" / "corpus.jsonl").open()})
    with Ledger(str(out / "ledger.sqlite")) as led:
        charged = [u for u, b in led.balances(users).items() if b.charges]
    assert len(charged) == 40  # the training users; held-out users and the rest never charged
    tok = json.loads((out / "tokenizer.json").read_text())
    vocab = tok["model"]["vocab"]
    assert not any(u in vocab for u in users)  # the tokenizer is public-only


def test_privml_run_dispatches_a_federated_spec(tmp_path):
    from typer.testing import CliRunner

    from privml.cli import app

    spec = {**SPEC, "training": {**SPEC["training"], "rounds": 1}, "baseline": False}
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    r = CliRunner().invoke(
        app, ["run", str(tmp_path / "spec.yaml"), "--out", str(tmp_path / "out"), "--quiet"]
    )
    assert r.exit_code == 0, r.output
    assert "private accuracy" in r.output and (tmp_path / "out" / "report.html").exists()
