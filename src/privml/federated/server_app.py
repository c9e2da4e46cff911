"""The Flower ServerApp of a deployment: runs the rounds, writes the outcome to a folder.

Run-config keys: ``plan-file`` (JSON written by ``privml fl deploy``: the flat run config and the
DP plan) and ``out-dir`` (where ``server.json`` and ``weights.npz`` go; the SuperLink's machine).
Results come back through that folder: ``privml fl deploy`` waits for ``done.json`` (or
``error.json``) there, then measures the model and writes results.json and the report. With
secure aggregation the same rounds run the SecAgg+ stages over this grid; a round that aborts
(too few clients left) is recorded in ``server.json``, and a run in which every round aborted
ends with ``error.json`` carrying the abort message.
"""

from __future__ import annotations

import json
import logging
import traceback
from pathlib import Path

from flwr.app import Context
from flwr.serverapp import Grid, ServerApp

from privml.atomic import write_json
from privml.federated.dp import DPPlan
from privml.federated.outcome import save_outcome
from privml.federated.server import run_server

app = ServerApp()


def load_plan(path: str | Path) -> tuple[dict, DPPlan | None]:
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    plan = raw.get("dp_plan")
    if plan is not None:
        plan = {k: v for k, v in plan.items() if k != "mechanism"}
        plan = DPPlan(**plan)
    return raw["config"], plan


@app.main()
def main(grid: Grid, context: Context) -> None:
    out = Path(str(context.run_config["out-dir"]))
    out.mkdir(parents=True, exist_ok=True)
    logging.getLogger("privml.federated").setLevel(logging.INFO)
    try:
        cfg, plan = load_plan(str(context.run_config["plan-file"]))
        res = run_server(grid, cfg, plan)
        save_outcome(res, out)
        write_json(out / "done.json", {"rounds": len(res.rounds)})
    except Exception as exc:  # the deploy command waits for done.json or this
        write_json(
            out / "error.json",
            {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()},
        )
        raise
