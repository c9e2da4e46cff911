"""`privml dpstats vocab|ngrams`: outputs, ledger charges, hygiene and bad input."""

import json
import os

import pytest
from typer.testing import CliRunner

from privml.cli import app
from privml.data.demo_corpus import generate_demo_corpus
from privml.governance import Ledger
from privml.report.hygiene import planted_secrets, scan_text

runner = CliRunner()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("dpstats-corpus")
    generate_demo_corpus(d, users=400, seed=3)
    return d


def _run(*args):
    return runner.invoke(app, ["dpstats", *map(str, args)])


def _release(cmd, corpus, out, *extra, eps=1, delta=1e-6, k=50):
    """``privml dpstats CMD CORPUS --epsilon --delta --max-per-user --out`` (+ extra options)."""
    opts = ["--epsilon", eps, "--delta", delta, "--max-per-user", k, "--out", out]
    return _run(cmd, corpus, *extra, *opts)


def test_vocab_release_is_written_and_charged(corpus, tmp_path):
    out = tmp_path / "vocab.json"
    r = _release("vocab", corpus / "corpus.jsonl", out, eps=2)
    assert r.exit_code == 0, r.output
    v = json.loads(out.read_text())
    assert {"the", "you", "thanks"} & set(v["tokens"]) and len(v["tokens"]) > 20
    assert v["parameters"]["algorithm"] == "policy_gaussian"
    assert v["charge"]["users_charged"] == 400
    with Ledger(os.environ["PRIVML_LEDGER"]) as led:
        bal = led.balance("u00000")
    # One charge; the Gaussian release costs at most its stated ε at the policy's δ.
    assert bal.charges == 1 and 0 < bal.epsilon_spent <= 2.0 + 1e-6


def test_ngrams_release_levels_and_charge(corpus, tmp_path):
    out = tmp_path / "ngrams.json"
    r = _release("ngrams", corpus / "corpus.jsonl", out, "--n", 3, eps=2)
    assert r.exit_code == 0, r.output
    v = json.loads(out.read_text())
    assert [lv["n"] for lv in v["levels"]] == [1, 2, 3]
    assert all(lv["released"] == len(lv["ngrams"]) for lv in v["levels"])
    assert v["levels"][1]["released"] > 0 and v["charge"]["users_charged"] == 400
    grams1 = set(v["levels"][0]["ngrams"])
    for g in v["levels"][1]["ngrams"]:
        assert set(g.split()) <= grams1


def test_no_planted_value_or_canary_in_the_outputs(corpus, tmp_path):
    secrets = planted_secrets(corpus / "pii_labels.jsonl", corpus / "canaries.json")
    for cmd in (["vocab"], ["ngrams", "--n", 3]):
        out = tmp_path / f"{cmd[0]}.json"
        r = _release(cmd[0], corpus / "corpus.jsonl", out, *cmd[1:])
        assert r.exit_code == 0, r.output
        assert scan_text(out.name, out.read_text(), secrets) == []


def test_release_over_the_policy_delta_is_refused_and_writes_nothing(corpus, tmp_path):
    out = tmp_path / "v.json"
    r = _release("vocab", corpus / "corpus.jsonl", out, delta=1e-3, k=10)
    assert r.exit_code == 1 and "budget" in r.output and "δ" in r.output
    assert not out.exists()


@pytest.mark.parametrize(
    ("eps", "delta", "message"),
    [
        (0, 1e-6, "epsilon: must be"),
        (-2, 1e-6, "epsilon: must be"),
        (1, 1, "delta: must be"),
        (1, 0, "delta: must be"),
    ],
)
def test_bad_epsilon_delta(corpus, tmp_path, eps, delta, message):
    for cmd in ("vocab", "ngrams"):
        r = _release(cmd, corpus / "corpus.jsonl", tmp_path / "o.json", eps=eps, delta=delta)
        assert r.exit_code == 2 and message in r.output


def test_empty_corpus_and_rows_without_user_id(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    r = _release("vocab", empty, tmp_path / "o.json", k=5)
    assert r.exit_code == 2 and "empty.jsonl" in r.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"user_id": "a", "text": "hello"}\n{"text": "no id here"}\n')
    r = _release("ngrams", bad, tmp_path / "o.json", k=5)
    assert r.exit_code == 2 and "bad.jsonl:2" in r.output and "user_id" in r.output
    assert not (tmp_path / "o.json").exists()


def test_out_that_is_a_directory_is_refused_before_any_charge(corpus, tmp_path):
    r = _release("vocab", corpus / "corpus.jsonl", tmp_path)
    assert r.exit_code == 2 and "--out" in r.output and "is a directory" in r.output
    with Ledger(os.environ["PRIVML_LEDGER"]) as led:
        assert led.balance("u00000").charges == 0
