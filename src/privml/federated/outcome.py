"""A server run's outcome on disk (``server.json`` + ``weights.npz``) and back."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from privml.atomic import atomic_open, write_json
from privml.federated.server import ServerResult


def save_outcome(res: ServerResult, out: Path) -> None:
    with atomic_open(out / "weights.npz", "wb") as fh:
        np.savez(fh, *res.weights)
    write_json(
        out / "server.json",
        {
            "rounds": res.rounds,
            "rejected": res.rejected,
            "participants": res.participants,
            "initial": res.initial,
            "nodes": res.nodes,
            "final_clip_norm": res.final_clip_norm,
        },
    )


def load_outcome(out: Path) -> ServerResult:
    import json

    raw = json.loads((out / "server.json").read_text(encoding="utf-8"))
    with np.load(out / "weights.npz") as z:
        weights = [z[f"arr_{i}"] for i in range(len(z.files))]
    return ServerResult(
        rounds=raw["rounds"],
        rejected=raw["rejected"],
        weights=weights,
        participants=raw["participants"],
        initial=raw["initial"],
        nodes=raw["nodes"],
        final_clip_norm=raw["final_clip_norm"],
    )
