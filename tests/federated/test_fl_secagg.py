"""Secure aggregation over Flower messages, through the in-process LocalGrid (the server code a
deployment runs): what the server receives reveals no client's update, the sum is right, 30%
drop-outs after the key exchange are survived, more abort the round cleanly with a message,
and a malformed masked vector is rejected with a logged reason."""

import json
import logging

import numpy as np
import pytest
from flwr.app import Message, RecordDict

from privml.federated import client_app as client_mod
from privml.federated import server as server_mod
from privml.federated.client_app import app as client_app
from privml.federated.client_app import train_update
from privml.federated.dp import DPAggregator
from privml.federated.protocol import flat
from privml.federated.runconfig import build_config, make_plan
from privml.federated.secagg import SecAggAbort
from privml.federated.secagg_layout import Layout
from privml.federated.secagg_wire import MASKED, SETUP, SHARE, UNMASK, payload_of, to_records
from privml.federated.server import client_config, run_server
from privml.federated.simulate import LocalGrid
from privml.federated.spec import spec_from_dict
from privml.federated.task_tabular import get_weights
from privml.federated.tasks import task_for

N = 10
SPEC = {
    "task": "federated",
    "name": "secagg",
    "data": {
        "clients": N,
        "holdout_clients": 2,
        "partition": "iid",
        "max_rows": 2400,
        "eval_rows": 500,
    },
    "model": {"architecture": "mlp", "hidden": [32]},  # 3,554 parameters
    "training": {"rounds": 1, "sampling_rate": 1.0, "server_momentum": 0.0},
    "dp": {"enabled": True, "target_epsilon": 4.0, "clip_norm": 0.5},
    "secure_aggregation": True,
    "baseline": False,
}


def _setup(rounds=1, **over):
    raw = json.loads(json.dumps(SPEC))
    raw["training"]["rounds"] = rounds
    for k, v in over.items():
        raw[k] = {**raw.get(k, {}), **v} if isinstance(v, dict) else v
    spec = spec_from_dict(raw)
    return build_config(spec, "private"), make_plan(spec)


def _true_updates(cfg, plan):
    """Every client's clipped update of round 1, recomputed from the same seed and config."""
    task = task_for(cfg)
    weights = get_weights(task.model(cfg, task.dataset(cfg)))
    agg = DPAggregator(plan) if plan is not None else None
    round_cfg = client_config(cfg, 1, plan, agg, client_clip=plan is not None)
    out = {}
    for pid in range(N):
        update, metrics = train_update(weights, round_cfg, pid)
        out[pid] = (flat(update), metrics)
    return out


