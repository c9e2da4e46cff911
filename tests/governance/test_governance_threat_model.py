"""Threat model -> requirements: validation, the rules table, refusal before a run, the review."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from privml.governance.requirements import (
    RULES,
    Need,
    Rule,
    check_spec,
    derive_requirements,
    review,
    review_section,
)
from privml.governance.threat_model import ThreatModel
from privml.pipeline.spec import SpecError, enforce_threat_model, parse_spec
from privml.pipeline.text_prediction import run_pipeline

PUBLIC_PII = {
    "adversary": "external",
    "access": ["top1", "scores"],
    "data": ["pii"],
    "regulations": ["gdpr", "ccpa"],
    "release": "public",
}
SPEC = {
    "data": {"private": "corpus.jsonl", "canaries": "canaries.json"},
    "attacks": {"run": ["membership", "exposure", "extraction"]},
}


def _tm(**patch) -> ThreatModel:
    return ThreatModel(**{**PUBLIC_PII, **patch})


def _reqs(**patch) -> dict:
    return {r.key: r for r in derive_requirements(_tm(**patch))}


def _spec(threat_model: dict | None = None, **patch):
    raw = copy.deepcopy(SPEC)
    raw.update(patch)
    raw["threat_model"] = PUBLIC_PII if threat_model is None else threat_model
    return parse_spec(raw)


def _err(raw_threat_model: dict) -> str:
    with pytest.raises(SpecError) as info:
        parse_spec({**SPEC, "threat_model": raw_threat_model})
    return str(info.value)


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "patch,expected",
    [
        (
            {"access": ["top1", "everything"]},
            "threat_model.access[1]: must be one of 'top1', 'scores', 'weights' or 'snapshots', "
            "got 'everything'",
        ),
        ({"adversary": "nation-state"}, "threat_model.adversary: must be one of"),
        ({"data": ["pii", "genome"]}, "threat_model.data[1]: must be one of"),
        ({"regulations": ["lgpd"]}, "threat_model.regulations[0]: must be one of"),
        ({"release": "everyone"}, "threat_model.release: must be one of"),
        ({"access": []}, "threat_model.access: must have at least 1 item(s)"),
        ({"colour": "red"}, "threat_model.colour: unknown field"),
    ],
)
def test_validation_errors_name_the_field(patch, expected):
    assert expected in _err({**PUBLIC_PII, **patch})


def test_every_field_but_regulations_is_required():
    msg = _err({"access": ["top1"]})
    for field in ("adversary", "data", "release"):
        assert f"threat_model.{field}: required field is missing" in msg
    assert "threat_model.regulations" not in msg
    assert ThreatModel(adversary="external", access=["top1"], data=[], release="internal")


def test_repeats_are_dropped_and_section_is_optional():
    assert _tm(access=["scores", "top1", "scores"]).access == ["scores", "top1"]
    assert parse_spec(SPEC).threat_model is None


# --- the rules table --------------------------------------------------------------------------


def test_snapshot_access_makes_the_model_update_attack_mandatory():
    assert "attack:model_update" in _reqs(access=["snapshots"])
    assert "attack:model_update" not in _reqs(access=["top1", "scores", "weights"])


def test_public_release_with_pii_makes_scrub_and_dp_mandatory():
    reqs = _reqs(regulations=[])  # the release alone, without GDPR/CCPA, must suffice
    assert {"mitigation:scrub", "mitigation:dp"} <= set(reqs)
    assert reqs["max_epsilon"].value == 4.0 and reqs["unit"].value == "user"
    assert {"attack:membership", "attack:exposure", "attack:extraction"} <= set(reqs)
    internal = _reqs(release="internal", regulations=[])
    assert "mitigation:dp" not in internal and "mitigation:scrub" not in internal


def test_data_not_about_people_needs_only_the_loose_membership_audit():
    reqs = _reqs(data=[], regulations=[], release="public", access=["weights"])
    assert set(reqs) == {"attack:membership", "limit:max_auc", "limit:max_tpr_1pct"}
    assert reqs["limit:max_auc"].value == 0.6


def test_strictest_value_wins_and_every_binding_rule_is_cited():
    reqs = _reqs(data=["pii", "health"], release="partners")  # partners ε ≤ 8, health ε ≤ 2
    assert reqs["max_epsilon"].value == 2.0
    assert reqs["max_epsilon"].because == ("the data includes health data",)
    assert reqs["limit:max_auc"].value == 0.55  # 0.55 for people beats 0.6 for everyone
    dp = reqs["mitigation:dp"].because
    assert "the data includes health data" in dp and any("partners" in w for w in dp)


def test_custom_table_combines_by_minimum():
    rules = (
        Rule("a", lambda t: True, Need(mitigate=("dp",), max_epsilon=3.0), "src a"),
        Rule("b", lambda t: True, Need(mitigate=("dp",), max_epsilon=1.5), "src b"),
        Rule("c", lambda t: False, Need(max_epsilon=0.1), "never"),
    )
    reqs = {r.key: r for r in derive_requirements(_tm(), rules)}
    assert reqs["max_epsilon"].value == 1.5 and reqs["max_epsilon"].sources == ("src b",)
    assert reqs["mitigation:dp"].because == ("a", "b")


def test_table_is_consistent():
    for rule in RULES:
        assert rule.when and rule.source, rule
        if rule.need.max_epsilon is not None:  # a cap on ε means nothing without DP
            assert "dp" in rule.need.mitigate and rule.need.unit == "user", rule.when


# --- refusal before the run -------------------------------------------------------------------


def test_check_spec_refuses_dp_off_when_mandatory():
    spec = _spec(dp={"enabled": False})
    problems = check_spec(derive_requirements(spec.threat_model), spec)
    assert len(problems) == 1
    assert problems[0].startswith("dp.enabled: differential privacy (DP-SGD) is mandatory")
    assert "released to the public" in problems[0] and "switched off" in problems[0]


def test_check_spec_lists_every_problem():
    spec = _spec(
        scrub={"enabled": False},
        dp={"target_epsilon": 6, "unit": "example"},
        attacks={"run": ["membership"]},
    )
    problems = check_spec(derive_requirements(spec.threat_model), spec)
    text = "\n".join(problems)
    assert "scrub.enabled: PII scrubbing is mandatory" in text
    assert "dp.target_epsilon: 6 is above the maximum ε = 4" in text
    assert "dp.unit: must be 'user'" in text
    assert "attacks.run: the canary exposure attack is mandatory" in text
    assert "attacks.run: the secret extraction (tab attack) is mandatory" in text
    assert len(problems) == 5


def test_model_update_attack_required_when_snapshots_are_visible():
    """An adversary who sees snapshots must be met by the model-update attack: refused until
    the spec lists it, accepted once it does."""
    spec = _spec({**PUBLIC_PII, "access": ["snapshots"]})
    with pytest.raises(SpecError) as info:
        enforce_threat_model(spec, "demo.yaml")
    msg = str(info.value)
    assert msg.startswith("demo.yaml: the threat model refuses this run")
    assert "attacks.run: the model-update attack is mandatory" in msg
    spec.attacks.run = [*spec.attacks.run, "model_update"]
    assert enforce_threat_model(spec, "demo.yaml") is not None


def test_a_compliant_spec_passes_and_no_threat_model_means_no_check():
    spec = _spec()
    assert check_spec(derive_requirements(spec.threat_model), spec) == []
    assert enforce_threat_model(parse_spec({**SPEC, "dp": {"enabled": False}})) is None


def test_run_pipeline_refuses_before_reading_data(tmp_path: Path):
    raw = {
        "data": {"private": str(tmp_path / "missing" / "corpus.jsonl")},
        "attacks": {"run": ["membership"]},
        "dp": {"enabled": False},
        "threat_model": {**PUBLIC_PII, "data": ["financial"]},
    }
    out = tmp_path / "out"
    with pytest.raises(SpecError, match=r"dp\.enabled: differential privacy .* mandatory"):
        run_pipeline(parse_spec(raw), tmp_path, out, quiet=True)
    assert not out.exists()  # refused before creating anything


# --- the review -------------------------------------------------------------------------------


def _results(auc=0.505, tpr=0.0099, mean_16=1.46, extracted=0, eps=3.99, unit="user") -> dict:
    return {
        "training": {"variants": {"private": {"scrub": True, "dp": True}}},
        "privacy": {
            "variant": "private",
            "epsilon": eps,
            "delta": 3.7e-05,
            "unit": unit,
            "accountant": "prv",
            "target_epsilon": 4.0,
        },
        "attacks": {
            "private": {
                "membership": {
                    "auc": auc,
                    "tpr_at_1pct_fpr": tpr,
                    "members": 605,
                    "non_members": 605,
                },
                "exposure": {"mean_16": mean_16, "max": 3.1, "per_canary": [{}] * 9},
                "extraction": {"secrets_extracted": extracted, "secrets_total": 9},
            },
            # a leaky ablation must not fail the review: evidence is the private model's
            "dp_only": {"membership": {"auc": 0.9}},
        },
    }


def _rows(results: dict) -> dict:
    spec = _spec()
    return {r.key: r for r in review(derive_requirements(spec.threat_model), spec, results)}


def test_review_passes_on_the_demo_figures():
    rows = _rows(_results())
    assert all(r.passed for r in rows.values()), [r for r in rows.values() if not r.passed]
    assert rows["limit:max_auc"].evidence == "attacks.private.membership.auc = 0.505"
    assert rows["limit:max_extracted"].evidence.endswith("= 0 of 9")
    assert rows["max_epsilon"].evidence.startswith("privacy.epsilon = 3.99, unit user")
    assert "Art. 25" in rows["mitigation:scrub"].source


@pytest.mark.parametrize(
    "patch,failing",
    [
        ({"auc": 0.58}, "limit:max_auc"),
        ({"tpr": 0.04}, "limit:max_tpr_1pct"),
        ({"mean_16": 7.5}, "limit:max_exposure_16"),
        ({"extracted": 1}, "limit:max_extracted"),
        ({"eps": 4.2}, "max_epsilon"),
        ({"unit": "example"}, "unit"),
    ],
)
def test_review_fails_the_broken_requirement_only(patch, failing):
    rows = _rows(_results(**patch))
    assert [k for k, r in rows.items() if not r.passed] == [failing]


def test_review_fails_what_was_not_measured_or_not_applied():
    results = _results()
    del results["attacks"]["private"]["exposure"]
    results["training"]["variants"]["private"]["scrub"] = False
    results["privacy"]["variant"] = "dp_only"
    rows = _rows(results)
    failed = {k for k, r in rows.items() if not r.passed}
    assert failed == {
        "mitigation:scrub",
        "max_epsilon",
        "unit",
        "attack:exposure",
        "limit:max_exposure_16",
    }
    assert rows["limit:max_exposure_16"].evidence.endswith("not measured")


def test_review_section_for_results_json():
    spec = _spec()
    section = review_section(spec, derive_requirements(spec.threat_model), _results(auc=0.7))
    assert section["passed"] is False
    assert section["threat_model"]["release"] == "public"
    assert section["summary"]["regulations"] == "GDPR, CCPA"
    assert [r["key"] for r in section["rows"] if not r["passed"]] == ["limit:max_auc"]
    assert review_section(parse_spec(SPEC), None, _results()) is None
