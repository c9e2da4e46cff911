"""Local end-to-end runs with a plaintext reference: MPC training next to pooled training.

Only a local simulation can do this comparison: it reads every party's slice, which no real
party could. The plaintext run pools the same rows in party order and runs the same recipe
(same hard sigmoid, batches, epochs, learning rate) in float64; both models are scored on the
same test rows. Bytes: the MPC side is the sum over parties of what each sent during input
and training (every byte sent is received once, so this is the total exchanged; connection
set-up and the metadata exchange are excluded); the plaintext side counts what pooling would
move, every non-central party's encoded rows (features, bias and label as float64) sent to
party 0. Time: the slowest party's secure phase (first input share to opened model) against
the plaintext gradient-descent loop.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from privml.atomic import write_json
from privml.crypto.mpc.launch import launch
from privml.crypto.mpc.recipe import accuracy, train_plain
from privml.crypto.mpc.spec import load_predict_spec, load_source, load_train_spec, resolve


def plain_reference(spec_path: str | Path) -> dict[str, Any]:
    """The spec's recipe trained in plaintext on the pooled slices (hard and exact sigmoid)."""
    spec = load_train_spec(spec_path)
    base = Path(spec_path).parent
    tables = [load_source(resolve(s, base), spec.schema_) for s in spec.parties]
    X = np.vstack([t.X for t in tables])
    y = np.concatenate([t.y for t in tables])
    t0 = time.perf_counter()
    w = train_plain(X, y, spec.recipe)
    seconds = time.perf_counter() - t0
    w_exact = train_plain(X, y, spec.recipe, sigmoid="exact")
    out: dict[str, Any] = {
        "weights": w.tolist(),
        "train_seconds": round(seconds, 4),
        "bytes_pooled": int(sum(len(t.y) * (t.X.shape[1] + 2) * 8 for t in tables[1:])),
        "train_accuracy": accuracy(w, X, y),
    }
    if spec.test:
        test = load_source(resolve(spec.test, base), spec.schema_)
        out["test_accuracy"] = accuracy(w, test.X, test.y)
        out["test_accuracy_exact_sigmoid"] = accuracy(w_exact, test.X, test.y)
    return out


def launch_train(spec_path: str | Path, out: str | Path) -> dict[str, Any]:
    """All parties locally, then the plaintext reference; writes ``out/summary.json``."""
    spec = load_train_spec(spec_path)
    out = Path(out)
    t0 = time.perf_counter()
    parties = launch("train", spec_path, out, m=len(spec.parties))
    wall = time.perf_counter() - t0
    plain = plain_reference(spec_path)
    receiver = (spec.reveal_to or [0])[0]
    first = parties[receiver]
    mpc: dict[str, Any] = {
        "train_seconds": max(p["train_seconds"] for p in parties),
        "input_seconds": max(p["input_seconds"] for p in parties),
        "wall_seconds_incl_startup": round(wall, 2),
        "bytes_sent_total": sum(p["bytes_sent"] for p in parties),
        "bytes_sent_per_party": [p["bytes_sent"] for p in parties],
        "steps": first["steps"],
        "rows_per_party": first["rows_per_party"],
        "features": first["features"],
    }
    if "test_accuracy" in first:
        mpc["test_accuracy"] = first["test_accuracy"]
    model = json.loads((out / f"party{receiver}" / "model.json").read_text(encoding="utf-8"))
    w_mpc = np.array([*model["weights"], model["bias"]])
    summary: dict[str, Any] = {
        "name": spec.name,
        "recipe": spec.recipe.model_dump(),
        "mpc": mpc,
        "plaintext": {k: v for k, v in plain.items() if k != "weights"},
        "max_abs_weight_difference": float(np.max(np.abs(w_mpc - np.array(plain["weights"])))),
    }
    if "test_accuracy" in mpc:
        summary["accuracy_gap_points"] = round(
            100 * abs(mpc["test_accuracy"] - plain["test_accuracy"]), 3
        )
    write_json(out / "summary.json", summary)
    return summary


def launch_predict(spec_path: str | Path, out: str | Path, m: int = 3) -> list[dict[str, Any]]:
    """All parties of a secure inference locally; returns each party's results."""
    load_predict_spec(spec_path)  # fail on a bad spec before starting anything
    return launch("predict", spec_path, out, m=m)
