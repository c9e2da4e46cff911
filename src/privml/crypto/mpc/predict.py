"""One party of the secure inference: the feature owner learns the labels, nobody else anything.

Roles: the *model owner* inputs the weights and bias of a ``model.json`` (from ``mpc train``),
the *feature owner* inputs its encoded rows, and the remaining parties (at least one: Shamir
with an honest majority needs three parties) only compute. The parties exchange the schema hash,
the feature count and the feature owner's row count (all public), then compute
``label = [w . x + b >= 0]`` on shares and open the labels to the feature owner only. The
scores are never opened: revealing them would let the feature owner solve for the weights
with ``d + 1`` queries; labels alone make that much harder (though not impossible, as with any
prediction API).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from privml.atomic import write_json
from privml.crypto.mpc.recipe import with_bias
from privml.crypto.mpc.runtime import (
    Address,
    Mismatch,
    MPCError,
    bytes_sent,
    disagreement,
    make_runtime,
    session,
)
from privml.crypto.mpc.spec import PredictSpec, load_source, resolve, schema_hash


def load_model(path: str | Path) -> dict[str, Any]:
    """A ``model.json`` written by ``mpc train``, checked for the fields inference needs."""
    try:
        model = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MPCError(f"model: file not found: {path}") from None
    except json.JSONDecodeError as exc:
        raise MPCError(f"model: {path} is not JSON ({exc.msg}, line {exc.lineno})") from None
    for key in ("schema_hash", "weights", "bias"):
        if key not in model:
            raise MPCError(f"model: {path} has no {key!r} field")
    return model


def predict_party(
    spec: PredictSpec, pid: int, parties: list[Address], out: Path, base: Path | None = None
) -> dict[str, Any]:
    """Run party ``pid``'s side of the secure inference; write and return its results."""
    m = len(parties)
    for field, value in (("model_owner", spec.model_owner), ("feature_owner", spec.feature_owner)):
        if value >= m:
            raise MPCError(f"{field}: must be < {m} (the number of parties), got {value}")
    role = {spec.model_owner: "model owner", spec.feature_owner: "feature owner"}.get(pid, "helper")
    expected = schema_hash(spec.schema_)
    secret: np.ndarray | None = None
    if role == "model owner":
        model = load_model(resolve(spec.model, base))
        if model["schema_hash"] != expected:
            raise MPCError("model: its schema hash differs from the spec's schema (other columns)")
        secret = np.array([*model["weights"], model["bias"]], dtype=np.float64)
    elif role == "feature owner":
        secret = with_bias(load_source(resolve(spec.features, base), spec.schema_).X)
    rt = make_runtime(pid, parties)
    labels, stats = rt.run(session(rt, spec.timeout_s, _predict(rt, spec, secret, expected)))
    results = {"name": spec.name, "party": pid, "role": role, **stats}
    if labels is not None:
        write_json(out / "predictions.json", {"labels": [int(v) for v in labels]})
        results["positives"] = int(np.sum(labels))
    write_json(out / "results.json", results)
    return results


async def _predict(
    rt: Any, spec: PredictSpec, secret: np.ndarray | None, expected: str
) -> tuple[np.ndarray | None, dict[str, Any]]:
    mo, fo = spec.model_owner, spec.feature_owner
    shape = None if secret is None else list(secret.shape)
    info = await rt.transfer({"schema": expected, "shape": shape})
    message = disagreement([i["schema"] for i in info], "feature schema")
    if message:
        raise Mismatch(message)
    (width,), (rows, d) = info[mo]["shape"], info[fo]["shape"]
    if width != d:
        raise Mismatch(f"width mismatch: the model has {width - 1} features, the rows {d - 1}")

    secfxp = rt.SecFxp(spec.bits, spec.frac_bits)
    t0, b0 = time.perf_counter(), bytes_sent(rt)
    w_in = secret if rt.pid == mo else np.zeros(d)
    x_in = secret if rt.pid == fo else np.zeros((rows, d))
    w = rt.input(secfxp.array(w_in, integral=False), senders=mo)
    X = rt.input(secfxp.array(x_in, integral=False), senders=fo)
    labels = await rt.output(X @ w >= 0, receivers=[fo])
    stats = {
        "rows": rows,
        "features": d - 1,
        "seconds": round(time.perf_counter() - t0, 3),
        "bytes_sent": bytes_sent(rt) - b0,
    }
    return (None if labels is None else np.rint(labels).astype(np.int64)), stats
