"""The tabular scenario end to end on a tiny spec: contract keys, `privml audit` on the saved
targets, checkpoint errors, and the report's privacy-utility section.

Tiny but real: 600 Adult rows, a small MLP, 4 reference models, 60 audit canaries.
"""

import json

import pytest
import torch
from typer.testing import CliRunner

from privml.cli import app
from privml.pipeline.spec import SpecError, parse_spec
from privml.pipeline.tabular import run_tabular
from privml.pipeline.tabular_targets import load_target

SPEC = {
    "task": "tabular",
    "name": "tiny-adult",
    "seed": 0,
    "data": {"pool_size": 600},
    "model": {"hidden": [32], "train": {"epochs": 8, "batch_size": 64, "lr": 0.003}},
    "dp": {"epsilons": [1], "train": {"epochs": 2, "batch_size": 128, "lr": 0.003}},
    "attacks": {
        "reference_models": 4,
        "dp_reference_models": 4,
        "audit_canaries": 60,
        "property_inference": False,
    },
}
MEMBERSHIP_KEYS = ("auc", "tpr_at_1pct_fpr", "tpr_at_0.1pct_fpr", "tpr_at_0_fpr")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("tabular")
    results = run_tabular(parse_spec(SPEC), out, out, quiet=True, spec_label="tiny")
    return out, results


def test_results_have_the_contract_keys(run):
    out, _ = run
    r = json.loads((out / "results.json").read_text())
    for model in ("baseline", "eps_1"):
        for attack in ("loss", "lira", "rmia"):
            m = r["attacks"][model]["membership"][attack]
            for key in (*MEMBERSHIP_KEYS, "epsilon_lower_bound"):
                assert isinstance(m[key], float), (model, attack, key)
            assert 0.0 <= m["auc"] <= 1.0 and m["epsilon_lower_bound"] >= 0.0
        assert isinstance(r["attacks"][model]["attribute"]["advantage"], float)
        assert r["audit"][model]["epsilon_lower_bound"] >= 0.0
        assert r["audit"][model]["m"] == 60
        assert 0.5 < r["utility"][model]["accuracy"] <= 1.0
    assert r["privacy"]["eps_1"]["epsilon"] <= 1.0
    assert r["privacy"]["eps_1"]["unit"] == "example"
    assert "baseline" not in r["privacy"]  # the baseline claims nothing
    # the DP target's audit must not refute its claim
    assert r["audit"]["eps_1"]["epsilon_lower_bound"] < r["privacy"]["eps_1"]["epsilon"]


def test_report_shows_the_tradeoff_and_every_model(run):
    out, _ = run
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 3  # trade-off plot + one ROC per model
    for text in ("Privacy–utility report", "eps_1", "LiRA (online)", "RMIA", "one training run"):
        assert text in html


def test_privml_audit_measures_the_saved_targets_without_retraining(run, tmp_path):
    out, results = run
    audit_spec = out / "audit.yaml"
    assert "models/baseline.pt" in audit_spec.read_text()
    res = CliRunner().invoke(app, ["audit", str(audit_spec), "--out", str(tmp_path), "--quiet"])
    assert res.exit_code == 0, res.output
    again = json.loads((tmp_path / "results.json").read_text())
    for model in ("baseline", "eps_1"):
        # the same weights and members: the loss attack and accuracy are reproduced exactly
        assert again["utility"][model] == results["utility"][model]
        a, b = (x["attacks"][model]["membership"]["loss"] for x in (again, results))
        assert a["auc"] == b["auc"] and a["tpr_at_1pct_fpr"] == b["tpr_at_1pct_fpr"]
    assert again["privacy"]["eps_1"]["epsilon"] == results["privacy"]["eps_1"]["epsilon"]


def test_checkpoints_load_weights_only_and_bad_ones_are_named(run, tmp_path):
    out, _ = run
    t = load_target(out / "models" / "eps_1.pt")
    assert t.dp["epsilon"] <= 1.0 and t.members.sum() == 300
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="bad.pt: not a privml tabular checkpoint"):
        load_target(bad)
    torch.save({"version": 1}, bad)
    with pytest.raises(ValueError, match=r"bad.pt: .*missing"):
        load_target(bad)
    with pytest.raises(ValueError, match="missing.pt: checkpoint not found"):
        load_target(tmp_path / "missing.pt")


def test_audit_refuses_a_pool_that_does_not_match(run, tmp_path):
    out, _ = run
    spec = {**SPEC, "data": {"pool_size": 700}, "models": {"baseline": {"path": "m.pt"}}}
    (tmp_path / "m.pt").write_bytes((out / "models" / "baseline.pt").read_bytes())
    (tmp_path / "a.yaml").write_text(json.dumps(spec))
    res = CliRunner().invoke(app, ["audit", str(tmp_path / "a.yaml"), "--out", str(tmp_path)])
    assert res.exit_code == 2
    assert "m.pt: trained on a pool of 600 rows" in res.output


def test_tabular_spec_errors_name_the_field():
    with pytest.raises(SpecError, match=r"dp\.epsilons: every epsilon must be > 0"):
        parse_spec({**SPEC, "dp": {"epsilons": [0]}})
    with pytest.raises(SpecError, match=r"attacks: reference_models must be even"):
        parse_spec({**SPEC, "attacks": {"reference_models": 5}})
    with pytest.raises(SpecError, match=r"task: must be one of"):
        parse_spec({**SPEC, "task": "images"})
    res = CliRunner().invoke(app, ["audit", "/nonexistent.yaml", "--out", "/tmp/x"])
    assert res.exit_code == 2 and "spec file not found" in res.output


def test_audit_needs_models(tmp_path):
    (tmp_path / "s.yaml").write_text(json.dumps(SPEC))
    res = CliRunner().invoke(app, ["audit", str(tmp_path / "s.yaml"), "--out", str(tmp_path)])
    assert res.exit_code == 2 and "models: required for privml audit" in res.output
