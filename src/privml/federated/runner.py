"""``privml fl simulate`` / ``privml fl deploy``: one federated run from spec to report.

1. Plan DP-FedAvg (calibrate z to the target ε) and reserve its cost in the budget ledger for
   every training client, before any client trains; refused runs touch no data.
2. Train the ``private`` variant (the spec's DP) and, if asked, the non-private ``baseline``,
   in simulation (in-process grid, no Ray) or on a local deployment (SuperLink + SuperNodes).
3. Commit the reservation once the private model exists (release it if training never started).
4. Measure: accuracy per round, membership inference (participating clients' rows vs held-out
   clients' rows), bytes and time per round; write results.json and report.html.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from privml.atomic import write_json
from privml.federated import measure
from privml.federated.dp import DPPlan
from privml.federated.outcome import load_outcome
from privml.federated.report import write_report
from privml.federated.results import build_results
from privml.federated.runconfig import build_config, make_plan
from privml.federated.server import ServerResult, run_server
from privml.federated.simulate import LocalGrid
from privml.federated.spec import FederatedSpec, load_spec
from privml.federated.tasks import task_for
from privml.governance import run_charge as budget

log = logging.getLogger("privml.federated")

Executor = Callable[[dict, "DPPlan | None", str], ServerResult]


def client_ids(spec: FederatedSpec, paths: dict | None = None) -> list[str]:
    """Ledger ids of the training clients: the corpus's user ids for text, else silo/user i."""
    if spec.data.dataset == "text" and paths:
        cfg = {**build_config(spec, "private"), **paths}
        return list(task_for(cfg).dataset(cfg).user_ids[: spec.data.clients])
    kind = "user" if spec.data.setting == "cross_device" else "silo"
    return [f"{spec.data.dataset}-{kind}-{i}" for i in range(spec.data.clients)]


def prepare_text(spec: FederatedSpec, out: Path) -> dict[str, str]:
    """Text task: the corpus (the demo corpus, generated, unless ``data.private``) and the
    public-only tokenizer, written once here and read by every client."""
    from privml.data.demo_corpus import generate_demo_corpus
    from privml.model.public_corpus import public_lines
    from privml.model.tokenizer import save_tokenizer, train_tokenizer

    corpus = spec.data.private
    if corpus is None:
        users = spec.data.clients + spec.data.holdout_clients
        corpus = str(generate_demo_corpus(out / "data", users=users, seed=spec.seed).corpus_path)
    tok = train_tokenizer(public_lines(), spec.data.vocab_size)
    tok_path = save_tokenizer(tok, out / "tokenizer.json")
    return {
        "private-path": str(Path(corpus).resolve()),
        "tokenizer-path": str(tok_path.resolve()),
    }


def simulate_executor(cfg: dict, plan: DPPlan | None, variant: str) -> ServerResult:
    return run_server(LocalGrid(int(cfg["clients"])), cfg, plan)


def deploy_executor(out: Path, supernodes: int, timeout: float) -> Executor:
    """Each variant is one ``flwr run`` on a fresh local SuperLink + SuperNodes."""
    from privml.federated import deploy

    def run(cfg: dict, plan: DPPlan | None, variant: str) -> ServerResult:
        folder = out / "deployment" / variant
        folder.mkdir(parents=True, exist_ok=True)
        plan_file = write_json(
            folder / "plan.json", {"config": cfg, "dp_plan": plan.to_dict() if plan else None}
        )
        app_dir = deploy.write_app(out / "deployment" / "flwr_app")
        result_dir = folder / "server"
        with deploy.LocalCluster(supernodes, folder) as cluster:
            cluster.submit(
                app_dir, {"plan-file": plan_file.resolve(), "out-dir": result_dir.resolve()}
            )
            deploy.wait_for(result_dir, cluster, timeout)
        return load_outcome(result_dir)

    return run


def run_federated(
    spec_path: str | Path,
    out: str | Path,
    *,
    executor: Executor | None = None,
    progress: Callable[[str], None] = lambda s: None,
) -> dict:
    """Run the spec; write results.json and report.html to ``out``; return the results."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    spec = load_spec(spec_path, out)
    executor = executor or simulate_executor
    t_start = time.perf_counter()
    paths: dict[str, str] = {}
    if spec.data.dataset == "text":
        progress("Preparing the corpus and the public-only tokenizer")
        paths = prepare_text(spec, out)
    charge, plan = None, None
    if spec.dp.enabled:
        ledger = budget.open_ledger(spec.ledger)
        policy_delta = ledger.policy().delta
        progress("Calibrating DP-FedAvg noise")
        plan = make_plan(spec, policy_delta)
        rid = budget.run_id(spec.name)
        ids = client_ids(spec, paths)
        charge = budget.RunCharge(ledger, rid, spec.unit, ids, plan.mechanism())
        progress(f"Reserving ε = {plan.epsilon:.2f} for {len(ids)} clients in the ledger")
        charge.reservation = ledger.reserve(
            rid,
            ids,
            plan.mechanism(),
            unit="user",
            reason=f"privml fl: DP-FedAvg, {spec.unit}-level",
        )
        charge.status = "reserved"
    outcomes: dict[str, ServerResult] = {}
    configs: dict[str, dict] = {}
    trained = False
    try:
        variants = ["private"] + (["baseline"] if spec.baseline else [])
        for variant in variants:
            cfg = {**build_config(spec, variant), **paths}
            configs[variant] = cfg
            progress(f"Training {variant} ({cfg['rounds']} rounds, {cfg['clients']} clients)")
            started = time.perf_counter()
            outcomes[variant] = executor(cfg, plan if variant == "private" else None, variant)
            outcomes[variant].initial["seconds"] = time.perf_counter() - started
            trained = trained or variant == "private"
    except BaseException:
        budget.settle(charge, trained=trained, failed=True)
        budget.close(charge)
        raise
    budget.settle(charge, trained=True, failed=False)
    delta = plan.delta if plan else 1.0 / (10 * spec.data.clients)
    attacks = {}
    for variant, res in outcomes.items():
        progress(f"Membership inference on {variant}")
        attacks[variant] = measure.membership(
            res.weights, configs[variant], res.participants, delta
        )
    ledger_summary = budget.summary(charge, spec.ledger, "DP is off: no per-client guarantee")
    budget.close(charge)
    results = build_results(spec, plan, outcomes, attacks, ledger_summary)
    results["run"]["seconds"] = time.perf_counter() - t_start
    write_json(out / "results.json", results)
    write_report(results, out)
    progress(f"Wrote {out / 'results.json'} and {out / 'report.html'}")
    return results
