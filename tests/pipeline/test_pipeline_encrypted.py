"""`task: encrypted`: HE inference through the loopback service and three-process MPC training,
each against plaintext, in results.json and the report."""

import json

import pytest
import yaml
from typer.testing import CliRunner

from privml.cli import app
from privml.pipeline.spec import SpecError, parse_spec

SPEC = {
    "task": "encrypted",
    "name": "enc-test",
    "he": {"models": ["logreg"], "test_rows": 300, "train_rows": 2000},
    "mpc": {"rows_per_party": 60, "recipe": {"epochs": 1, "batch_size": 32}, "timeout_s": 60},
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    d = tmp_path_factory.mktemp("encrypted")
    (d / "spec.yaml").write_text(yaml.safe_dump(SPEC))
    r = CliRunner().invoke(app, ["run", str(d / "spec.yaml"), "--out", str(d / "out"), "--quiet"])
    assert r.exit_code == 0, r.output
    return d / "out", r.output


def test_results_compare_encrypted_with_plaintext(run):
    out, output = run
    res = json.loads((out / "results.json").read_text())
    he = res["he"]["logreg"]
    assert he["rows"] == 300 and he["max_abs_error"] < 1e-3 and he["label_agreement"] >= 0.995
    assert he["server_saw_secret_key"] is False and he["sizes"]["up_bytes_per_sample"] > 0
    mpc = res["mpc"]
    assert mpc["accuracy_gap_points"] <= 1.0 and mpc["mpc"]["bytes_sent_total"] > 0
    assert len(mpc["mpc"]["bytes_sent_per_party"]) == 3
    assert res["verdict"]["status"] == "pass" and "verdict: pass" in output


def test_report_says_who_could_see_what_and_the_cost(run):
    out, _ = run
    html = (out / "report.html").read_text()
    for text in (
        "What the server could see",
        "What each party could see",
        "never has the secret",
        "Bytes exchanged",
        "ms / sample",
        "honest majority",
    ):
        assert text in html
    assert "built-in method" not in html


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"he": None, "mpc": None}, "neither he nor mpc"),
        ({"mpc": {"parties": 2}}, "mpc.parties: must be >= 3"),
        ({"he": {"models": ["svm"]}}, "he.models[0]: must be one of"),
    ],
)
def test_bad_specs_name_the_field(change, message):
    with pytest.raises(SpecError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_spec({**SPEC, **change})
