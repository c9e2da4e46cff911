"""The encrypted-computation run's report: HE inference and MPC training against plaintext.

Like the other reports, the view is built from whitelisted keys as pre-formatted strings and
rendered with autoescaping into one self-contained HTML file.
"""

from __future__ import annotations

from pathlib import Path

from privml.atomic import write_text
from privml.report.formatting import fmt_float, fmt_int, fmt_pct, fmt_seconds, fmt_text
from privml.report.html import environment
from privml.report.verdict import dig, num

HE_MAX_ERROR = 1e-3  # the bars: scores within 1e-3, labels agree on >= 99.5%
HE_MIN_AGREEMENT = 0.995
MPC_MAX_GAP_POINTS = 1.0
MODEL_NAMES = {"logreg": "logistic regression", "mlp": "MLP (quadratic activation)"}


def _mib(v: object) -> str:
    x = num(v)
    return "—" if x is None else f"{x / 2**20:,.2f} MiB"


def _sci(v: object) -> str:
    x = num(v)
    return "—" if x is None else f"{x:.2e}"


def _he_rows(results: dict) -> list[dict]:
    rows = []
    for kind, r in (dig(results, "he") or {}).items():
        params = r.get("params", {})
        sizes = r.get("sizes", {})
        rows.append(
            {
                "model": MODEL_NAMES.get(kind, fmt_text(kind)),
                "params": f"N = {fmt_int(params.get('poly_modulus_degree'))}, chain "
                f"{params.get('coeff_mod_bit_sizes')}, depth {fmt_int(r.get('depth'))}",
                "rows": fmt_int(r.get("rows")),
                "acc_plain": fmt_pct(r.get("accuracy_plaintext")),
                "acc_he": fmt_pct(r.get("accuracy_encrypted")),
                "max_error": _sci(r.get("max_abs_error")),
                "agreement": fmt_pct(r.get("label_agreement")),
                "ms": fmt_float(r.get("ms_per_sample"), 3),
                "up": fmt_int(sizes.get("up_bytes_per_sample")),
                "down": fmt_int(sizes.get("down_bytes_per_sample")),
                "keys_sent": _mib(sizes.get("context_upload")),
                "secret": "no" if r.get("server_saw_secret_key") is False else "YES",
            }
        )
    return rows


def _checks(results: dict) -> list[dict]:
    checks = []
    for kind, r in (dig(results, "he") or {}).items():
        err, agree = num(r.get("max_abs_error")), num(r.get("label_agreement"))
        ok = err is not None and agree is not None and err <= HE_MAX_ERROR
        ok = ok and agree >= HE_MIN_AGREEMENT and r.get("server_saw_secret_key") is False
        detail = f"max |error| {_sci(err)}, labels agree {fmt_pct(agree)}"
        checks.append({"name": f"HE {kind} matches plaintext", "ok": ok, "detail": detail})
    gap = num(dig(results, "mpc", "accuracy_gap_points"))
    if dig(results, "mpc") is not None:
        checks.append(
            {
                "name": "MPC model within 1 point of plaintext training",
                "ok": gap is not None and gap <= MPC_MAX_GAP_POINTS,
                "detail": f"gap {fmt_float(gap, 2)} points",
            }
        )
    return checks


def _mpc_view(results: dict) -> dict | None:
    mpc = dig(results, "mpc")
    if not mpc:
        return None
    m, p = mpc.get("mpc", {}), mpc.get("plaintext", {})
    return {
        "parties": fmt_int(len(m.get("bytes_sent_per_party") or [])),
        "rows": ", ".join(fmt_int(x) for x in m.get("rows_per_party") or []) or "—",
        "features": fmt_int(m.get("features")),
        "acc_mpc": fmt_pct(m.get("test_accuracy")),
        "acc_plain": fmt_pct(p.get("test_accuracy")),
        "time_mpc": fmt_seconds(m.get("train_seconds")),
        "time_plain": f"{fmt_float(p.get('train_seconds'), 3)} s",
        "bytes_mpc": _mib(m.get("bytes_sent_total")),
        "bytes_plain": _mib(p.get("bytes_pooled")),
        "weight_diff": _sci(mpc.get("max_abs_weight_difference")),
    }


def encrypted_verdict(results: dict) -> dict:
    """pass when every HE model and the MPC model meet the bars against plaintext."""
    checks = _checks(results)
    failed = [c["name"] for c in checks if not c["ok"]]
    return {
        "status": "fail" if failed else "pass",
        "summary": ("failed: " + "; ".join(failed))
        if failed
        else f"all {len(checks)} checks against plaintext pass",
        "checks": [{"name": c["name"], "passed": c["ok"], "detail": c["detail"]} for c in checks],
    }


def build_encrypted_view(results: dict) -> dict:
    checks = _checks(results)
    return {
        "run": {
            "name": fmt_text(dig(results, "run", "name")),
            "spec_path": fmt_text(dig(results, "run", "spec_path")),
            "started": fmt_text(dig(results, "run", "started")),
            "seconds": fmt_seconds(dig(results, "run", "seconds")),
            "version": fmt_text(results.get("privml_version")),
        },
        "passed": all(c["ok"] for c in checks),
        "checks": checks,
        "he_rows": _he_rows(results),
        "mpc": _mpc_view(results),
        "views": {k: fmt_text(v) for k, v in (results.get("views") or {}).items()},
    }


def write_encrypted_report(results: dict, path: str | Path) -> Path:
    html = environment().get_template("encrypted.html.j2").render(**build_encrypted_view(results))
    return write_text(path, html)
