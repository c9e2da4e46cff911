"""The pipeline's DP vocabulary option: words added, charged, reported, and no PII as a token."""

import json

import pytest

from privml.data.demo_corpus import generate_demo_corpus
from privml.governance import Ledger
from privml.model.public_corpus import public_lines
from privml.model.tokenizer import load_tokenizer, train_tokenizer, word_splitter
from privml.pipeline.spec import parse_spec
from privml.pipeline.text_prediction import run_pipeline

SPEC = {
    "name": "dp-vocab",
    "seed": 0,
    "data": {
        "private": "${out}/data/corpus.jsonl",
        "pii_labels": "${out}/data/pii_labels.jsonl",
        "canaries": "${out}/data/canaries.json",
        "public_max_rows": 200,
    },
    "model": {
        "vocab_size": 1024,
        "d_model": 32,
        "layers": 1,
        "heads": 2,
        "context": 32,
        "pretrain": {"epochs": 1, "batch_size": 32, "lr": 0.003},
        "finetune": {"epochs": 1, "batch_size": 16, "lr": 0.003},
        "dp_vocab": {
            "enabled": True,
            "epsilon": 1.5,
            "delta": 1e-7,
            "max_per_user": 20,
            "selection": "frequent",
        },
    },
    "dp": {"target_epsilon": 2.0, "epochs": 1, "batch_size": 64},
    "variants": [],
    "attacks": {"run": ["membership"], "membership_max": 50},
    "ledger": "${out}/ledger.sqlite",
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("dpvocab")
    generate_demo_corpus(out / "data", users=1000, seed=2, canaries_per_level=2)
    results = run_pipeline(parse_spec(SPEC), out, out, quiet=True)
    return out, results


def test_words_are_added_and_reported(run):
    out, results = run
    v = results["model"]["dp_vocabulary"]
    assert v["enabled"] and v["added"] > 0 and v["released"] >= v["added"]
    assert v["epsilon"] == 1.5 and v["algorithm"] == "policy_gaussian"
    assert v["users_charged"] == results["data"]["train_users"]
    public = train_tokenizer(public_lines(("wikitext2", "tinyshakespeare")), 1024)
    tok = load_tokenizer(out / "tokenizer.json")
    assert tok.get_vocab_size() == public.get_vocab_size() + v["added"]
    assert results["model"]["vocab_size"] == tok.get_vocab_size()
    html = (out / "report.html").read_text()
    assert "DP vocabulary" in html and f"{v['added']} words added" in html


def test_vocabulary_release_is_charged_on_top_of_training(run):
    out, results = run
    assert results["budget"]["charged"]
    users = sorted({json.loads(line)["user_id"] for line in (out / "data" / "corpus.jsonl").open()})
    with Ledger(str(out / "ledger.sqlite")) as led:
        charges = [b.charges for b in led.balances(users).values()]
        spent = max(b.epsilon_spent for b in led.balances(users).values())
    # Training users carry two charges (the DP vocabulary and the DP-SGD run); held-out none.
    assert charges.count(2) == results["data"]["train_users"]
    assert charges.count(0) == results["data"]["heldout_users"]
    assert 2.0 < spent <= 1.5 + 2.0 + 1e-6
    assert results["budget"]["epsilon_spent"]["max"] == pytest.approx(spent, abs=1e-3)


def test_no_planted_pii_value_or_canary_becomes_a_token(run):
    out, _ = run
    tok = load_tokenizer(out / "tokenizer.json")
    vocab = set(tok.get_vocab())
    public = set(train_tokenizer(public_lines(("wikitext2", "tinyshakespeare")), 1024).get_vocab())
    added = vocab - public
    split = word_splitter()
    values = [json.loads(line)["value"] for line in (out / "data" / "pii_labels.jsonl").open()]
    secrets = [c["secret"] for c in json.loads((out / "data" / "canaries.json").read_text())]
    for v in values + secrets:
        assert v.lower() not in vocab and v.lower().replace(" ", "") not in vocab
    pii_words = {w for v in values for w in split(v)} - public  # words only PII would bring
    assert added and not (added & pii_words)
    assert all(not (len(t) > 1 and t.isdigit()) for t in vocab)  # numbers stay one digit a token
