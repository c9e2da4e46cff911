"""The report "view": everything the HTML template shows, built as pre-formatted strings.

Only whitelisted keys are read from the results dict. That is deliberate: per-canary entries, leak
records and PII statistics may carry secret text next to the numbers, and the report must never
show it. Missing values render as "—". Charts are embedded as base64 PNG data URIs.
"""

from __future__ import annotations

import base64
import logging
import math
from collections.abc import Callable
from typing import Any

from privml.report import plots
from privml.report.formatting import (
    DASH,
    fmt_bool,
    fmt_change,
    fmt_float,
    fmt_g,
    fmt_int,
    fmt_pct,
    fmt_seconds,
    fmt_text,
)
from privml.report.verdict import dig, label, make_verdict, num

log = logging.getLogger(__name__)

VARIANT_DESCRIPTIONS = {
    "public_only": "pre-trained on public text only; never saw the private data",
    "baseline": "fine-tuned on the raw private data, no protection",
    "private": "scrubbed data + differentially private training (the model to ship)",
    "dp_only": "differentially private training on unscrubbed data (ablation)",
    "scrub_only": "scrubbed data, ordinary training (ablation)",
}
UNIT_EXPLANATIONS = {
    "user": "each user's whole contribution is protected",
    "example": (
        "each single message is protected; a user with many messages is protected less "
        "(group privacy)"
    ),
}
ACCOUNTANT_NAMES = {
    "prv": "PRV (privacy random variables; numerically tight)",
    "rdp": "RDP (Rényi differential privacy)",
    "pld": "PLD (privacy loss distributions; numerically tight)",
    "gdp": "GDP (Gaussian differential privacy)",
    "composition": "advanced composition of (ε, δ) releases (a looser upper bound)",
}
STATUS_TEXT = {
    "pass": "PASS",
    "warn": "PASS WITH WARNINGS",
    "fail": "FAIL",
}


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _formatted(source: dict, **formatters: Callable[[Any], str]) -> dict[str, str]:
    """``source[key]`` through its formatter, for each ``key=formatter`` (missing -> "—")."""
    return {key: fmt(source.get(key)) for key, fmt in formatters.items()}


# --- sections ---------------------------------------------------------------------------------


def _data_view(results: dict) -> dict:
    data = _dict(results.get("data"))
    found = _dict(data.get("pii_found"))
    planted = _dict(data.get("pii_planted"))
    recall = _dict(data.get("scrubber_recall"))
    evaluated = _dict(_dict(data.get("scrubber")).get("evaluated_recall"))
    types: list[str] = []
    for source in (found, planted, recall, evaluated):
        for key in source:
            if key not in types:
                types.append(key)
    pii_rows = [
        {
            "type": fmt_text(t),
            "found": fmt_int(found.get(t)),
            "planted": fmt_int(planted.get(t)),
            "recall": fmt_pct(recall.get(t)),
            "evaluated": fmt_pct(evaluated.get(t)),
        }
        for t in types
    ]
    total = [num(v) for v in found.values()]
    return {
        "present": bool(data),
        **_formatted(
            data,
            records=fmt_int,
            users=fmt_int,
            train_users=fmt_int,
            heldout_users=fmt_int,
            train_records=fmt_int,
            heldout_records=fmt_int,
            heldout_records_scored=fmt_int,
            skipped_rows=fmt_int,
            canaries=fmt_int,
        ),
        "pii_rows": pii_rows,
        "pii_total": fmt_int(sum(v for v in total if v is not None)) if found else DASH,
        "has_planted": bool(planted),
        "has_recall": bool(recall),
        "has_evaluated": bool(evaluated),
        "scrubber_ner": bool(_dict(data.get("scrubber")).get("ner")),
    }


def _model_view(results: dict) -> dict:
    model = _dict(results.get("model"))
    rows = [
        ("Architecture", fmt_text(model.get("architecture"))),
        ("Parameters", fmt_int(model.get("parameters"))),
        ("Model width (d_model)", fmt_int(model.get("d_model"))),
        ("Layers", fmt_int(model.get("layers"))),
        ("Attention heads", fmt_int(model.get("heads"))),
        ("Context (tokens)", fmt_int(model.get("context"))),
        ("Vocabulary size", fmt_int(model.get("vocab_size"))),
        ("Tokenizer", fmt_text(model.get("tokenizer"))),
    ]
    vocab = _dict(model.get("dp_vocabulary"))
    if vocab.get("enabled"):
        rows.append(
            (
                "DP vocabulary",
                f"{fmt_int(vocab.get('added'))} words added to the public vocabulary "
                f"({fmt_int(vocab.get('released'))} released by {fmt_text(vocab.get('algorithm'))}"
                f" at ε = {fmt_g(vocab.get('epsilon'))}, δ = {fmt_g(vocab.get('delta'))}, "
                f"at most {fmt_int(vocab.get('max_per_user'))} words per user; charged to "
                f"{fmt_int(vocab.get('users_charged'))} training users)",
            )
        )
    return {"present": bool(model), "rows": rows}


