"""The tabular sweep's report: verdict, view and HTML (one self-contained file).

The view reads whitelisted keys only and formats every value as a string, like the text report
(:mod:`privml.report.view`); the two share the stylesheet and the number formatting.
"""

from __future__ import annotations

from privml.report.formatting import fmt_float, fmt_g, fmt_int, fmt_pct, fmt_seconds, fmt_text
from privml.report.html import environment
from privml.report.tabular_plots import model_roc_png, privacy_utility_png
from privml.report.verdict import dig, num
from privml.report.view import STATUS_TEXT, chart

AUC_LIMIT_AT_EPS_1 = 0.55  # the bar: at ε = 1 no attack may reach AUC 0.55
LIRA_OVER_LOSS = 3.0  # LiRA's low-FPR advantage over the loss attack on an overfit model
CHANCE_TPR = 0.001  # a random guesser's TPR at 0.1% FPR
ATTACK_LABELS = {
    "loss": "loss threshold",
    "lira": "LiRA (online)",
    "lira_offline": "LiRA (offline)",
    "rmia": "RMIA",
}


def model_names(results: dict) -> list[str]:
    return list(dig(results, "models") or {})


def _check(name: str, passed: bool, detail: str, model: str, informational=False) -> dict:
    return {
        "name": name,
        "passed": bool(passed),
        "detail": detail,
        "variant": model,
        "informational": informational,
    }


def make_tabular_verdict(results: dict) -> dict:
    """Pass when no audit refutes a claimed ε and ε ≤ 1 targets hold every attack to AUC ≤ 0.55."""
    checks = []
    mem = dig(results, "attacks", "baseline", "membership") or {}
    lira = num(dig(mem, "lira", "tpr_at_0.1pct_fpr"))
    loss = num(dig(mem, "loss", "tpr_at_0.1pct_fpr"))
    if lira is not None and loss is not None:
        # Against chance (TPR = FPR = 0.1%) when the loss attack does no better than chance,
        # so a loss TPR of 0 does not make any LiRA result "infinitely" better.
        ratio = lira / max(loss, CHANCE_TPR)
        checks.append(
            _check(
                "LiRA beats the loss attack at 0.1% FPR on the baseline (attack strength)",
                ratio >= LIRA_OVER_LOSS,
                f"TPR {fmt_pct(lira)} vs {fmt_pct(loss)} (chance {fmt_pct(CHANCE_TPR)}): "
                f"{fmt_g(round(ratio, 1))}× the larger",
                "baseline",
                informational=True,
            )
        )
    for name in model_names(results):
        claimed = num(dig(results, "privacy", name, "epsilon"))
        if claimed is None:
            continue
        lb = num(dig(results, "audit", name, "epsilon_lower_bound"))
        if lb is not None:
            checks.append(
                _check(
                    f"audit lower bound below the claimed ε ({name})",
                    lb < claimed,
                    f"ε ≥ {fmt_float(lb)} measured vs ε = {fmt_float(claimed)} claimed",
                    name,
                )
            )
        membership = dig(results, "attacks", name, "membership") or {}
        aucs = [num(m.get("auc")) for m in membership.values() if isinstance(m, dict)]
        worst = max((v for v in aucs if v is not None), default=None)
        if worst is not None:
            checks.append(
                _check(
                    f"every membership attack AUC ≤ {AUC_LIMIT_AT_EPS_1} ({name})",
                    worst <= AUC_LIMIT_AT_EPS_1,
                    f"highest AUC {fmt_float(worst, 3)}",
                    name,
                    informational=claimed > 1.0 + 1e-9,
                )
            )
    failed = [c for c in checks if not c["informational"] and not c["passed"]]
    status = "fail" if failed else "pass"
    summary = _summary(results, failed)
    return {"status": status, "summary": summary, "checks": checks}


def _summary(results: dict, failed: list[dict]) -> str:
    names = model_names(results)
    dp = [n for n in names if num(dig(results, "privacy", n, "epsilon")) is not None]
    base_acc = num(dig(results, "utility", "baseline", "accuracy"))
    parts = []
    if dp:
        strongest = min(dp, key=lambda n: num(dig(results, "privacy", n, "epsilon")))
        aucs = [
            num(m.get("auc"))
            for m in (dig(results, "attacks", strongest, "membership") or {}).values()
        ]
        worst = max((a for a in aucs if a is not None), default=None)
        parts.append(
            f"DP-SGD at ε = {fmt_float(num(dig(results, 'privacy', strongest, 'epsilon')))} "
            f"keeps every membership attack to AUC {fmt_float(worst, 3)} with test accuracy "
            f"{fmt_pct(num(dig(results, 'utility', strongest, 'accuracy')))} "
            f"(non-private baseline {fmt_pct(base_acc)})."
        )
    if failed:
        parts.append("Failed: " + "; ".join(f"{c['name']} ({c['detail']})" for c in failed) + ".")
    else:
        parts.append("No audit contradicts a claimed ε.")
    return " ".join(parts)


