"""One plain (DP-)FedAvg round on a Flower ``Grid``: each sampled client gets the global model in
a ``train`` message and replies with its update in the clear; the server checks and sums them.

A reply that is an error (the client crashed), missing (timed out), malformed, wrongly shaped or
typed, or not finite is rejected with its reason and the round goes on with the others. With
central DP the server clips each update itself; under distributed noise the clients did.
"""

from __future__ import annotations

import numpy as np
from flwr.app import Message
from flwr.serverapp import Grid

from privml.federated.dp import DPAggregator, DPPlan, clip
from privml.federated.protocol import (
    TRAIN,
    RoundSum,
    check_reply,
    content_bytes,
    flat,
    train_content,
)


def fedavg_round(
    grid: Grid,
    sampled: list[int],
    rnd: int,
    round_cfg: dict,
    weights: list[np.ndarray],
    plan: DPPlan | None,
    agg: DPAggregator | None,
    timeout: float,
) -> RoundSum:
    """Send the model to ``sampled``, collect and check the updates, return their sum."""
    shapes = [w.shape for w in weights]
    client_clip = bool(round_cfg["client-clip"])
    content = train_content(weights, round_cfg)
    sent = content_bytes(content)
    msgs = [Message(content, n, TRAIN, group_id=str(rnd)) for n in sampled]
    got = {m.metadata.src_node_id: m for m in grid.send_and_receive(msgs, timeout=timeout)}
    rs = RoundSum(total=np.zeros(sum(w.size for w in weights)), bytes_sent=float(sent))
    received: list[int] = []
    for node in sampled:
        msg = got.get(node)
        if msg is None:
            rs.rejected.append({"node": node, "reason": "no reply (crashed, offline or timed out)"})
            continue
        received.append(content_bytes(msg.content) if msg.has_content() else 0)
        update, metrics, reason = check_reply(msg, shapes, need_bit=client_clip)
        pid = metrics.get("partition-id")
        if reason is None and pid is not None and not 0 <= int(pid) < int(round_cfg["clients"]):
            reason = f"partition-id {pid} is not a training client"
        if reason is not None:
            rs.rejected.append({"node": node, "partition": pid, "reason": reason})
            continue
        vec = flat(update)
        if plan is None:
            n = float(metrics["num-examples"])
            rs.total += n * vec
            rs.weight_sum += n
        elif client_clip:
            rs.total += vec
            rs.bits += float(metrics["clip-bit"])
        else:
            assert agg is not None
            clipped, norm = clip(vec, agg.clip_norm)
            rs.total += clipped
            rs.bits += (1.0 if norm <= agg.clip_norm else 0.0) - 0.5
        rs.accepted.append(int(pid) if pid is not None else -1)
    rs.bytes_received = float(np.mean(received)) if received else 0.0
    return rs
