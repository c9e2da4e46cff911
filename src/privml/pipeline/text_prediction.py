"""The private text-prediction pipeline, end to end.

Orchestration only: every step is a call into a technique package (data, scrub, model, dp,
accounting, attacks, report). Stages:

1. read the private corpus and split users into training and held-out users;
2. scrub PII (when any variant asks for it);
3. train the tokenizer and pre-train the model on the PUBLIC corpus (the public-only model);
4. fine-tune one copy per variant: baseline (no mitigation), private (all enabled mitigations)
   and, on request, dp_only and scrub_only;
5. measure utility and run the same attacks on every variant;
6. write results.json, report.html and the run log, after checking that no artifact holds a
   planted secret.
"""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch

from privml import __version__, atomic
from privml.data.records import read_records
from privml.governance.requirements import review_section
from privml.model.encoding import encode_packed, encode_units
from privml.model.evaluate import lm_utility
from privml.model.gpt import GPTConfig, TinyGPT
from privml.model.public_corpus import public_lines
from privml.model.tokenizer import PAD, save_tokenizer, train_tokenizer
from privml.pipeline import budget
from privml.pipeline.attack_suite import attack_variant, load_canaries
from privml.pipeline.dp_vocab import extend_with_dp_vocab
from privml.pipeline.progress import Reporter
from privml.pipeline.spec import RunSpec, enforce_threat_model, resolve_path
from privml.pipeline.text_corpus import (
    Corpus,
    scrub_corpus,
    scrubber_facts,
    scrubber_recall,
    split_users,
)
from privml.pipeline.text_finetune import dp_config, finetune, start_background, train_section
from privml.report.hygiene import planted_secrets, scan_artifacts, scan_text


def _save_model(model: TinyGPT, path: Path) -> None:
    with atomic.atomic_open(path, "wb") as fh:
        torch.save({"config": model.cfg.to_dict(), "state_dict": model.state_dict()}, fh)


def run_pipeline(
    spec: RunSpec,
    spec_dir: Path,
    out: Path,
    *,
    quiet: bool = False,
    skip_bad_rows: bool = False,
    spec_label: str | None = None,
) -> dict:
    """Run ``spec`` and write its artifacts to ``out``; return the results dict.

    ``spec_dir`` resolves the spec's relative paths; ``spec_label`` names the spec in the report.
    """
    requirements = enforce_threat_model(spec, spec_label or spec.name)  # refuse before any work
    rep = Reporter(quiet)
    start, started = time.perf_counter(), datetime.now(UTC).isoformat(timespec="seconds")
    torch.manual_seed(spec.seed)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    out.mkdir(parents=True, exist_ok=True)
    log: list[str] = []

    def mark(stage: str) -> None:
        log.append(f"{time.perf_counter() - start:8.1f}s  {stage}")
        rep.info(f"[bold]{stage}[/bold]")

    private = resolve_path(spec.data.private, spec_dir, out)
    labels = resolve_path(spec.data.pii_labels, spec_dir, out) if spec.data.pii_labels else None
    canary_path = resolve_path(spec.data.canaries, spec_dir, out) if spec.data.canaries else None
    read = read_records(
        private,
        skip_bad_rows=skip_bad_rows,
        text_field=spec.data.text_field,
        user_field=spec.data.user_field,
    )
    canaries = load_canaries(canary_path) if canary_path else []
    by_user: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(read.records):
        by_user[r.user_id].append(i)
    unknown = sorted({c.user_id for c in canaries} - set(by_user))
    if unknown:
        raise ValueError(f"{canary_path}: {len(unknown)} canary user_id(s) not in {private}")
    train_u, held_u = split_users(
        by_user, spec.data.heldout_fraction, {c.user_id for c in canaries}, spec.seed
    )
    if not held_u:
        raise ValueError(f"{private}: need at least 2 users to hold some out for evaluation")
    corpus = Corpus(read.records, train_u, held_u, dict(by_user), skipped=read.skipped)
    mark(
        f"Read {len(read.records)} records from {len(by_user)} users"
        + (f" (skipped {read.skipped} bad rows)" if read.skipped else "")
    )

    variants = spec.variant_settings()
    ledger_url = _ledger_url(spec, spec_dir, out)
    charge, dp_setup, no_charge = _reserve_budget(spec, corpus, variants, ledger_url)
    if charge is not None:
        mark(f"Reserved the private model's budget for {len(charge.users)} people")
    begun: set[str] = set()  # variants whose training began: settles the reservation on failure
    try:
        results = _train_and_measure(
            spec, corpus, variants, dp_setup, canaries, labels, out, rep, mark, begun, ledger_url
        )
    except BaseException:
        budget.settle(charge, trained="private" in begun, failed=True)
        budget.close(charge)
        raise
    budget.settle(charge, trained=True, failed=False)
    results["run"].update(spec_path=spec_label or spec.name, started=started)
    results["budget"] = budget.summary(charge, ledger_url, no_charge)
    budget.close(charge)
    results["review"] = review_section(spec, requirements, results)
    mark("Writing results and report")
    _finish(results, out, log, labels, canary_path, corpus.detected_values, start)
    return results