def _training_view(results: dict) -> dict:
    training = _dict(results.get("training"))
    pre = _dict(training.get("pretrain"))
    variants = _dict(training.get("variants"))
    rows = []
    for variant in plots.ordered_variants(variants):
        cfg = _dict(variants[variant])
        dp = cfg.get("dp")
        # clip norm and noise only mean something when DP is on
        dp_fields = _formatted(
            cfg if dp is not False else {},
            max_grad_norm=fmt_float,
            noise_multiplier=fmt_float,
            sampling_rate=fmt_g,
        )
        rows.append(
            {
                "name": label(variant),
                "description": VARIANT_DESCRIPTIONS.get(variant, ""),
                "scrub": fmt_bool(cfg.get("scrub")),
                "dp": fmt_bool(dp),
                **_formatted(cfg, epochs=fmt_int, steps=fmt_int, batch_size=fmt_int),
                **dp_fields,
                "seconds": fmt_seconds(cfg.get("seconds")),
            }
        )
    return {
        "pretrain_present": bool(pre),
        "pretrain": _formatted(
            pre, corpus=fmt_text, epochs=fmt_int, steps=fmt_int, seconds=fmt_seconds
        ),
        "rows": rows,
    }


def _privacy_view(results: dict) -> dict:
    p = _dict(results.get("privacy"))
    unit = p.get("unit")
    unit_text = fmt_text(unit)
    explanation = UNIT_EXPLANATIONS.get(unit) if isinstance(unit, str) else None
    accountant = p.get("accountant")
    acc_name = (
        ACCOUNTANT_NAMES.get(accountant.lower(), accountant)
        if isinstance(accountant, str)
        else DASH
    )
    eps, delta = num(p.get("epsilon")), num(p.get("delta"))
    variant = p.get("variant")
    note = p.get("accountant_note")
    # (eps, delta)-DP bounds every membership test on the protected unit: TPR <= e^eps * FPR + delta
    bounds = []
    if eps is not None and math.isfinite(eps) and eps < 50:
        for fpr, fpr_text in ((0.01, "1%"), (0.001, "0.1%")):
            bound = min(1.0, math.exp(eps) * fpr + (delta or 0.0))
            bounds.append({"fpr": fpr_text, "tpr": fmt_pct(bound)})
    return {
        "present": bool(p),
        "has_dp": eps is not None,
        "variant": label(variant) if isinstance(variant, str) and variant else None,
        "variant_is_private": variant in (None, "private"),
        "accountant_note": note if isinstance(note, str) and note else None,
        **_formatted(
            p, epsilon=fmt_float, delta=fmt_g, epsilon_rdp=fmt_float, target_epsilon=fmt_float
        ),
        "accountant": acc_name,
        "unit": unit_text,
        "unit_explanation": explanation,
        **_formatted(
            p,
            delta_rule=fmt_text,
            privacy_units=fmt_int,
            noise_multiplier=fmt_float,
            sampling_rate=fmt_g,
            steps=fmt_int,
            max_grad_norm=fmt_float,
        ),
        "tpr_bounds": bounds,
    }


def _budget_view(results: dict) -> dict:
    """The ledger balance of the people this run charged (aggregates only, never user ids)."""
    b = _dict(results.get("budget"))
    if not b.get("charged"):
        return {"charged": False, "reason": fmt_text(b.get("reason")) if b else None}
    pol = _dict(b.get("policy"))

    def stats(key: str) -> dict[str, str]:
        return _formatted(_dict(b.get(key)), min=fmt_float, median=fmt_float, max=fmt_float)

    return {
        "charged": True,
        **_formatted(
            b,
            ledger=fmt_text,
            run_id=fmt_text,
            status=fmt_text,
            unit=fmt_text,
            accountant=fmt_text,
            users_charged=fmt_int,
            group_charged_users=fmt_int,
            users_at_or_over_cap=fmt_int,
        ),
        **_formatted(pol, epsilon_cap=fmt_float, delta=fmt_g, window_days=fmt_int),
        "spent": stats("epsilon_spent"),
        "sum": stats("epsilon_sum"),
        "remaining": stats("remaining"),
        "example_level": b.get("unit") == "example",
        "notes": [fmt_text(n) for n in b.get("notes", []) if isinstance(n, str)],
    }


