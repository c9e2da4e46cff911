"""The HTML run report: sections, formatting, embedded charts, escaping, and no secret text."""

from __future__ import annotations

import base64
import copy
import re

import pytest

from privml.report import render_report, write_report
from privml.report.plots import exposure_chart_png, roc_plot_png, utility_chart_png

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# Text that sits in the results dict but must never reach the report.
SECRET = "739 204 551"
PREFIX = "my locker code is"
LEAKED_EMAIL = "alice.leaked@example.org"
PII_SAMPLE = "Bob Q. Sample"

LOG2_SPACE = 29.897


def _roc(strength: float, n: int = 41) -> dict:
    fpr = [0.0] + [10 ** (-4 + 4 * i / (n - 2)) for i in range(n - 1)]
    tpr = [min(1.0, f ** (1 / (1 + strength))) for f in fpr]
    return {"fpr": fpr, "tpr": tpr}


def _attack(mean_1, mean_4, mean_16, extracted, auc, strength):
    reps = [16, 16, 16, 4, 4, 4, 1, 1, 1]
    exposure = [mean_16] * 3 + [mean_4] * 3 + [mean_1] * 3
    per_exp, per_ext = [], []
    for i, (r, e) in enumerate(zip(reps, exposure, strict=True)):
        cid = f"c{i + 1:02d}"
        per_exp.append(
            {
                "canary": cid,
                "repetitions": r,
                "exposure": e,
                "method": "exact" if r == 16 else "extrapolated",
                "secret": SECRET,
                "prefix": PREFIX,
            }
        )
        per_ext.append(
            {
                "canary": cid,
                "repetitions": r,
                "extracted": i < extracted,
                "digits_correct": 9 if i < extracted else 2,
                "secret": SECRET,
                "completion": SECRET,
            }
        )
    return {
        "exposure": {
            "mean_16": mean_16,
            "mean_4": mean_4,
            "mean_1": mean_1,
            "max": max(exposure),
            "log2_space": LOG2_SPACE,
            "per_canary": per_exp,
        },
        "extraction": {"secrets_extracted": extracted, "secrets_total": 9, "per_canary": per_ext},
        "membership": {
            "auc": auc,
            "tpr_at_1pct_fpr": 0.05 if auc > 0.55 else 0.011,
            "tpr_at_0.1pct_fpr": 0.01 if auc > 0.55 else 0.0012,
            "balanced_accuracy": 0.58,
            "members": 1000,
            "non_members": 1000,
            "roc": _roc(strength),
        },
    }


def full_results() -> dict:
    return {
        "privml_version": "0.1.0",
        "run": {
            "spec_path": "examples/<script>alert(1)</script>.yaml",
            "started": "2026-11-21T12:00:00Z",
            "seconds": 512.3,
            "seed": 0,
        },
        "data": {
            "records": 16000,
            "users": 2000,
            "train_users": 1800,
            "heldout_users": 200,
            "train_records": 14400,
            "heldout_records": 1600,
            "skipped_rows": 3,
            "pii_found": {"PERSON": 3100, "EMAIL_ADDRESS": 800, "PHONE_NUMBER": 412},
            "pii_planted": {"PERSON": 3200, "EMAIL_ADDRESS": 800, "PHONE_NUMBER": 450},
            "scrubber_recall": {"PERSON": 0.97, "EMAIL_ADDRESS": 1.0, "PHONE_NUMBER": 0.9156},
            "scrubber": {
                "ner": True,
                "evaluated_recall": {"PERSON": 0.9695, "EMAIL_ADDRESS": 1.0, "LOCATION": 0.8833},
            },
            "pii_examples": {"PERSON": [PII_SAMPLE]},
            "canaries": 9,
        },
        "model": {
            "architecture": "tiny GPT (decoder-only transformer)",
            "parameters": 1234567,
            "d_model": 128,
            "layers": 2,
            "heads": 4,
            "context": 64,
            "vocab_size": 4096,
            "tokenizer": "word-level, trained on the public corpus only",
        },
        "training": {
            "pretrain": {
                "epochs": 2,
                "steps": 300,
                "seconds": 60.1,
                "corpus": "tinyshakespeare + wikitext-2",
            },
            "variants": {
                "baseline": {
                    "scrub": False,
                    "dp": False,
                    "epochs": 6,
                    "steps": 900,
                    "seconds": 80.0,
                },
                "private": {
                    "scrub": True,
                    "dp": True,
                    "epochs": 6,
                    "steps": 60,
                    "seconds": 120.0,
                    "batch_size": 256,
                    "max_grad_norm": 1.0,
                    "noise_multiplier": 1.1,
                    "sampling_rate": 0.12,
                },
                "dp_only": {
                    "scrub": False,
                    "dp": True,
                    "epochs": 6,
                    "steps": 60,
                    "seconds": 118.5,
                    "batch_size": 256,
                    "max_grad_norm": 1.0,
                    "noise_multiplier": 1.1,
                    "sampling_rate": 0.12,
                },
                "scrub_only": {
                    "scrub": True,
                    "dp": False,
                    "epochs": 6,
                    "steps": 900,
                    "seconds": 79.0,
                },
            },
        },
        "privacy": {
            "epsilon": 3.98,
            "delta": 5e-05,
            "unit": "user",
            "accountant": "prv",
            "epsilon_rdp": 4.4,
            "target_epsilon": 4.0,
            "noise_multiplier": 1.1,
            "sampling_rate": 0.12,
            "steps": 60,
            "max_grad_norm": 1.0,
            "privacy_units": 1800,
            "delta_rule": "1/(10·N)",
        },
        "utility": {
            "public_only": {"next_word_accuracy": 0.12, "perplexity": 300.0},
            "baseline": {"next_word_accuracy": 0.47, "perplexity": 42.0},
            "private": {"next_word_accuracy": 0.412, "perplexity": 61.3},
            "dp_only": {"next_word_accuracy": 0.415, "perplexity": 60.2},
            "scrub_only": {"next_word_accuracy": 0.466, "perplexity": 43.1},
        },
        "attacks": {
            "baseline": _attack(3.0, 12.0, 25.0, 3, 0.61, 1.5),
            "private": _attack(1.1, 1.3, 1.2, 0, 0.51, 0.05),
            "dp_only": _attack(1.0, 1.4, 1.6, 0, 0.52, 0.08),
            "scrub_only": _attack(2.9, 11.5, 24.0, 2, 0.60, 1.4),
        },
        "hygiene": {
            "leak_check": {
                "passed": True,
                "artifacts_checked": 7,
                "values_checked": 5000,
                "leaks": [],
            }
        },
    }


