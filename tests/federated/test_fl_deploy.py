"""A real Flower deployment on loopback: flower-superlink and 3 flower-supernode processes,
a 2-round run submitted with `flwr run` with secure aggregation (the SecAgg+ stages as Flower
messages, each client's SecAgg state kept in its SuperNode's context between stages), results
back, every process stopped afterwards."""

import json
import os

import pytest
import yaml

from privml.federated import deploy
from privml.federated.runner import deploy_executor, run_federated

pytestmark = pytest.mark.slow  # ~1 min: each ClientApp round starts a fresh process

SPEC = {
    "task": "federated",
    "name": "loopback",
    "data": {
        "clients": 3,
        "holdout_clients": 2,
        "partition": "iid",
        "max_rows": 2000,
        "eval_rows": 1000,
    },
    "training": {"rounds": 2, "sampling_rate": 1.0, "server_momentum": 0.0, "round_timeout": 120},
    "dp": {"enabled": True, "target_epsilon": 4.0, "clip_norm": 0.5},
    "secure_aggregation": True,
    "baseline": False,
    "ledger": "${out}/ledger.sqlite",
}


def test_loopback_deployment(tmp_path, monkeypatch):
    started: list[deploy.LocalCluster] = []
    seen_pids: list[int] = []
    original = deploy.LocalCluster.start

    def start(self):
        started.append(self)
        return original(self)

    original_stop = deploy.LocalCluster.stop

    def stop(self, grace=10.0):
        seen_pids.extend(self.pids())
        original_stop(self, grace)

    monkeypatch.setattr(deploy.LocalCluster, "start", start)
    monkeypatch.setattr(deploy.LocalCluster, "stop", stop)
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(SPEC))
    out = tmp_path / "run"
    res = run_federated(tmp_path / "spec.yaml", out, executor=deploy_executor(out, 3, 240))

    assert len(started) == 1
    cluster = started[0]
    assert len(cluster.procs) == 4  # SuperLink + 3 SuperNodes, separate processes
    assert len({p.pid for p in cluster.procs} | {os.getpid()}) == 5
    saved = json.loads((out / "results.json").read_text())
    assert saved["federated"]["rounds_completed"] == 2
    rounds = saved["federated"]["variants"]["private"]["per_round"]
    assert [r["accepted"] for r in rounds] == [3, 3]
    assert all(r["aborted"] is None and r["secagg_bytes_per_client"] > 0 for r in rounds)
    assert saved["federated"]["secure_aggregation"] is True
    assert saved["privacy"]["epsilon"] <= 4.0
    assert res["budget"]["status"] == "committed"
    assert (out / "deployment" / "private" / "logs" / "superlink.log").exists()
    # every process the cluster started (and theirs: SuperExec, ServerApp, ClientApps) is gone
    assert seen_pids
    assert all(p.poll() is not None for p in cluster.procs)
    assert not [pid for pid in seen_pids if deploy._alive(pid)]