def _utility_view(results: dict) -> dict:
    utility = _dict(results.get("utility"))
    base = _dict(utility.get("baseline"))

    def change(u: dict, key: str, is_base: bool) -> str:
        return "reference" if is_base else fmt_change(u.get(key), base.get(key))

    rows = []
    for variant in plots.ordered_variants(utility):
        u = _dict(utility[variant])
        is_base = variant == "baseline"
        rows.append(
            {
                "name": label(variant),
                "description": VARIANT_DESCRIPTIONS.get(variant, ""),
                "accuracy": fmt_pct(u.get("next_word_accuracy")),
                "accuracy_change": change(u, "next_word_accuracy", is_base),
                "perplexity": fmt_float(u.get("perplexity"), 1),
                "perplexity_change": change(u, "perplexity", is_base),
            }
        )
    return {"present": bool(utility), "rows": rows}


def _attack_rows(attacks: dict, levels: list[int]) -> list[dict]:
    rows = []
    for variant in plots.ordered_variants(attacks):
        a = _dict(attacks[variant])
        exp = _dict(a.get("exposure"))
        ext = _dict(a.get("extraction"))
        mem = _dict(a.get("membership"))
        k, n = num(ext.get("secrets_extracted")), num(ext.get("secrets_total"))
        if k is None:
            extracted = DASH
        else:
            extracted = f"{k:.0f} / {n:.0f}" if n is not None else f"{k:.0f}"
        rows.append(
            {
                "name": label(variant),
                "means": [fmt_float(exp.get(f"mean_{r}"), 1) for r in levels],
                "max": fmt_float(exp.get("max"), 1),
                "log2_space": fmt_float(exp.get("log2_space"), 1),
                "extracted": extracted,
                "extracted_any": k is not None and k > 0,
                "auc": fmt_float(mem.get("auc"), 3),
                "tpr_1": fmt_pct(mem.get("tpr_at_1pct_fpr")),
                "tpr_01": fmt_pct(mem.get("tpr_at_0.1pct_fpr")),
                "balanced_accuracy": fmt_pct(mem.get("balanced_accuracy")),
                "members": fmt_int(mem.get("members")),
                "non_members": fmt_int(mem.get("non_members")),
            }
        )
    return rows


def _canary_table(attacks: dict) -> dict:
    """Canary id, repetitions, and per variant exposure / extracted. Never secret or prefix text."""
    variants = [
        v
        for v in plots.ordered_variants(attacks)
        if isinstance(dig(attacks, v, "exposure", "per_canary"), list)
        or isinstance(dig(attacks, v, "extraction", "per_canary"), list)
    ]
    canaries: dict[str, dict] = {}

    def entry(cid: str) -> dict:
        return canaries.setdefault(cid, {"repetitions": None, "cells": {}})

    for variant in variants:
        for kind in ("exposure", "extraction"):
            for item in dig(attacks, variant, kind, "per_canary") or []:
                if not isinstance(item, dict) or item.get("canary") is None:
                    continue
                cid = fmt_text(item.get("canary"))
                row = entry(cid)
                reps = num(item.get("repetitions"))
                if row["repetitions"] is None and reps is not None:
                    row["repetitions"] = reps
                cell = row["cells"].setdefault(
                    variant, {"exposure": DASH, "extracted": DASH, "leaked": False}
                )
                if kind == "exposure":
                    value = fmt_float(item.get("exposure"), 1)
                    method = item.get("method")
                    if value != DASH and isinstance(method, str) and method != "exact":
                        value = "≈" + value
                    cell["exposure"] = value
                else:
                    extracted = item.get("extracted")
                    text = fmt_bool(extracted, "yes", "no")
                    digits = num(item.get("digits_correct"))
                    if text == "no" and digits is not None:
                        text = f"no ({digits:.0f})"
                    cell["extracted"] = text
                    cell["leaked"] = extracted is True

    ordered = sorted(
        canaries.items(),
        key=lambda kv: (-(kv[1]["repetitions"] or 0), kv[0]),
    )
    rows = [
        {
            "canary": cid,
            "repetitions": fmt_int(row["repetitions"]),
            "cells": [
                row["cells"].get(v, {"exposure": DASH, "extracted": DASH, "leaked": False})
                for v in variants
            ],
        }
        for cid, row in ordered
    ]
    return {"variants": [label(v) for v in variants], "rows": rows}


def _log2_space(attacks: dict) -> float | None:
    for variant in plots.ordered_variants(attacks):
        value = num(dig(attacks, variant, "exposure", "log2_space"))
        if value is not None:
            return value
    return None


def chart(fn: Callable[..., bytes], *args: Any) -> dict:
    """A chart as a data URI; a drawing failure degrades to a note rather than losing the report."""
    try:
        png = fn(*args)
    except Exception as exc:  # noqa: BLE001 - the report must still be written
        log.warning("report chart %s failed: %r", fn.__name__, exc)
        return {"uri": None, "error": type(exc).__name__}
    return {"uri": "data:image/png;base64," + base64.b64encode(png).decode("ascii"), "error": None}


