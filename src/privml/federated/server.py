"""The server's rounds, on any Flower ``Grid``: sample, aggregate, apply DP, evaluate.

The same function runs inside the Flower ServerApp of a real deployment (the SuperLink's grid)
and in privml's Ray-free simulation (:class:`privml.federated.simulate.LocalGrid`). Each round
Poisson-samples the clients and aggregates their updates either in the clear
(:mod:`.fedavg_round`) or, with ``secagg``, by SecAgg+ over Flower messages
(:mod:`.secagg_flower`), where the server sees only the survivors' sum. Central DP noise is then
added to that sum. A client that fails or misbehaves is rejected with a logged reason and the
round goes on with the others; a secure-aggregation round with too few clients left aborts
(logged, recorded under ``aborted``, the model unchanged) and the run goes on with a fresh cohort.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field

import numpy as np
from flwr.serverapp import Grid

from privml.csprng import secure_uniform
from privml.federated.dp import DPAggregator, DPPlan
from privml.federated.fedavg_round import fedavg_round
from privml.federated.protocol import RoundSum, flat, unflat
from privml.federated.secagg import SecAggAbort
from privml.federated.secagg_flower import secagg_round
from privml.federated.secagg_layout import plan_layout
from privml.federated.task_tabular import get_weights, set_weights
from privml.federated.tasks import task_for

log = logging.getLogger("privml.federated")

CLIENT_KEYS = (
    "seed",
    "clients",
    "holdout-clients",
    "partition",
    "alpha",
    "max-rows",
    "eval-rows",
    "architecture",
    "hidden",
    "local-epochs",
    "batch-size",
    "lr",
    "optimizer",
)
TASK_KEYS = ("dataset", "d-model", "layers", "heads", "context", "private-path", "tokenizer-path")


@dataclass
class ServerResult:
    """What a run produced: per-round records, rejections, the final weights."""

    rounds: list[dict] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)
    weights: list[np.ndarray] = field(default_factory=list)
    participants: list[int] = field(default_factory=list)  # partition ids that contributed
    initial: dict = field(default_factory=dict)
    nodes: int = 0
    final_clip_norm: float | None = None


def wait_for_nodes(grid: Grid, wanted: int, timeout: float) -> list[int]:
    """Node ids once ``wanted`` nodes are connected (or whatever is there at ``timeout``)."""
    end = time.monotonic() + timeout
    nodes = sorted(grid.get_node_ids())
    while len(nodes) < wanted and time.monotonic() < end:
        time.sleep(0.5)
        nodes = sorted(grid.get_node_ids())
    if len(nodes) < wanted:
        log.warning("only %d of %d nodes connected after %.0f s", len(nodes), wanted, timeout)
    return nodes


def client_config(cfg: dict, rnd: int, plan: DPPlan | None, agg, client_clip: bool) -> dict:
    """The round's flat config for the clients: task settings, clip norm, noise shares."""
    out = {k: cfg[k] for k in CLIENT_KEYS}
    out.update({k: cfg[k] for k in TASK_KEYS if k in cfg})  # the task's own settings
    out.update({"round": rnd, "client-clip": client_clip})
    c = agg.clip_norm if agg is not None else 0.0
    noise = bit_noise = 0.0
    if plan is not None and plan.noise == "distributed":
        m = math.sqrt(plan.noise_shares)
        noise = plan.update_noise_multiplier * c / m
        bit_noise = (plan.quantile_noise or 0.0) / m
    out.update({"clip-norm": float(c), "noise-std": noise, "bit-noise-std": bit_noise})
    return out


def _round(grid: Grid, cfg: dict, plan, agg, sampled: list[int], rnd: int, weights) -> RoundSum:
    """One round's aggregation: plain FedAvg messages, or SecAgg+ stages when ``secagg``."""
    secure = bool(cfg["secagg"])
    client_clip = plan is not None and (plan.noise == "distributed" or secure)
    round_cfg = client_config(cfg, rnd, plan, agg, client_clip)
    timeout = float(cfg["round-timeout"])
    if not secure:
        return fedavg_round(grid, sampled, rnd, round_cfg, weights, plan, agg, timeout)
    adaptive = plan is not None and plan.clipping == "adaptive"
    layout = plan_layout(sum(w.size for w in weights), round_cfg, plan is not None, adaptive)
    round_cfg.update(layout.to_config())
    return secagg_round(grid, sampled, rnd, round_cfg, weights, layout, timeout)


