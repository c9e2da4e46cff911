"""make_verdict: checks, pass / warn / fail status, and the plain-language summary."""

from __future__ import annotations

import copy

from privml.report import make_verdict

LEAKY = {"mean_16": 25.0, "log2_space": 29.897, "extracted": 3, "auc": 0.61}
SAFE = {"mean_16": 1.2, "log2_space": 29.897, "extracted": 0, "auc": 0.51}


def _attack(mean_16, log2_space, extracted, auc):
    return {
        "exposure": {"mean_16": mean_16, "mean_4": 1.0, "mean_1": 1.0, "log2_space": log2_space},
        "extraction": {"secrets_extracted": extracted, "secrets_total": 9},
        "membership": {"auc": auc, "tpr_at_1pct_fpr": 0.01, "tpr_at_0.1pct_fpr": 0.001},
    }


def results(**variants) -> dict:
    """baseline leaks, private is safe; override any variant with a metrics dict or None."""
    metrics = {"baseline": LEAKY, "private": SAFE, **variants}
    return {
        "privacy": {"epsilon": 3.98, "delta": 5e-05, "unit": "user"},
        "utility": {
            "public_only": {"next_word_accuracy": 0.12},
            "baseline": {"next_word_accuracy": 0.47},
            "private": {"next_word_accuracy": 0.41},
        },
        "attacks": {v: _attack(**m) for v, m in metrics.items() if m is not None},
    }


def _by_name(verdict: dict) -> dict:
    return {c["name"]: c for c in verdict["checks"]}


def test_pass():
    v = make_verdict(results(dp_only=SAFE))
    assert v["status"] == "pass"
    assert all(c["passed"] for c in v["checks"])
    checks = _by_name(v)
    assert checks["baseline leaks"]["informational"] is True
    assert {
        "private: no canary extracted",
        "private: exposure of 16x canaries ≤ 6 bits",
        "private: membership AUC ≤ 0.55",
        "dp_only: membership AUC ≤ 0.55",
    } <= set(checks)
    assert not any(name.startswith("scrub_only") for name in checks)
    s = v["summary"]
    assert s.startswith("With user-level DP at ε = 3.98 (δ = 5e-05), the private model")
    assert "reproduced 0 of 9 planted secrets (the unprotected baseline reproduced 3)" in s
    assert "41.0% vs 47.0% for the baseline" in s
    assert 2 <= s.count(". ") + 1 <= 4
    for c in v["checks"]:
        assert set(c) >= {"name", "passed", "detail"}
        assert isinstance(c["passed"], bool) and isinstance(c["detail"], str)


def test_expected_scrub_only_failures_pass_and_are_explained():
    v = make_verdict(results(dp_only=SAFE, scrub_only={**LEAKY, "extracted": 2}))
    assert v["status"] == "pass"
    checks = _by_name(v)
    assert not checks["scrub_only: no canary extracted"]["passed"]
    assert checks["scrub_only: no canary extracted"]["expected"] is True
    assert all(c["passed"] for c in v["checks"] if c["variant"] == "private")
    assert "as expected, scrubbing alone (scrub_only) does not protect the canaries" in v["summary"]
    assert "2 of 9 secrets extracted" in v["summary"]


def test_warn_when_dp_only_fails():
    v = make_verdict(results(dp_only={**SAFE, "auc": 0.58}))
    assert v["status"] == "warn"
    assert "DP alone (dp_only) does not hold up (membership AUC 0.580)" in v["summary"]


def test_fail_when_private_leaks():
    v = make_verdict(results(private={**SAFE, "extracted": 1, "mean_16": 9.5}))
    assert v["status"] == "fail"
    checks = _by_name(v)
    assert not checks["private: no canary extracted"]["passed"]
    assert not checks["private: exposure of 16x canaries ≤ 6 bits"]["passed"]
    assert checks["private: membership AUC ≤ 0.55"]["passed"]
    assert "The private model fails these checks" in v["summary"]


def test_fail_on_utility():
    r = results()
    r["utility"]["private"]["next_word_accuracy"] = 0.30  # < 0.7 x 0.47
    v = make_verdict(r)
    assert v["status"] == "fail"
    assert not _by_name(v)["private: next-word accuracy ≥ 0.7 × the baseline's"]["passed"]
    assert _by_name(v)["private: next-word accuracy above the public-only model"]["passed"]

    r["utility"]["private"]["next_word_accuracy"] = 0.11  # below public-only too
    assert not _by_name(make_verdict(r))["private: next-word accuracy above the public-only model"][
        "passed"
    ]


def test_fail_without_private_variant():
    v = make_verdict(results(private=None))
    assert v["status"] == "fail"
    assert "No private variant was evaluated" in v["summary"]
    assert make_verdict({})["status"] == "fail"


def test_missing_metric_is_not_measured_and_fails():
    r = results()
    del r["attacks"]["private"]["membership"]
    r["attacks"]["private"]["exposure"]["mean_16"] = float("nan")
    v = make_verdict(r)
    assert v["status"] == "fail"
    checks = _by_name(v)
    assert checks["private: membership AUC ≤ 0.55"]["detail"] == "not measured"
    assert checks["private: exposure of 16x canaries ≤ 6 bits"]["detail"] == "not measured"


def test_baseline_leaks_is_informational():
    quiet = {"mean_16": 5.0, "log2_space": 29.897, "extracted": 0, "auc": 0.52}
    v = make_verdict(results(baseline=quiet))
    assert v["status"] == "pass"
    assert not _by_name(v)["baseline leaks"]["passed"]
    assert "little power" in v["summary"]
    # leaking by exposure alone (no extraction) counts
    by_exposure = {**quiet, "mean_16": 15.0}
    assert _by_name(make_verdict(results(baseline=by_exposure)))["baseline leaks"]["passed"]


def test_input_not_mutated():
    r = results(scrub_only=LEAKY)
    before = copy.deepcopy(r)
    make_verdict(r)
    assert r == before


def test_failed_privacy_review_fails_the_verdict():
    failing = results(dp_only=SAFE)
    failing["review"] = {
        "passed": False,
        "rows": [
            {"requirement": "ε ≤ 2 (per privacy unit)", "passed": False},
            {"requirement": "PII scrubbing is on", "passed": True},
        ],
    }
    v = make_verdict(failing)
    assert v["status"] == "fail"
    assert "threat model fails: ε ≤ 2 (per privacy unit)." in v["summary"]
    assert "PII scrubbing" not in v["summary"]
    failing["review"]["passed"] = True
    assert make_verdict(failing)["status"] == "pass"