def _membership_rows(results: dict, name: str) -> list[dict]:
    rows = []
    for attack, m in (dig(results, "attacks", name, "membership") or {}).items():
        if not isinstance(m, dict):
            continue
        rows.append(
            {
                "attack": ATTACK_LABELS.get(attack, fmt_text(attack)),
                "auc": fmt_float(m.get("auc"), 3),
                "balanced_accuracy": fmt_float(m.get("balanced_accuracy"), 3),
                "tpr1": fmt_pct(m.get("tpr_at_1pct_fpr")),
                "tpr01": fmt_pct(m.get("tpr_at_0.1pct_fpr")),
                "tpr0": fmt_pct(m.get("tpr_at_0_fpr")),
                "eps_lb": fmt_float(m.get("epsilon_lower_bound")),
            }
        )
    return rows


def _model_view(results: dict, name: str) -> dict:
    m = dig(results, "models", name) or {}
    p = dig(results, "privacy", name) or {}
    attr = dig(results, "attacks", name, "attribute") or {}
    audit = dig(results, "audit", name) or {}
    return {
        "name": fmt_text(name),
        "recipe": fmt_text(m.get("recipe_text")),
        "references": fmt_int(m.get("reference_models")),
        "seconds": fmt_seconds(m.get("seconds")),
        "epsilon": fmt_float(p.get("epsilon")) if p else "∞ (no DP)",
        "epsilon_rdp": fmt_float(p.get("epsilon_rdp")),
        "delta": fmt_g(p.get("delta")),
        "noise": fmt_float(p.get("noise_multiplier")),
        "rate": fmt_g(p.get("sampling_rate")),
        "steps": fmt_int(p.get("steps")),
        "accuracy": fmt_pct(dig(results, "utility", name, "accuracy")),
        "train_accuracy": fmt_pct(dig(results, "utility", name, "train_accuracy")),
        "membership": _membership_rows(results, name),
        "roc": chart(model_roc_png, dig(results, "attacks", name, "membership") or {}),
        "attribute": {
            "attribute": fmt_text(attr.get("attribute")),
            "accuracy": fmt_pct(attr.get("accuracy")),
            "prior": fmt_pct(attr.get("prior_accuracy")),
            "advantage": fmt_pct(attr.get("advantage")),
            "nonmember_advantage": fmt_pct(attr.get("nonmember_advantage")),
        },
        "audit": {
            "bound": fmt_float(audit.get("epsilon_lower_bound")),
            "canaries": fmt_int(audit.get("m")),
            "guesses": fmt_int(audit.get("guesses")),
            "correct": fmt_int(audit.get("correct")),
        },
    }


def build_tabular_view(results: dict) -> dict:
    verdict = results.get("verdict") or make_tabular_verdict(results)
    names = model_names(results)
    data = results.get("data") or {}
    prop = results.get("property_inference") or {}
    return {
        "run": {
            "name": fmt_text(dig(results, "run", "name")),
            "spec_path": fmt_text(dig(results, "run", "spec_path")),
            "started": fmt_text(dig(results, "run", "started")),
            "seed": fmt_text(dig(results, "run", "seed")),
            "version": fmt_text(dig(results, "run", "version")),
            "seconds": fmt_seconds(dig(results, "run", "seconds")),
        },
        "verdict": {
            "status": verdict["status"],
            "status_text": STATUS_TEXT[verdict["status"]],
            "summary": verdict["summary"],
            "checks": [
                {
                    "name": c["name"],
                    "result": ("info" if c["informational"] else "pass")
                    if c["passed"]
                    else ("not met" if c["informational"] else "fail"),
                    "css": "ok" if c["passed"] else ("info" if c["informational"] else "bad"),
                    "detail": c["detail"],
                }
                for c in verdict["checks"]
            ],
        },
        "data": {k: fmt_int(v) if isinstance(v, int) else fmt_text(v) for k, v in data.items()},
        "models": [_model_view(results, n) for n in names],
        "tradeoff": chart(privacy_utility_png, results, names),
        "property": {
            k: fmt_float(v, 3) if isinstance(v, float) else fmt_text(v)
            for k, v in prop.items()
            if not isinstance(v, dict | list)
        },
    }


def render_tabular_report(results: dict) -> str:
    return environment().get_template("tabular.html.j2").render(**build_tabular_view(results))