def _ledger_url(spec: RunSpec, spec_dir: Path, out: Path) -> str | None:
    if spec.ledger is None or "://" in spec.ledger:
        return spec.ledger
    return str(resolve_path(spec.ledger, spec_dir, out))


def _reserve_budget(spec: RunSpec, corpus: Corpus, variants: dict, url: str | None):
    """Fix the DP plan and reserve the shipped model's cost, before any training."""
    if not any(v["dp"] for v in variants.values()):
        return None, None, "no variant uses DP"
    if not variants.get("private", {}).get("dp"):
        reason = "the private variant uses no DP, so it has no per-person guarantee to charge"
        return None, dp_config(spec, corpus, None), reason
    ledger = budget.open_ledger(url)
    dp_setup = dp_config(spec, corpus, ledger.policy().delta)
    cfg, plan = dp_setup
    records = {u: len(corpus.by_user[u]) for u in corpus.train_users}
    charge = budget.reserve(
        ledger,
        budget.run_id(spec.name),
        spec.dp.unit,
        records,
        plan.noise_multiplier,
        plan.sampling_rate,
        plan.steps,
        cfg.delta,
    )
    return charge, dp_setup, ""


def _train_and_measure(
    spec, corpus, variants, dp_setup, canaries, labels, out, rep, mark, begun, ledger_url
) -> dict:
    """Pre-train on public text, fine-tune and attack every variant; the results dict."""
    if any(v["scrub"] for v in variants.values()):
        scrub_corpus(corpus, spec, rep)
        mark("Scrubbed PII")
    planted, recall = scrubber_recall(corpus, labels)

    public = public_lines(tuple(spec.data.public))
    tok = train_tokenizer(public, spec.model.vocab_size)
    dp_vocab: dict = {"enabled": False}
    if spec.model.dp_vocab.enabled:
        scrubbed = corpus.scrubbed is not None
        texts = {u: corpus.texts(corpus.by_user[u], scrubbed) for u in corpus.train_users}
        tok, dp_vocab = extend_with_dp_vocab(tok, texts, spec, ledger_url, spec.name)
        mark(f"DP vocabulary: added {dp_vocab['added']} words at ε={dp_vocab['epsilon']:g}")
    pad = tok.token_to_id(PAD)
    save_tokenizer(tok, out / "tokenizer.json")
    ctx = spec.model.context
    rows = encode_packed(tok, public, ctx)
    order = np.random.default_rng(spec.seed).permutation(len(rows))[: spec.data.public_max_rows]
    public_units = [torch.tensor([rows[i]]) for i in order]
    gcfg = GPTConfig(
        tok.get_vocab_size(), spec.model.d_model, spec.model.layers, spec.model.heads, ctx
    )
    base = TinyGPT(gcfg)
    pt = spec.model.pretrain
    pst = train_section(
        base, public_units, pt, spec.seed, "Pre-training on the public corpus", rep, pad
    )
    _save_model(base, out / "models" / "public_only.pt")
    mark("Pre-trained the public-only model")

    held_idx = [i for u in corpus.heldout_users for i in corpus.by_user[u]]
    eval_idx = _utility_sample(held_idx, spec.data.utility_max_messages, spec.seed)
    train_u, by_user = corpus.train_users, corpus.by_user
    pii_values = [(t, v) for v, t in planted_secrets(labels, None).items()]

    heldout: dict[bool, list[torch.Tensor]] = {}

    def heldout_units(scrub: bool) -> list[torch.Tensor]:
        """Held-out messages as each variant sees them, encoded once per preprocessing."""
        if scrub not in heldout:
            heldout[scrub] = encode_units(tok, [[t] for t in corpus.texts(eval_idx, scrub)], ctx)
        return heldout[scrub]

    utility = {"public_only": lm_utility(base, heldout_units(False), tok, pad)}
    training, attacks = {}, {}
    background: dict = {}
    threads = torch.get_num_threads()
    try:
        for n, (name, settings) in enumerate(variants.items()):
            if settings["dp"] and not background and name not in begun:
                background = start_background(variants, base, corpus, tok, spec, dp_setup, begun)
                if background:
                    torch.set_num_threads(1)  # one core here, one for the child
            begun.add(name)
            job = background.pop(name, None)
            model, training[name] = finetune(
                name, settings, base, corpus, tok, spec, rep, spec.seed + n, dp_setup, job
            )
            if job:
                torch.set_num_threads(threads)
            _save_model(model, out / "models" / f"{name}.pt")
            utility[name] = lm_utility(model, heldout_units(settings["scrub"]), tok, pad)
            attacks[name] = attack_variant(
                model,
                tok,
                corpus,
                settings["scrub"],
                canaries,
                spec,
                held_idx,
                rep,
                before=base,
                pii_values=pii_values,
            )
            mark(f"Trained and attacked variant {name}")
    finally:
        for job in background.values():
            job.close()
        torch.set_num_threads(threads)

    results = {
        "privml_version": __version__,
        "run": {"name": spec.name, "seed": spec.seed},
        "data": {
            "records": len(corpus.records),
            "users": len(by_user),
            "train_users": len(train_u),
            "heldout_users": len(corpus.heldout_users),
            "train_records": sum(len(corpus.by_user[u]) for u in train_u),
            "heldout_records": len(held_idx),
            "heldout_records_scored": len(eval_idx),
            "skipped_rows": corpus.skipped,
            "pii_found": corpus.pii_found,
            "pii_planted": planted,
            "scrubber_recall": recall,
            "scrubber": scrubber_facts(spec) if corpus.scrubbed is not None else {},
            "canaries": len(canaries),
        },
        "model": {
            "architecture": "tiny GPT (decoder-only transformer, untied embeddings)",
            "parameters": base.num_parameters(),
            "d_model": gcfg.d_model,
            "layers": gcfg.n_layers,
            "heads": gcfg.n_heads,
            "context": gcfg.context,
            "vocab_size": gcfg.vocab_size,
            "tokenizer": "word-level, one token per digit, trained on the public corpus only"
            + (", extended with a DP vocabulary" if dp_vocab["enabled"] else ""),
            "dp_vocabulary": dp_vocab,
        },
        "training": {
            "pretrain": {
                "epochs": pt.epochs,
                "steps": pst.steps,
                "seconds": round(pst.seconds, 1),
                "rows": len(public_units),
                "corpus": " + ".join(spec.data.public),
            },
            "variants": training,
        },
        "privacy": _privacy_summary(training),
        "utility": utility,
        "attacks": attacks,
    }
    return results