def minimal_results() -> dict:
    """Only baseline + private, no optional fields (no planted counts, recall, ROC, per-canary)."""
    full = full_results()
    attacks = {}
    for v in ("baseline", "private"):
        a = copy.deepcopy(full["attacks"][v])
        del a["exposure"]["per_canary"], a["extraction"]["per_canary"], a["membership"]["roc"]
        attacks[v] = a
    optional = ("pii_planted", "scrubber_recall", "scrubber")
    data = {k: v for k, v in full["data"].items() if k not in optional}
    return {
        "privml_version": "0.1.0",
        "run": {"spec_path": "examples/text_prediction.yaml", "started": "2026-11-21T12:00:00Z"},
        "data": data,
        "privacy": {"epsilon": 7.5, "delta": 1e-05, "unit": "example"},
        "utility": {v: full["utility"][v] for v in ("public_only", "baseline", "private")},
        "attacks": attacks,
    }


def _images(html: str) -> list[bytes]:
    uris = re.findall(r'<img[^>]*src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    return [base64.b64decode(u, validate=True) for u in uris]


def _section(html: str, section_id: str) -> str:
    match = re.search(rf'<section id="{section_id}".*?</section>', html, re.S)
    assert match, f"section {section_id} missing"
    return match.group(0)


@pytest.fixture(scope="module")
def full_html() -> str:
    return render_report(full_results())


def test_sections_in_order(full_html):
    headings = [
        "1. Data summary",
        "2. Model and training configuration",
        "3. Privacy guarantee",
        "4. Utility before and after",
        "5. Attacks before and after",
        "6. Artifact hygiene",
        "7. How to read this report",
    ]
    positions = [full_html.index("Verdict")] + [full_html.index(h) for h in headings]
    assert positions == sorted(positions)
    assert full_html.index("<footer>") > positions[-1]


def test_verdict_badge_and_summary(full_html):
    verdict = _section(full_html, "verdict")
    # scrub_only leaks as expected -> green badge, the leak explained in the summary
    assert 'class="badge pass"' in verdict
    assert "ε = 3.98 (δ = 5e-05)" in verdict
    assert "reproduced 0 of 9 planted secrets" in verdict
    assert "scrubbing alone" in verdict
    assert "fail (expected)" in full_html


def test_numbers_formatted(full_html):
    data = _section(full_html, "data")
    for text in ("16,000", "1,800 users", "14,400 records", "3,100", "3,200", "91.6%", "97.0%"):
        assert text in data
    training = _section(full_html, "training")
    for text in ("1,234,567", "tinyshakespeare + wikitext-2", "1 min 00 s", "2 min 00 s", "0.12"):
        assert text in training
    privacy = _section(full_html, "privacy")
    assert "ε = 3.98" in privacy and "δ = 5e-05" in privacy
    assert "each user&#39;s whole contribution is protected" in privacy
    assert "4.40" in privacy and "1/(10·N)" in privacy and "N = 1,800" in privacy
    utility = _section(full_html, "utility")
    for text in ("41.2%", "47.0%", "12.0%", "−12.3%", "+46.0%", "reference", "300.0"):
        assert text in utility
    attacks = _section(full_html, "attacks")
    for text in ("25.0", "29.9", "3 / 9", "0 / 9", "0.610", "0.510", "5.0%", "0.12%", "≈"):
        assert text in attacks
    hygiene = _section(full_html, "hygiene")
    assert "passed" in hygiene and "5,000" in hygiene and "7 artifacts" in hygiene
    footer = full_html[full_html.index("<footer>") :]
    assert "privml 0.1.0" in footer and "8 min 32 s" in footer


def test_per_canary_table(full_html):
    table = re.search(r'<table id="canary-table">.*?</table>', full_html, re.S).group(0)
    for cid in (f"c{i:02d}" for i in range(1, 10)):
        assert f"<td>{cid}</td>" in table
    for name in ("baseline", "private", "DP-only", "scrub-only"):
        assert f'<th colspan="2">{name}</th>' in table
    assert ">yes<" in table and "no (2)" in table


def test_images_are_embedded_pngs(full_html):
    images = _images(full_html)
    assert len(images) == 3  # utility, ROC, exposure
    for png in images:
        assert png.startswith(PNG_MAGIC) and len(png) > 5000


def test_self_contained_offline(full_html):
    assert not re.search(r"(src|href)\s*=\s*[\"']?\s*(https?:)?//", full_html, re.I)
    assert "http://" not in full_html and "https://" not in full_html
    assert "<script" not in full_html and "<link" not in full_html and "@import" not in full_html


def test_strings_are_escaped(full_html):
    assert "<script>alert(1)</script>" not in full_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in full_html


def test_secret_text_never_rendered():
    results = full_results()
    results["hygiene"]["leak_check"].update(
        passed=False,
        leaks=[{"artifact": "models/private.pt", "type": "EMAIL_ADDRESS", "value": LEAKED_EMAIL}],
    )
    html = render_report(results)
    for forbidden in (SECRET, "739204551", PREFIX, LEAKED_EMAIL, PII_SAMPLE):
        assert forbidden not in html
    hygiene = _section(html, "hygiene")
    assert "FAILED" in hygiene and "models/private.pt" in hygiene and "EMAIL_ADDRESS" in hygiene


def test_minimal_results_render():
    html = render_report(minimal_results())
    for section in ("verdict", "data", "training", "privacy", "utility", "attacks", "hygiene"):
        _section(html, section)
    assert '<th class="num">Planted</th>' not in _section(html, "data")
    assert "Recall on this corpus" not in html and "Evaluated recall" not in html
    assert "group privacy" in _section(html, "privacy")
    attacks = _section(html, "attacks")
    assert "DP-only" not in attacks and "scrub-only" not in attacks
    assert "No ROC curves were recorded." in html
    assert "No per-canary results were recorded." in html
    assert "No leak check was recorded." in html
    assert "—" in html
    assert len(_images(html)) == 2  # utility + exposure
    assert 'class="badge pass"' in html


def test_empty_and_malformed_results_do_not_crash():
    html = render_report({})
    assert 'class="badge fail"' in html and "No attacks were run." in html
    odd = minimal_results()
    odd["attacks"]["private"]["exposure"]["mean_16"] = float("nan")
    odd["attacks"]["private"]["membership"] = "oops"
    odd["utility"]["baseline"]["perplexity"] = float("inf")
    odd["data"]["pii_found"] = {"PERSON": "many", "EMAIL_ADDRESS": True}
    html = render_report(odd)
    assert 'class="badge fail"' in html and "not measured" in html and "∞" in html


def test_no_dp_and_other_repetition_levels():
    results = minimal_results()
    # what the pipeline records when no variant used DP
    results["privacy"] = {
        "variant": None,
        "epsilon": None,
        "delta": None,
        "unit": "none",
        "accountant": None,
    }
    for attack in results["attacks"].values():
        exp = attack["exposure"]
        exp["mean_2"], exp["mean_8"] = exp.pop("mean_1"), exp.pop("mean_4")
    html = render_report(results)
    assert "No differential privacy was applied" in _section(html, "privacy")
    assert "no differential-privacy guarantee recorded" in _section(html, "verdict")
    header = re.search(r'<table id="attack-table">.*?</thead>', html, re.S).group(0)
    assert re.findall(r">(\d+x)<", header) == ["2x", "8x", "16x"]


def test_guarantee_of_another_variant_is_not_claimed_for_private():
    results = full_results()
    results["privacy"].update(variant="dp_only", accountant_note="RDP bound was tighter than PRV")
    html = render_report(results)
    privacy = _section(html, "privacy")
    assert "Guarantee for the <strong>DP-only</strong> model" in privacy
    assert "the private model itself was not trained with DP" in privacy
    assert "Accountant note: RDP bound was tighter than PRV" in privacy
    assert "With user-level DP" not in _section(html, "verdict")


def test_write_report(tmp_path):
    path = write_report(minimal_results(), tmp_path / "run")
    assert path == tmp_path / "run" / "report.html"
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in path.parent.iterdir()] == ["report.html"]