def run_server(grid: Grid, cfg: dict, plan: DPPlan | None) -> ServerResult:
    """``cfg['rounds']`` rounds of (DP-)FedAvg over the grid's nodes.

    Raises :class:`~privml.federated.secagg.SecAggAbort` if secure aggregation aborted every
    round (no model was trained); a single aborted round is recorded and the run goes on.
    """
    task = task_for(cfg)
    ds = task.dataset(cfg)
    model = task.model(cfg, ds)
    weights = get_weights(model)
    agg = DPAggregator(plan) if plan is not None else None
    nodes = wait_for_nodes(grid, int(cfg["clients"]), float(cfg["node-timeout"]))
    res = ServerResult(nodes=len(nodes), initial=task.evaluate(model, ds))
    log.info("%d nodes; initial accuracy %.4f", len(nodes), res.initial["accuracy"])
    q, momentum = float(cfg["sampling-rate"]), np.zeros(sum(w.size for w in weights))
    participants: set[int] = set()
    for rnd in range(1, int(cfg["rounds"]) + 1):
        t0 = time.perf_counter()
        draws = secure_uniform(len(nodes))
        sampled = [n for n, u in zip(nodes, draws, strict=True) if u < q]
        rs = _round(grid, cfg, plan, agg, sampled, rnd, weights)
        for r in rs.rejected:
            who = r["node"] if r.get("partition") is None else r["partition"]
            log.warning("round %d: rejected client %s: %s", rnd, who, r["reason"])
        if rs.aborted:
            log.error("round %d: %s; the model is unchanged this round", rnd, rs.aborted)
        clip_before = agg.clip_norm if agg is not None else None
        skipped = rs.aborted is not None or (
            plan is None and (len(rs.accepted) < int(cfg["min-clients"]) or rs.weight_sum <= 0)
        )
        if not skipped:
            total = rs.total
            mean = agg.aggregate(total, rs.bits, len(rs.accepted)) if agg else total / rs.weight_sum
            momentum = float(cfg["server-momentum"]) * momentum + mean
            weights = unflat(flat(weights) + float(cfg["server-lr"]) * momentum, weights)
            participants.update(a for a in rs.accepted if a >= 0)
        set_weights(model, weights)
        ev = task.evaluate(model, ds)
        rec = {
            "round": rnd,
            "sampled": len(sampled),
            "accepted": 0 if rs.aborted else len(rs.accepted),
            "dropped": len(sampled) if rs.aborted else len(rs.rejected),
            "skipped": skipped,
            "aborted": rs.aborted,
            "accuracy": ev["accuracy"],
            "loss": ev["loss"],
            "bytes_sent_per_client": rs.bytes_sent,
            "bytes_received_per_client": rs.bytes_received,
            "secagg_bytes_per_client": rs.bytes_secagg,
            "bytes_sent": rs.bytes_sent * len(sampled),
            "bytes_received": rs.bytes_received * len(sampled),
            "clip_norm": clip_before,
            "seconds": time.perf_counter() - t0,
        }
        res.rounds.append(rec)
        res.rejected.extend({"round": rnd, **r} for r in rs.rejected)
        log.info(
            "round %d: %d/%d accepted, accuracy %.4f",
            rnd,
            rec["accepted"],
            len(sampled),
            ev["accuracy"],
        )
    aborts = [r["aborted"] for r in res.rounds if r["aborted"]]
    if aborts and len(aborts) == len(res.rounds):
        raise SecAggAbort(
            f"secure aggregation aborted in all {len(aborts)} rounds, no model was trained; "
            f"last: {aborts[-1]}"
        )
    res.weights = weights
    res.participants = sorted(participants)
    res.final_clip_norm = agg.clip_norm if agg is not None else None
    return res
