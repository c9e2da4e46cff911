"""One party of the secure training: input its slice, train jointly, reveal only the model.

Protocol (every party runs the same code, in lock-step over MPyC's connections):

1. Connect to the other parties (bounded by ``timeout_s``; the error names who is missing).
2. Exchange public metadata: schema hash, recipe hash, row count, feature count. Any
   disagreement aborts every party with a message naming the odd party out, before any data
   is shared.
3. Each party secret-shares its rows (features with a bias column, labels) as Shamir shares of
   fixed-point numbers (``SecFxp(bits, frac_bits)``), ``senders=`` itself.
4. Mini-batch gradient descent on the pooled shared rows (the recipe of ``recipe.py``) with
   MPyC's secure NumPy arrays: one secure matrix-vector product for the scores, two secure
   comparisons for the hard sigmoid, one product for the gradient, per batch.
5. Only the final weights are opened, to ``reveal_to`` (default: every party). Nothing else is
   ever opened.

Results: ``model.json`` (the revealed weights, for receivers) and ``results.json`` (timings,
bytes this party sent, public row counts and, with ``test:`` in the spec, the revealed model's
plaintext test accuracy), both written atomically.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from privml.atomic import write_json
from privml.crypto.mpc.recipe import accuracy, batches, with_bias
from privml.crypto.mpc.runtime import (
    Address,
    Mismatch,
    MPCError,
    bytes_sent,
    disagreement,
    make_runtime,
    session,
)
from privml.crypto.mpc.spec import (
    Table,
    TrainSpec,
    load_source,
    protocol_hash,
    resolve,
    schema_hash,
)


def train_party(
    spec: TrainSpec,
    pid: int,
    parties: list[Address],
    out: Path,
    base: Path | None = None,
) -> dict[str, Any]:
    """Run party ``pid``'s side of the secure training; write and return its results."""
    if len(parties) != len(spec.parties):
        raise MPCError(
            f"--parties: the spec gives data for {len(spec.parties)} parties, "
            f"--parties lists {len(parties)}"
        )
    if not 0 <= pid < len(parties):
        raise MPCError(f"--party: must be in [0, {len(parties)}), got {pid}")
    own = load_source(resolve(spec.parties[pid], base), spec.schema_)
    test = load_source(resolve(spec.test, base), spec.schema_) if spec.test else None
    rt = make_runtime(pid, parties)
    weights, stats = rt.run(session(rt, spec.timeout_s, _train(rt, spec, own)))
    results: dict[str, Any] = {
        "name": spec.name,
        "party": pid,
        "parties": [str(a) for a in parties],
        "security": f"semi-honest, honest majority (Shamir, threshold {rt.threshold} "
        f"of {len(parties)})",
        "recipe": spec.recipe.model_dump(),
        "schema_hash": schema_hash(spec.schema_),
        **stats,
        "model_revealed_to_me": weights is not None,
    }
    if weights is not None:
        model = {
            "schema": {"columns": list(spec.schema_.columns)},
            "schema_hash": results["schema_hash"],
            "feature_names": list(own.feature_names),
            "weights": [float(v) for v in weights[:-1]],
            "bias": float(weights[-1]),
        }
        write_json(out / "model.json", model)
        if test is not None:
            results["test_accuracy"] = accuracy(weights, test.X, test.y)
            results["test_rows"] = len(test.y)
    write_json(out / "results.json", results)
    return results


async def _train(rt: Any, spec: TrainSpec, own: Table) -> tuple[np.ndarray | None, dict[str, Any]]:
    recipe = spec.recipe
    X_own = with_bias(own.X)
    d = X_own.shape[1]
    meta = {
        "schema": schema_hash(spec.schema_),
        "protocol": protocol_hash(spec),
        "features": str(d),
        "rows": len(own.y),
    }
    info = await rt.transfer(meta)
    for key, what in (("schema", "feature schema"), ("protocol", "recipe"), ("features", "width")):
        message = disagreement([i[key] for i in info], what)
        if message:
            raise Mismatch(message)
    counts = [int(i["rows"]) for i in info]

    secfxp = rt.SecFxp(recipe.bits, recipe.frac_bits)
    t0, b0 = time.perf_counter(), bytes_sent(rt)
    xs, ys = [], []
    for j, n in enumerate(counts):
        mine = j == rt.pid
        X_j = X_own if mine else np.zeros((n, d))
        y_j = own.y if mine else np.zeros(n, dtype=np.int64)
        xs.append(rt.input(secfxp.array(X_j, integral=False), senders=j))
        ys.append(rt.input(secfxp.array(y_j, integral=True), senders=j))
    X = rt.np_vstack(xs)
    y = rt.np_concatenate(ys)
    await rt.barrier()
    t_input = time.perf_counter() - t0

    w = secfxp.array(np.zeros(d), integral=False)
    steps = 0
    for idx in batches(sum(counts), recipe):
        Xb, yb = X[idx], y[idx]
        u = Xb @ w
        lo, hi = u >= -2, u >= 2  # hard sigmoid: 0 below -2, 1 above 2, u/4 + 1/2 between
        s = hi + (lo - hi) * (u * 0.25 + 0.5)
        w = w - (Xb.T @ (s - yb)) * (recipe.learning_rate / len(idx))
        await rt.barrier()  # keep one step in flight: bounded memory, steady progress
        steps += 1
    weights = await rt.output(w, receivers=spec.reveal_to)
    stats = {
        "rows_per_party": counts,
        "features": d - 1,
        "steps": steps,
        "input_seconds": round(t_input, 3),
        "train_seconds": round(time.perf_counter() - t0, 3),
        "bytes_sent": bytes_sent(rt) - b0,
        "bytes_sent_incl_setup": bytes_sent(rt),
    }
    received = spec.reveal_to is None or rt.pid in spec.reveal_to
    return (np.asarray(weights, dtype=np.float64) if received else None), stats