def test_plot_functions_return_png():
    full = full_results()
    curves = {
        v: {**a["membership"]["roc"], "auc": a["membership"]["auc"]}
        for v, a in full["attacks"].items()
    }
    for png in (
        roc_plot_png(curves),
        roc_plot_png({}),
        exposure_chart_png(full["attacks"], LOG2_SPACE),
        exposure_chart_png({}, float("nan")),
        utility_chart_png(full["utility"]),
        utility_chart_png({}),
    ):
        assert png.startswith(PNG_MAGIC)


# --- privacy review ---------------------------------------------------------------------------

THREAT_MODEL = {
    "adversary": "external",
    "access": ["top1", "scores", "weights"],
    "data": ["pii"],
    "regulations": ["gdpr", "ccpa"],
    "release": "public",
}


def _with_review(results: dict) -> dict:
    """``results`` plus the review the pipeline would add for a public-release PII threat model."""
    from privml.governance.requirements import review_section
    from privml.pipeline.spec import enforce_threat_model, parse_spec

    spec = parse_spec(
        {
            "data": {"private": "c.jsonl", "canaries": "c.json"},
            "threat_model": THREAT_MODEL,
        }
    )
    results["review"] = review_section(spec, enforce_threat_model(spec), results)
    return results


def _review_rows(html: str) -> list[tuple[str, str]]:
    table = re.search(r'<table id="review-table">.*?</table>', html, re.S)
    assert table, "review table missing"
    cells = re.findall(r"<tr>\s*<td>(.*?)</td>.*?<td class=\"(ok|bad)\">", table.group(0), re.S)
    return [(req, cls) for req, cls in cells]


