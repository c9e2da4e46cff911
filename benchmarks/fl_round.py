"""A full federated round with secure aggregation (SecAgg+ over Flower messages) against plain
FedAvg: round time and bytes per client, at 10 and 100 clients, with ~100k parameters.

Both run ``privml.federated.server.run_server`` through the in-process ``LocalGrid`` (the
server code a deployment runs, ClientApps called in process): an MLP on Adult's 108 features
with one hidden layer of 900 units (99,902 parameters), every client sampled, 1 local epoch on
its own ~250 rows, DP-FedAvg with fixed clipping and central noise in both (the only
difference is how the updates reach the server: in the clear in one ``train`` message, or as
the four SecAgg+ stages). Medians over ``--rounds`` rounds after one warm-up round.

Time. ``LocalGrid`` calls the clients one after another, so the measured wall time of a round
(``sequential``) adds up every client's work; in a deployment the clients run in parallel, so
the table also gives ``parallel`` = server time + for each stage the slowest client's time
(each client call is timed). ``aggregation only`` removes local training and the server's
evaluation from both: what secure aggregation itself costs (client and server).

Bytes per client per round: serialized Flower records (array data and encoded config) sent
plus received by a client, over all stages; the model download (~400 kB) and the round config
are included on both sides, transport framing is not.

    .venv/bin/python benchmarks/fl_round.py                    # n = 10 and 100, 3 rounds
    .venv/bin/python benchmarks/fl_round.py --clients 10 --rounds 2
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import time
from collections import defaultdict

import numpy as np
import torch

from privml.federated import client_app as ca
from privml.federated import server as server_mod
from privml.federated.runconfig import build_config, make_plan
from privml.federated.simulate import NODE_ID_BASE, LocalGrid
from privml.federated.spec import spec_from_dict
from privml.federated.tasks import TabularTask

HOLDOUT = 2


class Timers:
    """Per round: client seconds by (stage, node), training and evaluation seconds."""

    def __init__(self) -> None:
        self.client: dict[int, dict[tuple[str, int], float]] = defaultdict(dict)
        self.train: dict[int, float] = defaultdict(float)
        self.train_by: dict[int, dict[tuple[str, int], float]] = defaultdict(dict)
        self.eval: list[float] = []
        self.stage = ("", 0, 0)

    def install(self, monkey: list) -> None:
        """Wrap training and evaluation with timers (undone by ``restore``)."""
        train, evaluate = ca.train_update, TabularTask.evaluate

        def timed_train(weights, cfg, pid):
            start = time.perf_counter()
            out = train(weights, cfg, pid)
            dt = time.perf_counter() - start
            mtype, rnd, node = self.stage
            self.train[rnd] += dt
            self.train_by[rnd][(mtype, node)] = dt
            return out

        def timed_eval(task, model, ds):
            start = time.perf_counter()
            out = evaluate(task, model, ds)
            self.eval.append(time.perf_counter() - start)
            return out

        ca.train_update = timed_train
        TabularTask.evaluate = timed_eval
        monkey.extend([(ca, "train_update", train), (TabularTask, "evaluate", evaluate)])

    def client_fn(self):
        def fn(msg, ctx):
            rnd, mtype = int(msg.metadata.group_id), msg.metadata.message_type
            self.stage = (mtype, rnd, ctx.node_id)
            start = time.perf_counter()
            reply = ca.app(msg, ctx)
            self.client[rnd][(mtype, ctx.node_id)] = time.perf_counter() - start
            return reply

        return fn


def config(n: int, secure: bool, rounds: int, hidden: int, rows: int) -> tuple[dict, object]:
    spec = spec_from_dict(
        {
            "task": "federated",
            "data": {
                "clients": n,
                "holdout_clients": HOLDOUT,
                "partition": "iid",
                "max_rows": rows * (n + HOLDOUT),
                "eval_rows": 1000,
            },
            "model": {"architecture": "mlp", "hidden": [hidden]},
            "training": {"rounds": rounds, "sampling_rate": 1.0, "server_momentum": 0.0},
            "dp": {"enabled": True, "target_epsilon": 8.0, "clip_norm": 0.5},
            "secure_aggregation": secure,
            "baseline": False,
        }
    )
    return build_config(spec, "private"), make_plan(spec)


def measure(n: int, secure: bool, args: argparse.Namespace) -> dict[str, float]:
    """Median per-round numbers over the rounds after the first."""
    cfg, plan = config(n, secure, args.rounds + 1, args.hidden, args.rows)
    timers, monkey = Timers(), []
    timers.install(monkey)
    try:
        fn = timers.client_fn()
        res = server_mod.run_server(LocalGrid(n, clients=dict.fromkeys(range(n), fn)), cfg, plan)
    finally:
        for obj, name, value in monkey:
            setattr(obj, name, value)
    rows = []
    for rec in res.rounds[1:]:
        rnd = rec["round"]
        assert rec["accepted"] == n and not rec["aborted"], rec
        calls = timers.client[rnd]
        clients_total = sum(calls.values())
        evaluation = timers.eval[rnd]  # eval[0] is the initial evaluation
        server_s = rec["seconds"] - clients_total
        by_stage: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for key, sec in calls.items():
            by_stage[key[0]].append((sec, sec - timers.train_by[rnd].get(key, 0.0)))
        slowest = sum(max(s for s, _ in v) for v in by_stage.values())
        slowest_agg = sum(max(a for _, a in v) for v in by_stage.values())
        rows.append(
            {
                "sequential_s": rec["seconds"],
                "server_s": server_s - evaluation,
                "train_s": timers.train[rnd],
                "parallel_s": server_s + slowest,
                "agg_sequential_s": rec["seconds"] - timers.train[rnd] - evaluation,
                "agg_parallel_s": server_s - evaluation + slowest_agg,
                "bytes": rec["bytes_sent_per_client"]
                + rec["bytes_received_per_client"]
                + rec["secagg_bytes_per_client"],
                "secagg_bytes": rec["secagg_bytes_per_client"],
            }
        )
    out = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    out["params"] = float(sum(w.size for w in res.weights))
    return out


def _trio(p: dict, s: dict, key: str) -> str:
    return f"{p[key]:.2f} / {s[key]:.2f} / {s[key] / p[key]:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--hidden", type=int, default=900, help="900: 99,902 parameters")
    parser.add_argument("--rows", type=int, default=250, help="rows per client")
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds (+1 warm-up)")
    parser.add_argument("--json", help="also write the numbers to this file")
    args = parser.parse_args()
    logging.getLogger("privml.federated").setLevel(logging.ERROR)
    torch.set_num_threads(1)
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, torch {torch.__version__}; "
        f"node ids from {NODE_ID_BASE}"
    )
    results = []
    for n in args.clients:
        plain, sec = measure(n, False, args), measure(n, True, args)
        results.append({"n": n, "plain": plain, "secagg": sec})
    head = (
        "| n | params | round, sequential (s): plain / SecAgg+ / ratio | round, parallel (s): "
        "plain / SecAgg+ / ratio | aggregation only, parallel (s): plain / SecAgg+ | "
        "bytes/client: plain / SecAgg+ / ratio |"
    )
    print(head)
    print("|---" * 6 + "|")
    for r in results:
        p, s = r["plain"], r["secagg"]
        print(
            f"| {r['n']} | {p['params']:,.0f} | {_trio(p, s, 'sequential_s')} "
            f"| {_trio(p, s, 'parallel_s')} "
            f"| {p['agg_parallel_s']:.3f} / {s['agg_parallel_s']:.3f} "
            f"| {p['bytes'] / 1e3:,.0f} kB / {s['bytes'] / 1e3:,.0f} kB / "
            f"{s['bytes'] / p['bytes']:.3f} |"
        )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"args": vars(args), "results": results}, fh, indent=2)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
