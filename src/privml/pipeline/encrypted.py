"""Pipeline for ``task: encrypted``: HE inference as a service and MPC training, measured.

Orchestration only (the techniques are :mod:`privml.crypto.he` and :mod:`privml.crypto.mpc`):

- HE: for each model, train the HE-friendly version on the Adult training split, start the
  HE service on a loopback port, and predict the test rows through the real client (keys made
  and kept on the client, only public keys and ciphertexts sent). Compared with the same
  model's plaintext scores: largest error, label agreement, accuracy; plus the cost.
- MPC: write the parties' spec, start every party as its own process, and train the same
  recipe in plaintext on the pooled rows for comparison (``privml mpc launch``).

results.json and report.html say what each party or the server could see, the accuracy
against plaintext and the cost.
"""

from __future__ import annotations

import platform
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from privml import __version__, atomic
from privml.pipeline.encrypted_spec import EncryptedSpec, HESection, MPCSection
from privml.pipeline.progress import Reporter

HE_SERVER_SEES = (
    "The server holds the model, the CKKS parameters and the client's public, relinearization "
    "(and, for one-sample-per-ciphertext, Galois) keys; it receives only ciphertexts and "
    "returns encrypted scores. It never has the secret key (checked: every context the "
    "server stored reports no secret key), so it learns neither the features nor the scores; "
    "it does learn how many rows were sent. The client learns the scores, not the weights."
)
MPC_PARTIES_SEE = (
    "Each party sees its own rows, every party's row count, the agreed feature schema and "
    "recipe (as hashes), Shamir shares that are uniformly random on their own, and the final "
    "model, revealed at the end to the receiving parties. Nothing else is opened: not the "
    "other parties' rows, gradients or intermediate weights. Security: semi-honest parties, "
    "honest majority (any one of three parties alone learns nothing more)."
)


def run_he(section: HESection, seed: int, rep: Reporter) -> dict[str, Any]:
    """Encrypted inference through the loopback service for each model; the measurements."""
    import torch

    from privml.crypto.he.client import HEClient
    from privml.crypto.he.service import background_server, create_app
    from privml.crypto.he.train import train_model
    from privml.data.adult import load_adult

    torch.manual_seed(seed)
    train, test = load_adult("train"), load_adult("test")
    ntr = section.train_rows or len(train.y)
    nte = section.test_rows or len(test.y)
    X, y = test.X[:nte].astype(np.float64), test.y[:nte]
    out: dict[str, Any] = {}
    for kind in section.models:
        with rep.stage(f"HE inference ({kind}): train, serve, predict encrypted rows") as update:
            _, model = train_model(
                kind, train.X[:ntr], train.y[:ntr], train.feature_names, seed=seed
            )
            plain = model.plain_scores(X)
            app = create_app(model)
            with background_server(app) as url, HEClient(url) as client:
                res = client.predict(X)
                sessions = list(app.state.he.sessions.values())
            update(1, 1)
        secret_seen = any(s.context.is_private() for s in sessions)
        seconds = res.seconds
        per_sample = (seconds["encrypt"] + seconds["server"] + seconds["decrypt"]) / nte
        out[kind] = {
            "rows": nte,
            "params": app.state.he.params.to_dict(),
            "depth": model.depth,
            "max_abs_error": float(np.max(np.abs(res.scores - plain))),
            "label_agreement": float(np.mean((res.scores > 0) == (plain > 0))),
            "accuracy_plaintext": float(np.mean((plain > 0) == y)),
            "accuracy_encrypted": float(np.mean(res.labels == y)),
            "ms_per_sample": 1000 * per_sample,
            "seconds": {k: round(v, 3) for k, v in seconds.items()},
            "sizes": res.sizes,
            "server_saw_secret_key": secret_seen,
        }
    return out


def run_mpc(section: MPCSection, seed: int, out: Path, rep: Reporter) -> dict[str, Any]:
    """Every party as its own process, then the plaintext reference: the launch summary."""
    from privml.crypto.mpc.compare import launch_train
    from privml.data.adult import COLUMNS

    n = section.rows_per_party
    spec = {
        "name": "pipeline-mpc",
        "parties": [f"adult:train[{i * n}:{(i + 1) * n}]" for i in range(section.parties)],
        "schema": {"columns": list(COLUMNS)},
        "recipe": {**section.recipe.model_dump(), "seed": seed},
        "test": "adult:test",
        "timeout_s": section.timeout_s,
    }
    folder = out / "mpc"
    folder.mkdir(parents=True, exist_ok=True)
    path = atomic.write_text(folder / "spec.yaml", yaml.safe_dump(spec, sort_keys=False))
    with rep.stage(f"MPC training: {section.parties} party processes + plaintext") as update:
        summary = launch_train(path, folder / "run")
        update(1, 1)
    return summary


def run_encrypted(
    spec: EncryptedSpec, out: Path, *, quiet: bool = False, spec_label: str | None = None
) -> dict:
    """Run ``spec``; write results.json and report.html to ``out``; return the results."""
    from privml.report.encrypted_report import encrypted_verdict, write_encrypted_report

    rep = Reporter(quiet)
    start, started = time.perf_counter(), datetime.now(UTC).isoformat(timespec="seconds")
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "privml_version": __version__,
        "task": "encrypted",
        "run": {"name": spec.name, "seed": spec.seed, "spec_path": spec_label or spec.name},
        "views": {},
    }
    if spec.he is not None:
        results["he"] = run_he(spec.he, spec.seed, rep)
        results["views"]["he_server"] = HE_SERVER_SEES
    if spec.mpc is not None:
        results["mpc"] = run_mpc(spec.mpc, spec.seed, out, rep)
        results["views"]["mpc_parties"] = MPC_PARTIES_SEE
    results["run"].update(
        started=started,
        seconds=round(time.perf_counter() - start, 1),
        machine=f"{platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}",
    )
    results["verdict"] = encrypted_verdict(results)
    atomic.write_json(out / "results.json", results)
    write_encrypted_report(results, out / "report.html")
    return results