def test_privacy_review_renders_passing_table():
    html = render_report(_with_review(full_results()))
    review = _section(html, "review")
    assert "<h2>Privacy review</h2>" in review
    assert html.index('id="review"') < html.index("1. Data summary")
    for text in ("external party", "the model weights", "personal data (PII)", "GDPR, CCPA"):
        assert text in review
    assert "released to the public" in review
    assert "Privacy unit</th><td><strong>user</strong>" in review
    rows = _review_rows(html)
    assert len(rows) == 11 and all(cls == "ok" for _, cls in rows)
    assert "all 11 pass" in review
    assert "attacks.private.membership.auc = 0.51" in review
    assert "GDPR Art. 5(1)(c)" in review  # sources are shown
    assert "next-word accuracy" not in review  # utility is not a privacy requirement
    assert 'class="badge pass"' in _section(html, "verdict")


def test_privacy_review_marks_failures_red_and_fails_the_verdict():
    results = full_results()
    results["attacks"]["private"]["membership"]["auc"] = 0.58
    results["attacks"]["private"]["extraction"]["secrets_extracted"] = 1
    html = render_report(_with_review(results))
    failed = [req for req, cls in _review_rows(html) if cls == "bad"]
    assert failed == ["membership AUC ≤ 0.55", "planted secrets extracted = 0"]
    assert "2 of 11 fail" in _section(html, "review")
    verdict = _section(html, "verdict")
    assert 'class="badge fail"' in verdict
    assert "privacy review against the spec&#39;s threat model fails" in verdict


def test_no_threat_model_says_no_review():
    html = render_report(full_results())
    review = _section(html, "review")
    assert "No threat model was stated" in review
    assert 'id="review-table"' not in review


def test_pii_table_shows_recall_on_the_corpus_and_evaluated_recall():
    data = _section(render_report(full_results()), "data")
    assert "Recall on this corpus" in data and "Evaluated recall" in data
    assert "learned NER model" in data
    # LOCATION was not found or planted here, but its evaluated recall still gets a row.
    row = re.search(r"<tr><td>LOCATION</td>(.*?)</tr>", data)
    assert row and "88.3" in row.group(1)