def _utility_sample(held_idx: list[int], cap: int | None, seed: int) -> list[int]:
    """The held-out messages utility is measured on: all, or a seeded sample of ``cap``
    (4,000 messages already pin accuracy to about +-0.3 points; scoring 12,000 costs minutes)."""
    if cap is None or len(held_idx) <= cap:
        return held_idx
    return sorted(np.random.default_rng([seed, 7]).choice(held_idx, cap, replace=False).tolist())


def _privacy_summary(training: dict) -> dict:
    for name in ("private", "dp_only"):
        t = training.get(name)
        if t and t["dp"]:
            keys = (
                "epsilon",
                "delta",
                "unit",
                "accountant",
                "epsilon_rdp",
                "target_epsilon",
                "noise_multiplier",
                "sampling_rate",
                "steps",
                "max_grad_norm",
                "privacy_units",
                "delta_rule",
                "accountant_note",
            )
            return {"variant": name, **{k: t[k] for k in keys}}
    return {"variant": None, "epsilon": None, "delta": None, "unit": "none", "accountant": None}


def _finish(results, out, log, labels, canary_path, detected, start) -> None:
    """Leak-check every artifact, then write results.json, report.html and run.log.

    Checkpoints and the tokenizer are already on disk and are scanned there; the log, results
    and report are scanned in memory before they are written.
    """
    from privml.report import make_verdict, render_report

    secrets = planted_secrets(labels, canary_path)
    for v in detected:
        secrets.setdefault(v, "DETECTED_PII")
    results["run"]["seconds"] = round(time.perf_counter() - start, 1)
    log_text = "\n".join(log) + "\n"
    files = [out / "tokenizer.json", *sorted((out / "models").glob("*.pt"))]
    hygiene = scan_artifacts(files, secrets, out)
    hygiene["leaks"] += scan_text("run.log", log_text, secrets)
    hygiene["artifacts_checked"] += 3  # run.log, results.json, report.html
    results["hygiene"] = {"leak_check": hygiene}

    def render() -> tuple[str, str]:
        hygiene["passed"] = not hygiene["leaks"]
        results["verdict"] = make_verdict(results)
        return json.dumps(results, indent=2, allow_nan=False) + "\n", render_report(results)

    results_text, html = render()
    late = scan_text("results.json", results_text, secrets) + scan_text(
        "report.html", html, secrets
    )
    if late:
        hygiene["leaks"] += late
        results_text, html = render()
    atomic.write_text(out / "run.log", log_text)
    atomic.write_text(out / "results.json", results_text)
    atomic.write_text(out / "report.html", html)