def _attacks_view(results: dict) -> dict:
    attacks = _dict(results.get("attacks"))
    curves = {}
    for variant in plots.ordered_variants(attacks):
        roc = dig(attacks, variant, "membership", "roc")
        if isinstance(roc, dict):
            curves[variant] = {
                "fpr": roc.get("fpr"),
                "tpr": roc.get("tpr"),
                "auc": dig(attacks, variant, "membership", "auc"),
            }
    space = _log2_space(attacks)
    levels = plots.repetition_levels(attacks)
    return {
        "present": bool(attacks),
        "levels": [f"{r}x" for r in levels],
        "rows": _attack_rows(attacks, levels),
        "log2_space": fmt_float(space, 1),
        "roc_chart": chart(plots.roc_plot_png, curves) if curves else None,
        "exposure_chart": chart(plots.exposure_chart_png, attacks, space) if attacks else None,
        "canaries": _canary_table(attacks),
    }


def _hygiene_view(results: dict) -> dict:
    leak = _dict(dig(results, "hygiene", "leak_check"))
    passed = leak.get("passed")
    leaks = leak.get("leaks")
    leak_rows = []
    if isinstance(leaks, list):
        # Only where and what kind: a leak record's value is the very text that must not spread.
        for item in leaks:
            item = _dict(item)
            where = next((item[k] for k in ("artifact", "path", "file") if k in item), None)
            kind = next((item[k] for k in ("kind", "type", "entity") if k in item), None)
            leak_rows.append({"artifact": fmt_text(where), "kind": fmt_text(kind)})
    return {
        "present": bool(leak),
        "passed": passed if isinstance(passed, bool) else None,
        **_formatted(leak, artifacts_checked=fmt_int, values_checked=fmt_int),
        "leak_count": fmt_int(len(leaks)) if isinstance(leaks, list) else DASH,
        "leaks": leak_rows,
    }


REVIEW_FIELDS = (
    ("adversary", "Adversary"),
    ("access", "Adversary's access"),
    ("data", "Data"),
    ("regulations", "Regulations"),
    ("release", "Release"),
)


def _review_view(results: dict) -> dict:
    """The privacy review: threat model, privacy unit, and requirement | source | evidence rows.

    The strings come from privml's own governance code (rule texts and figures), never from the
    training data; they are still read key by key and escaped like everything else.
    """
    review = _dict(results.get("review"))
    summary = _dict(review.get("summary"))
    rows = []
    for item in review.get("rows") if isinstance(review.get("rows"), list) else []:
        item = _dict(item)
        passed = item.get("passed")
        rows.append(
            {
                "requirement": fmt_text(item.get("requirement")),
                "because": fmt_text(item.get("because")),
                "source": fmt_text(item.get("source")),
                "evidence": fmt_text(item.get("evidence")),
                "passed": passed is True,
            }
        )
    failed = sum(not r["passed"] for r in rows)
    unit = dig(results, "privacy", "unit")
    return {
        "present": bool(review),
        "threat_model": [(name, fmt_text(summary.get(key))) for key, name in REVIEW_FIELDS],
        "unit": fmt_text(unit),
        "unit_explanation": UNIT_EXPLANATIONS.get(unit) if isinstance(unit, str) else None,
        "variant": label(fmt_text(review.get("evidence_variant"))),
        "rows": rows,
        "passed": review.get("passed") is True and not failed,
        "failed": failed,
    }


def _run_view(results: dict) -> dict:
    run = _dict(results.get("run"))
    return {
        **_formatted(
            run,
            name=fmt_text,
            spec_path=fmt_text,
            started=fmt_text,
            seconds=fmt_seconds,
            seed=fmt_text,
        ),
        "version": fmt_text(results.get("privml_version")),
    }


def build_view(results: dict) -> dict:
    """Everything the template shows, as pre-formatted strings (exposed for tests and tooling)."""
    results = results if isinstance(results, dict) else {}
    verdict = make_verdict(results)
    return {
        "verdict": {
            "status": verdict["status"],
            "status_text": STATUS_TEXT.get(verdict["status"], verdict["status"].upper()),
            "summary": verdict["summary"],
            "checks": verdict["checks"],
        },
        "run": _run_view(results),
        "data": _data_view(results),
        "model": _model_view(results),
        "training": _training_view(results),
        "privacy": _privacy_view(results),
        "budget": _budget_view(results),
        "utility": _utility_view(results),
        "utility_chart": (
            chart(plots.utility_chart_png, _dict(results.get("utility")))
            if _dict(results.get("utility"))
            else None
        ),
        "attacks": _attacks_view(results),
        "hygiene": _hygiene_view(results),
        "review": _review_view(results),
    }