class RecordingGrid(LocalGrid):
    """Records every message the server receives: (message type, source node, content)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.received: list[tuple[str, int, RecordDict | None]] = []

    def send_and_receive(self, messages, *, timeout=None):
        replies = list(super().send_and_receive(messages, timeout=timeout))
        for m in replies:
            content = m.content if m.has_content() else None
            self.received.append((m.metadata.message_type, m.metadata.src_node_id, content))
        return replies


@pytest.fixture
def sums(monkeypatch):
    """The RoundSum of every secure round: what the server unmasked."""
    got = []
    original = server_mod.secagg_round

    def spy(*args, **kwargs):
        rs = original(*args, **kwargs)
        got.append(rs)
        return rs

    monkeypatch.setattr(server_mod, "secagg_round", spy)
    return got


def _failing(stage, rounds=None, kind="raise"):
    """A client that fails at ``stage`` (in the given rounds), otherwise the real ClientApp."""

    def fn(msg, ctx):
        hit = msg.metadata.message_type == stage and (
            rounds is None or int(msg.metadata.group_id) in rounds
        )
        if hit and kind == "raise":
            raise RuntimeError("client crashed after the key exchange")
        if hit and kind == "offline":
            return None
        reply = client_app(msg, ctx)
        if hit and kind in ("short", "float"):
            masked = payload_of(reply.content)["masked"]
            bad = masked[:-5] if kind == "short" else masked.astype(np.float64)
            return Message(RecordDict(to_records({"masked": bad})), reply_to=msg)
        return reply

    return fn


def test_server_sees_only_masked_vectors_and_learns_the_sum(sums):
    cfg, plan = _setup()
    secrets_seen = []

    def spying_client(msg, ctx):  # client 0: note its secrets to look for them server-side
        reply = client_app(msg, ctx)
        if msg.metadata.message_type in (SETUP, SHARE):
            state = payload_of(ctx.state, "secagg-state")
            secrets_seen.extend(bytes(state[k]) for k in ("c_sk", "s_sk", "b") if state[k])
        return reply

    grid = RecordingGrid(N, clients={0: spying_client})
    res = run_server(grid, cfg, plan)
    assert res.rounds[0]["accepted"] == N and res.rounds[0]["aborted"] is None
    truth = _true_updates(cfg, plan)
    expected = sum(v for v, _ in truth.values())
    # the server's unmasked sum is the sum of the clipped updates, up to quantization
    (rs,) = sums
    assert np.abs(rs.total - expected).max() < 1e-6
    assert len(rs.accepted) == N
    # everything the server received: only the SecAgg stages, only engine messages
    assert {t for t, _, _ in grid.received} == {SETUP, SHARE, MASKED, UNMASK}
    updates = [v for v, _ in truth.values()]
    blob = b""
    masked_seen = 0
    for mtype, _, content in grid.received:
        assert content is not None
        assert set(content.metric_records) <= {"metrics"}
        for rec in content.metric_records.values():
            assert set(rec) == {"partition-id"}  # nothing derived from the data
        for rec in content.config_records.values():
            blob += b"".join(v for v in rec.values() if isinstance(v, bytes))
        for rec in content.array_records.values():
            for arr in rec.values():
                a = arr.numpy()
                blob += a.tobytes()
                if a.size < len(updates[0]):
                    continue
                assert mtype == MASKED
                masked_seen += 1
                x = a.astype(np.float64)[: len(updates[0])]
                for u in updates:
                    assert not np.allclose(x, u)
                    assert abs(np.corrcoef(x, u)[0, 1]) < 0.1
    assert masked_seen == N  # one masked vector per client, nothing else that large
    for u in updates:  # no client's update, in float32 or float64, inside any payload
        for dt in (np.float32, np.float64):
            assert u.astype(dt)[:8].tobytes() not in blob
    assert secrets_seen and not any(s in blob for s in secrets_seen)
    assert "secagg-state" not in grid._nodes[1000][1].state  # forgotten after unmask


def test_thirty_percent_fail_after_key_exchange_round_completes(sums, caplog):
    cfg, plan = _setup()
    failing = {2: _failing(MASKED), 5: _failing(MASKED), 7: _failing(MASKED, kind="offline")}
    with caplog.at_level(logging.WARNING, logger="privml.federated"):
        res = run_server(LocalGrid(N, clients=failing), cfg, plan)
    rec = res.rounds[0]
    assert rec["aborted"] is None and not rec["skipped"]
    assert rec["accepted"] == 7 and rec["dropped"] == 3
    truth = _true_updates(cfg, plan)
    survivors = [p for p in range(N) if p not in failing]
    expected = sum(truth[p][0] for p in survivors)
    (rs,) = sums
    assert sorted(rs.accepted) == survivors
    assert np.abs(rs.total - expected).max() < 1e-6
    reasons = " | ".join(r["reason"] for r in res.rejected)
    assert "masked-input: client error" in reasons and "client crashed" in reasons
    assert "masked-input: no reply" in reasons
    assert res.participants == survivors
    assert "rejected client" in caplog.text


def test_more_than_thirty_percent_fail_aborts_the_round_with_a_message(caplog):
    cfg, plan = _setup(rounds=2)
    failing = {p: _failing(MASKED, rounds={1}) for p in (1, 3, 4, 8)}  # 4 of 10, round 1 only
    with caplog.at_level(logging.WARNING, logger="privml.federated"):
        res = run_server(LocalGrid(N, clients=failing), cfg, plan)
    first, second = res.rounds
    assert first["skipped"] and first["accepted"] == 0
    assert first["aborted"].startswith("secure aggregation aborted: 6 of 10 clients left")
    assert "below the threshold 7" in first["aborted"]
    assert "secure aggregation aborted" in caplog.text
    assert second["aborted"] is None and second["accepted"] == N  # the run went on
    # every round aborted: the run stops with the engine's message
    cfg1, plan1 = _setup(rounds=1)
    with pytest.raises(SecAggAbort, match="aborted in all 1 rounds.*below the threshold 7"):
        run_server(LocalGrid(N, clients=failing), cfg1, plan1)


def test_malformed_masked_vector_is_rejected_with_a_reason(sums, caplog):
    cfg, plan = _setup()
    bad = {4: _failing(MASKED, kind="short"), 6: _failing(MASKED, kind="float")}
    with caplog.at_level(logging.WARNING, logger="privml.federated"):
        res = run_server(LocalGrid(N, clients=bad), cfg, plan)
    assert res.rounds[0]["accepted"] == 8 and res.rounds[0]["aborted"] is None
    reasons = {r["partition"]: r["reason"] for r in res.rejected}
    assert "masked-input: rejected: masked: expected 3554 values of uint32" in reasons[4]
    assert "masked-input: malformed reply: masked: expected a 1-d uint32/uint64" in reasons[6]
    assert "expected 3554 values" in caplog.text and "malformed reply" in caplog.text
    truth = _true_updates(cfg, plan)
    expected = sum(truth[p][0] for p in range(N) if p not in bad)
    assert np.abs(sums[0].total - expected).max() < 1e-6


def test_client_refuses_to_mask_a_non_finite_update(monkeypatch, caplog):
    cfg, plan = _setup()
    real = client_mod.train_update

    def broken_for_3(weights, round_cfg, pid):
        update, metrics = real(weights, round_cfg, pid)
        if pid == 3:
            update[0][0, 0] = np.nan
        return update, metrics

    monkeypatch.setattr(client_mod, "train_update", broken_for_3)
    with caplog.at_level(logging.WARNING, logger="privml.federated"):
        res = run_server(LocalGrid(N), cfg, plan)
    assert res.rounds[0]["accepted"] == N - 1 and 3 not in res.participants
    (rej,) = res.rejected
    assert rej["partition"] == 3
    assert "masked-input: client error" in rej["reason"] and "NaN or infinity" in rej["reason"]


def test_without_dp_the_weighted_mean_is_computed_under_the_masks(sums):
    cfg, plan = _setup(dp={"enabled": False}, data={"partition": "dirichlet", "alpha": 0.5})
    assert plan is None and cfg["secagg"]
    res = run_server(LocalGrid(N), cfg, None)
    assert res.rounds[0]["accepted"] == N
    truth = _true_updates(cfg, None)
    counts = np.array([m["num-examples"] for _, m in truth.values()], dtype=float)
    w = counts / counts.mean()
    expected_mean = sum(wi * v for wi, (v, _) in zip(w, truth.values(), strict=True)) / w.sum()
    (rs,) = sums
    assert rs.weight_sum == pytest.approx(w.sum(), rel=1e-6)
    assert np.abs(rs.total / rs.weight_sum - expected_mean).max() < 1e-5


def test_adaptive_clipping_bits_travel_inside_the_sum(sums):
    dp = {"clipping": "adaptive", "noise": "distributed", "clip_norm": 0.05}
    cfg, plan = _setup(rounds=2, dp=dp)
    res = run_server(LocalGrid(N), cfg, plan)
    assert [r["accepted"] for r in res.rounds] == [N, N]
    assert sums[0].bits < 0  # updates larger than 0.05: most bits are -1/2 (plus noise)
    assert res.rounds[1]["clip_norm"] > res.rounds[0]["clip_norm"]  # C grows toward the median


def test_layout_round_trip():
    lay = Layout(4, 2.0, True, 0.0)
    v = lay.encode(np.array([0.1, -0.2, 0.3, 0.0]), weight=1.5)
    assert np.allclose(v, [0.15, -0.3, 0.45, 0.0, 1.5])
    total, wsum, bits = lay.decode(v + v)
    assert wsum == 3.0 and bits == 0.0 and np.allclose(total, [0.3, -0.6, 0.9, 0.0])
    lay = Layout(2, 1.0, False, 4.0)
    assert lay.length == 3
    assert lay.decode(lay.encode(np.array([0.5, 0.5]), bit=-0.5))[2] == -0.5
    with pytest.raises(ValueError, match="NaN or infinity"):
        lay.encode(np.array([np.nan, 0.0]))
