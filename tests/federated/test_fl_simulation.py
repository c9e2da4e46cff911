"""Simulation (no Ray): accuracy improves, bad clients are rejected with a reason, the ledger is
charged, results.json carries the interface keys, spec errors name the field."""

import json
import logging

import numpy as np
import pytest
import yaml
from flwr.app import Message

from privml.federated.client_app import app as client_app
from privml.federated.protocol import reply_content
from privml.federated.runconfig import build_config, make_plan
from privml.federated.runner import run_federated
from privml.federated.server import run_server
from privml.federated.simulate import LocalGrid
from privml.federated.spec import load_spec, spec_from_dict
from privml.governance import Ledger
from privml.specfile import SpecError

TINY = {
    "task": "federated",
    "name": "tiny",
    "data": {
        "clients": 6,
        "holdout_clients": 3,
        "partition": "iid",
        "max_rows": 3000,
        "eval_rows": 2000,
    },
    "training": {"rounds": 3, "sampling_rate": 1.0, "server_momentum": 0.0},
    "dp": {"enabled": True, "target_epsilon": 4.0, "clip_norm": 0.5},
}


def _spec(**over):
    raw = json.loads(json.dumps(TINY))
    for k, v in over.items():
        raw[k] = {**raw.get(k, {}), **v} if isinstance(v, dict) else v
    return spec_from_dict(raw)


def test_simulation_improves_accuracy():
    spec = _spec(dp={"enabled": False})
    res = run_server(LocalGrid(6), build_config(spec, "baseline"), None)
    assert len(res.rounds) == 3
    assert res.rounds[-1]["accuracy"] > res.initial["accuracy"] + 0.05
    assert res.participants == list(range(6))
    assert all(
        r["bytes_sent_per_client"] > 0 and r["bytes_received_per_client"] > 0 for r in res.rounds
    )


def _faulty(kind):
    def fn(msg, ctx):
        if kind == "crash":
            raise RuntimeError("client crashed mid-round")
        if kind == "offline":
            return None
        reply = client_app(msg, ctx)
        arrays = reply.content.array_records["arrays"].to_numpy_ndarrays()
        metrics = dict(reply.content.metric_records["metrics"])
        if kind == "nan":
            arrays[0][0, 0] = np.nan
        elif kind == "inf":
            arrays[-1][0] = np.inf
        elif kind == "shape":
            arrays[0] = arrays[0][:, :-1]
        elif kind == "dtype":
            arrays[0] = arrays[0].astype(np.int32)
        return Message(reply_content(arrays, metrics), reply_to=msg)

    return fn


def test_bad_clients_rejected_with_reason_and_round_goes_on(caplog):
    spec = _spec(training={"rounds": 2})
    kinds = {0: "crash", 1: "nan", 2: "shape", 3: "dtype", 4: "offline"}
    grid = LocalGrid(6, clients={pid: _faulty(k) for pid, k in kinds.items()})
    with caplog.at_level(logging.WARNING, logger="privml.federated"):
        res = run_server(grid, build_config(spec, "private"), make_plan(spec))
    for r in res.rounds:
        assert r["sampled"] == 6 and r["accepted"] == 1 and r["dropped"] == 5
    reasons = " | ".join(r["reason"] for r in res.rejected)
    for needle in (
        "client crashed mid-round",
        "non-finite",
        "wrong shape",
        "wrong dtype",
        "no reply",
    ):
        assert needle in reasons
    assert "rejected client" in caplog.text and "non-finite" in caplog.text
    assert res.participants == [5]
    assert all(np.isfinite(w).all() for w in res.weights)


def test_holdout_partition_cannot_train():
    spec = _spec(training={"rounds": 1})
    grid = LocalGrid(7)  # one node too many: partition 6 is a held-out client's rows
    res = run_server(grid, build_config(spec, "baseline"), None)
    assert res.rounds[0]["accepted"] == 6
    assert 6 not in res.participants
    assert "not a training client" in res.rejected[0]["reason"]


def test_run_writes_interface_keys_and_charges_ledger(tmp_path):
    raw = json.loads(json.dumps(TINY))
    raw["ledger"] = "${out}/ledger.sqlite"
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(raw))
    out = tmp_path / "run"
    res = run_federated(tmp_path / "spec.yaml", out)
    saved = json.loads((out / "results.json").read_text())
    assert saved["federated"]["rounds_completed"] == 3
    assert saved["federated"]["clients"] == 6
    assert saved["federated"]["secure_aggregation"] is False
    assert saved["federated"]["dropped_clients"] == 0
    assert saved["federated"]["bytes_per_client_per_round"] > 0
    assert saved["privacy"]["epsilon"] <= 4.0
    assert saved["privacy"]["unit"] == "client"
    assert 0 <= saved["utility"]["private"]["accuracy"] <= 1
    assert 0 <= saved["attacks"]["private"]["membership"]["loss"]["auc"] <= 1
    assert "baseline" in saved["utility"]
    html = (out / "report.html").read_text()
    for needle in ("Accuracy per round", "ε =", "Drop-outs", "bytes sent", "Membership"):
        assert needle in html
    assert res["budget"]["users_charged"] == 6 and res["budget"]["status"] == "committed"
    with Ledger(str(out / "ledger.sqlite")) as led:
        bal = led.balances([f"adult-silo-{i}" for i in range(6)])
        assert all(0 < b.epsilon_spent <= 4.0 + 1e-6 for b in bal.values())
        assert led.balance("adult-silo-6").epsilon_spent == 0  # a held-out client: never charged


def test_secure_aggregation_sum_matches(tmp_path):
    spec = _spec(secure_aggregation=True, training={"rounds": 1})
    res = run_server(LocalGrid(6), build_config(spec, "private"), make_plan(spec))
    assert res.rounds[0]["secagg_bytes_per_client"] > 0
    assert res.rounds[0]["accepted"] == 6


def test_spec_errors_name_the_field(tmp_path):
    bad = json.loads(json.dumps(TINY))
    bad["dp"]["target_epsilon"] = -1
    bad["data"]["partition"] = "zipf"
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(bad))
    with pytest.raises(SpecError) as err:
        load_spec(tmp_path / "s.yaml")
    assert "dp.target_epsilon: must be > 0" in str(err.value)
    assert "data.partition" in str(err.value)
