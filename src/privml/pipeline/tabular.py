"""The tabular scenario: an MLP on UCI Adult, non-private and DP-SGD at several ε, each measured
by the attack suite; plus property inference by poisoning. Orchestration only.

``run_tabular`` trains the targets, saves them to ``DIR/models/`` with an ``DIR/audit.yaml`` that
points at them, then measures; ``audit_tabular`` measures targets that are already trained.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
import yaml

from privml import __version__, atomic
from privml.data.adult import load_adult
from privml.pipeline import tabular_measure as measure
from privml.pipeline.progress import Reporter
from privml.pipeline.spec import resolve_path
from privml.pipeline.tabular_spec import TabularSpec
from privml.pipeline.tabular_targets import (
    Target,
    eps_name,
    load_target,
    save_target,
    target_names,
    train_target,
)


def _scenario(spec: TabularSpec) -> tuple[measure.Scenario, np.ndarray]:
    """The seeded membership pool from Adult's train split, and the test split."""
    train = load_adult("train")
    if spec.data.pool_size > len(train):
        raise ValueError(
            f"data.pool_size: must be <= {len(train)} (rows in Adult's train split), "
            f"got {spec.data.pool_size}"
        )
    rng = np.random.default_rng(spec.seed)  # data selection, not DP noise: seeded on purpose
    idx = np.sort(rng.choice(len(train), spec.data.pool_size, replace=False))
    pool = train.subset(idx)
    delta = spec.dp.delta or 1.0 / (10 * (len(pool) // 2))
    return measure.Scenario(pool=pool, test=load_adult("test"), delta=delta), idx


def _members(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed + 1)
    members = np.zeros(n, dtype=bool)
    members[rng.choice(n, n // 2, replace=False)] = True
    return members


class _Run:
    """Stage log and progress shared by run and audit."""

    def __init__(self, quiet: bool) -> None:
        self.rep = Reporter(quiet)
        self.start = time.perf_counter()
        self.started = datetime.now(UTC).isoformat(timespec="seconds")
        self.log: list[str] = []

    def mark(self, stage: str) -> None:
        self.log.append(f"{time.perf_counter() - self.start:8.1f}s  {stage}")
        self.rep.info(f"[bold]{stage}[/bold]")


def run_tabular(
    spec: TabularSpec, spec_dir: Path, out: Path, *, quiet: bool = False, spec_label: str = ""
) -> dict:
    """Train every target of ``spec``, save them, measure them; write results and report."""
    run = _Run(quiet)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    out.mkdir(parents=True, exist_ok=True)
    scenario, _ = _scenario(spec)
    members = _members(len(scenario.pool), spec.seed)
    run.mark(
        f"Adult: pool of {len(scenario.pool)} rows ({members.sum()} members), "
        f"{len(scenario.test)} test rows"
    )
    targets: dict[str, Target] = {}
    epsilons = [None, *spec.dp.epsilons]
    for i, (name, eps) in enumerate(zip(target_names(spec), epsilons, strict=True)):
        with run.rep.stage(f"Training target {name}") as update:
            t = train_target(
                name,
                spec,
                scenario.pool.X,
                scenario.pool.y,
                members,
                scenario.delta,
                seed=spec.seed + 10 * i,
                epsilon=eps,
                progress=update,
            )
        targets[name] = t
        save_target(t, out / "models" / f"{name}.pt")
        run.mark(f"Trained {name} in {t.seconds:.0f} s")
    _write_audit_spec(spec, out, list(targets))
    return _measure_and_write(spec, scenario, targets, out, run, spec_label)


def audit_tabular(
    spec: TabularSpec, spec_dir: Path, out: Path, *, quiet: bool = False, spec_label: str = ""
) -> dict:
    """Measure the already-trained targets listed under ``models:`` (no target is retrained)."""
    if not spec.models:
        raise ValueError(
            f"{spec_label or 'spec'}: models: required for privml audit "
            "(name -> checkpoint written by privml run, e.g. DIR/audit.yaml)"
        )
    run = _Run(quiet)
    out.mkdir(parents=True, exist_ok=True)
    scenario, _ = _scenario(spec)
    targets = {}
    for name, entry in spec.models.items():
        path = resolve_path(entry.path, spec_dir, out)
        t = load_target(path)
        if len(t.members) != len(scenario.pool) or t.in_features != scenario.pool.X.shape[1]:
            raise ValueError(
                f"{path}: trained on a pool of {len(t.members)} rows with {t.in_features} "
                f"features; the spec's pool has {len(scenario.pool)} rows and "
                f"{scenario.pool.X.shape[1]} features (use the spec the run wrote: audit.yaml)"
            )
        targets[name] = t
    run.mark(f"Loaded {len(targets)} trained target(s)")
    return _measure_and_write(spec, scenario, targets, out, run, spec_label)


def _write_audit_spec(spec: TabularSpec, out: Path, names: list[str]) -> None:
    raw = spec.model_dump(mode="json", exclude={"models", "output"})
    raw["models"] = {n: {"path": f"models/{n}.pt"} for n in names}
    text = (
        "# Written by `privml run`: measure these trained targets again with\n"
        "#   privml audit audit.yaml --out NEW_DIR\n" + yaml.safe_dump(raw, sort_keys=False)
    )
    atomic.write_text(out / "audit.yaml", text)


def _measure_and_write(spec, scenario, targets, out, run, spec_label) -> dict:
    pool, test = scenario.pool, scenario.test
    results: dict = {
        "task": "tabular",
        "run": {"name": spec.name, "seed": spec.seed, "version": __version__},
        "data": {
            "dataset": "UCI Adult (packaged)",
            "pool rows": len(pool),
            "features": int(pool.X.shape[1]),
            "test rows (utility, RMIA population)": len(test),
        },
        "models": {},
        "privacy": {},
        "utility": {},
        "attacks": {},
        "audit": {},
    }
    for i, (name, t) in enumerate(targets.items()):
        seed = spec.seed + 1000 + 10 * i
        k = spec.attacks.reference_models if t.dp is None else spec.attacks.dp_reference_models
        r = t.recipe
        results["models"][name] = {
            "architecture": t.architecture,
            "hidden": t.hidden,
            "members": int(t.members.sum()),
            "recipe_text": f"{r.epochs} epochs, batch {r.batch_size}, {r.optimizer} lr {r.lr:g}",
            "reference_models": k,
            "seconds": t.seconds,
        }
        if t.dp is not None:
            results["privacy"][name] = t.dp
        results["utility"][name] = {
            "accuracy": measure.accuracy(t.model, test.X, test.y),
            "train_accuracy": measure.accuracy(t.model, pool.X[t.members], pool.y[t.members]),
        }
        attack: dict = {}
        with run.rep.stage(f"Reference models for {name} ({k})") as update:
            attack["membership"] = measure.membership(
                t, scenario, list(spec.attacks.membership), k, seed, progress=update
            )
        if spec.attacks.attribute:
            attack["attribute"] = measure.attribute(t, scenario, spec.data.sensitive[0])
        results["attacks"][name] = attack
        run.mark(_attack_line(name, attack["membership"]))
        if spec.attacks.audit_canaries:
            results["audit"][name] = measure.one_run_audit(
                t, scenario, spec.attacks.audit_canaries, seed
            )
            run.mark(f"Audit {name}: ε ≥ {results['audit'][name]['epsilon_lower_bound']:.2f}")
    if spec.attacks.property_inference:
        with run.rep.stage("Property inference by poisoning"):
            results["property_inference"] = measure.property_inference(spec, scenario)
        run.mark("Property inference done")
    results["run"].update(
        spec_path=spec_label or spec.name,
        started=run.started,
        seconds=round(time.perf_counter() - run.start, 1),
    )
    _finish(results, out, run)
    return results


def _attack_line(name: str, membership: dict) -> str:
    parts = [
        f"{a} AUC {m['auc']:.3f} TPR@0.1% {m['tpr_at_0.1pct_fpr']:.4f}"
        for a, m in membership.items()
    ]
    return f"{name}: " + "; ".join(parts)


def _finish(results: dict, out: Path, run: _Run) -> None:
    from privml.report.tabular_report import make_tabular_verdict, render_tabular_report

    results["verdict"] = make_tabular_verdict(results)
    atomic.write_text(out / "run.log", "\n".join(run.log) + "\n")
    atomic.write_text(out / "results.json", json.dumps(results, indent=2, allow_nan=False) + "\n")
    atomic.write_text(out / "report.html", render_tabular_report(results))


__all__ = ["audit_tabular", "eps_name", "run_tabular"]
