"""Secure aggregation against plain FedAvg, side by side: round time and bytes per client.

For each cohort size ``n`` every client holds a float32 update of ``--length`` parameters.

* **plain FedAvg**: each client serialises its float32 update; the server parses the ``n``
  messages and computes the example-weighted mean in float64 (as Flower's FedAvg does).
* **SecAgg+** (``privml.federated.secagg``): all five stages, in process, every message through
  its wire form; with no drop-outs and with 30% of the clients dropping after the key exchange
  (the costliest case: the server rebuilds their mask keys and regenerates their pairwise masks).

Time is CPU time (``time.process_time``), measured per party: each client's work (parse the
server's message, the protocol step, serialise the reply; summed over stages) and the server's
(all stages). Clients run in parallel in a deployment, so the round's compute time is
``server + mean client``; the table gives that, its ratio to plain FedAvg, and the total CPU of
all parties. Network time is not simulated. Bytes are message payloads (bytes, array buffers, 8
per number; no transport framing) sent plus received per client during aggregation; the model
download, identical in both, is left out (which makes the SecAgg ratio larger, not smaller).
Medians over ``--repeats`` runs, after a warm-up round.

    .venv/bin/python benchmarks/secagg_round.py                  # n = 10 and 100, 100k params
    .venv/bin/python benchmarks/secagg_round.py --clients 100 --degree 60 --threshold 31
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import statistics
import time

import numpy as np

from privml.federated.secagg import SecAggConfig, payload_bytes, simulate_round


def plain_fedavg(vectors: list[np.ndarray]) -> dict[str, float]:
    """One plain FedAvg aggregation: per-client and server CPU seconds, bytes per client."""
    client_s, messages = [], []
    for v in vectors:
        start = time.process_time()
        messages.append({"update": np.asarray(v, dtype=np.float32).copy(), "num_examples": 1})
        client_s.append(time.process_time() - start)
    start = time.process_time()
    total, weight = np.zeros(vectors[0].size, dtype=np.float64), 0
    for m in messages:
        total += m["num_examples"] * m["update"]
        weight += m["num_examples"]
    total /= weight
    server_s = time.process_time() - start
    return {
        "server_s": server_s,
        "client_s": statistics.fmean(client_s),
        "total_cpu_s": server_s + sum(client_s),
        "bytes_per_client": statistics.fmean(payload_bytes(m) for m in messages),
    }


def secagg(
    vectors: list[np.ndarray], dropout: float, degree: int | None, threshold: int | None
) -> dict[str, float]:
    """One SecAgg+ round with ``dropout`` of the clients gone after the key exchange."""
    n = len(vectors)
    config = SecAggConfig.create(
        list(range(n)), vectors[0].size, degree=degree, threshold=threshold
    )
    dropped = set(secrets.SystemRandom().sample(range(n), round(dropout * n)))
    result = simulate_round(vectors, dropout_after_keys=dropped, config=config)
    stats, live = result.stats, result.survivors
    server_s = stats.total_server_seconds()
    clients_s = [sum(stats.client_seconds[c].values()) for c in stats.client_seconds]
    return {
        "server_s": server_s,
        "client_s": stats.mean_client_seconds(live),
        "total_cpu_s": server_s + sum(clients_s),
        "bytes_per_client": stats.mean_client_bytes(live),
        "degree": config.degree,
        "threshold": config.threshold,
        "dropped": len(dropped),
    }


def _median(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--length", type=int, default=100_000)
    parser.add_argument("--dropout", type=float, nargs="+", default=[0.0, 0.3])
    parser.add_argument("--degree", type=int, default=None, help="neighbours k (default: auto)")
    parser.add_argument("--threshold", type=int, default=None, help="Shamir t (default: auto)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", help="also write the numbers to this file")
    args = parser.parse_args()

    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}, NumPy {np.__version__}")  # fmt: skip
    secagg([np.zeros(1000, np.float32)] * 10, 0.3, None, None)  # warm-up (imports, caches)
    rows = []
    for n in args.clients:
        # the benchmark's own data; the protocol draws all its randomness from the OS CSPRNG
        rng = np.random.default_rng(n)
        vectors = [rng.uniform(-1, 1, args.length).astype(np.float32) for _ in range(n)]
        plain = _median([plain_fedavg(vectors) for _ in range(args.repeats)])
        for dropout in args.dropout:
            sec = _median(
                [secagg(vectors, dropout, args.degree, args.threshold) for _ in range(args.repeats)]
            )
            plain_round = plain["server_s"] + plain["client_s"]
            sec_round = sec["server_s"] + sec["client_s"]
            rows.append(
                {
                    "n": n,
                    "length": args.length,
                    "dropout": dropout,
                    "plain": plain,
                    "secagg": sec,
                    "round_time_ratio": sec_round / plain_round,
                    "total_cpu_ratio": sec["total_cpu_s"] / plain["total_cpu_s"],
                    "byte_ratio": sec["bytes_per_client"] / plain["bytes_per_client"],
                }
            )

    ms = 1000.0
    print("| n | dropped after keys | k, t | plain: server + client (ms) | SecAgg+: server + "
          "mean client (ms) | round-time ratio | total CPU plain / SecAgg+ (ms), ratio | "
          "bytes/client plain / SecAgg+ | byte ratio |")  # fmt: skip
    print("|---" * 9 + "|")
    for r in rows:
        p, s = r["plain"], r["secagg"]
        print(
            f"| {r['n']} | {s['dropped']:.0f} | {s['degree']:.0f}, {s['threshold']:.0f} "
            f"| {p['server_s'] * ms:.2f} + {p['client_s'] * ms:.3f} "
            f"| {s['server_s'] * ms:.1f} + {s['client_s'] * ms:.1f} "
            f"| {r['round_time_ratio']:.1f} "
            f"| {p['total_cpu_s'] * ms:.1f} / {s['total_cpu_s'] * ms:.0f}, "
            f"{r['total_cpu_ratio']:.0f} "
            f"| {p['bytes_per_client']:,.0f} / {s['bytes_per_client']:,.0f} "
            f"| {r['byte_ratio']:.3f} |"
        )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=2)


if __name__ == "__main__":
    main()
