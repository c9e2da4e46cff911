"""The CLI: bad input stops with file:line and a reason; demo-data writes its three files."""

import json

from typer.testing import CliRunner

from privml.cli import app

runner = CliRunner()


def _spec(tmp_path, corpus: str) -> str:
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"data:\n  private: {corpus}\nattacks:\n  run: [membership]\n")
    return str(spec)


def test_run_stops_on_bad_row_with_file_and_line(tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(
        '{"user_id": "a", "text": "hello there"}\n'
        '{"user_id": "b", "text": "fine thanks"}\n'
        '{"user_id": "c", "text": "my secret is 123-45-6789"\n'
    )
    res = runner.invoke(app, ["run", _spec(tmp_path, "corpus.jsonl"), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "corpus.jsonl:3: invalid JSON" in res.output
    assert "123-45-6789" not in res.output  # the row's content is never echoed
    assert not (tmp_path / "o" / "results.json").exists()


def test_run_rejects_invalid_spec_with_field_name(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text("data:\n  private: c.jsonl\ndp:\n  target_epsilon: -1\n")
    res = runner.invoke(app, ["run", str(spec), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "dp.target_epsilon: must be > 0, got -1" in res.output


def test_demo_data_writes_corpus_labels_and_canaries(tmp_path):
    res = runner.invoke(app, ["demo-data", "--out", str(tmp_path), "--users", "60", "--seed", "4"])
    assert res.exit_code == 0, res.output
    rows = [json.loads(x) for x in (tmp_path / "corpus.jsonl").read_text().splitlines()]
    assert len({r["user_id"] for r in rows}) == 60
    labels = (tmp_path / "pii_labels.jsonl").read_text().splitlines()
    assert labels and all(json.loads(x)["type"] for x in labels)
    canaries = json.loads((tmp_path / "canaries.json").read_text())
    assert {c["repetitions"] for c in canaries} == {1, 4, 16}
    # the summary prints counts only, never a planted value
    assert not any(json.loads(x)["value"] in res.output for x in labels)


def test_show_secrets_flag_reaches_the_attacks(tmp_path, monkeypatch):
    """Extraction phrases are tagged unless --show-secrets; the flag sets the spec's switch."""
    import privml.pipeline.text_prediction as tp

    seen = []

    def fake_run(spec, *args, **kwargs):
        seen.append(spec.attacks.show_secrets)
        return {"privacy": {}, "verdict": {"status": "pass", "summary": ""}}

    monkeypatch.setattr(tp, "run_pipeline", fake_run)
    spec = _spec(tmp_path, "corpus.jsonl")
    for extra in ([], ["--show-secrets"]):
        res = runner.invoke(app, ["run", spec, "--out", str(tmp_path / "o"), *extra])
        assert res.exit_code == 0, res.output
    assert seen == [False, True]
