"""The whole pipeline on a small spec: contract keys, the directions the demo must show, and
no planted secret in any artifact.

Small but real: 400 synthetic users, a small model, a few epochs. The directions asserted are
those of the demo: the baseline leaks the 16x canaries, DP stops it, and the private model is
more useful than the public-only one.
"""

import json
import os
from pathlib import Path

import pytest

from privml.data.demo_corpus import generate_demo_corpus
from privml.governance import BudgetExceeded, Ledger
from privml.pipeline.spec import parse_spec
from privml.pipeline.text_prediction import run_pipeline

SPEC = {
    "name": "integration",
    "seed": 0,
    "data": {
        "private": "${out}/data/corpus.jsonl",
        "pii_labels": "${out}/data/pii_labels.jsonl",
        "canaries": "${out}/data/canaries.json",
        "public_max_rows": 1500,
    },
    "model": {
        "vocab_size": 2048,
        "d_model": 64,
        "layers": 2,
        "heads": 2,
        "context": 64,
        "pretrain": {"epochs": 1, "batch_size": 32, "lr": 0.003},
        "finetune": {"epochs": 6, "batch_size": 16, "lr": 0.004},
    },
    "dp": {"target_epsilon": 4.0, "epochs": 3, "batch_size": 128, "lr": 0.003},
    "variants": ["dp_only"],
    "attacks": {
        "run": ["exposure", "extraction", "membership", "sampling_extraction", "model_update"],
        "exposure_samples": 300,
        "membership_max": 300,
        "extraction_samples": 24,
        "update_beam_width": 16,
    },
}
EXAMPLE_SPEC = {
    **SPEC,
    "data": {"private": "${out}/data/corpus.jsonl", "public_max_rows": 200},
    "model": {**SPEC["model"], "finetune": {"epochs": 1, "batch_size": 16, "lr": 0.003}},
    "scrub": {"enabled": False},
    "dp": {"unit": "example", "epochs": 1, "batch_size": 32},
    "variants": [],
    "attacks": {"run": ["membership"], "membership_max": 50},
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    generate_demo_corpus(out / "data", users=400, seed=1, canaries_per_level=2)
    spec = {**SPEC, "ledger": "${out}/ledger.sqlite"}
    results = run_pipeline(parse_spec(spec), out, out, quiet=True)
    return out, results


CONTRACT = [  # key paths from the interface section
    ("privacy", "epsilon"),
    ("privacy", "delta"),
    ("privacy", "unit"),
    ("privacy", "accountant"),
    ("utility", "public_only", "next_word_accuracy"),
    ("utility", "baseline", "next_word_accuracy"),
    ("utility", "private", "next_word_accuracy"),
]
PER_VARIANT = [
    ("exposure", "mean_16"),
    ("exposure", "max"),
    ("extraction", "secrets_extracted"),
    ("extraction", "secrets_total"),
    ("membership", "auc"),
    ("membership", "tpr_at_1pct_fpr"),
    ("membership", "tpr_at_0.1pct_fpr"),
]


def _get(d: dict, path: tuple[str, ...]):
    for part in path:
        d = d[part]
    return d


def test_results_have_the_contract_keys(run):
    out, results = run
    on_disk = json.loads((out / "results.json").read_text())
    for path in CONTRACT:
        assert _get(on_disk, path) is not None, path
    for variant in ("baseline", "private", "dp_only"):
        for path in PER_VARIANT:
            assert _get(on_disk, ("attacks", variant, *path)) is not None, (variant, path)
    assert on_disk["privacy"]["unit"] == "user"
    assert on_disk["privacy"]["accountant"] in ("prv", "rdp")
    assert on_disk["privacy"]["epsilon"] <= 4.0
    assert on_disk["privacy"]["delta"] < 1 / on_disk["data"]["train_users"]
    variants = on_disk["training"]["variants"]
    assert variants["private"]["clipping"] == variants["dp_only"]["clipping"] == "bookkeeping"
    # two DP variants on two or more cores: the second trains in a child process, same plan
    assert variants["dp_only"]["parallel_process"] is ((os.cpu_count() or 1) >= 2)
    assert variants["private"]["parallel_process"] is False
    assert variants["dp_only"]["noise_multiplier"] == variants["private"]["noise_multiplier"]
    assert (out / "report.html").stat().st_size > 10_000
    scrubber = on_disk["data"]["scrubber"]
    assert scrubber["ner"] is True and scrubber["evaluated_recall"]["PERSON"] >= 0.9
    assert "Evaluated recall" in (out / "report.html").read_text(encoding="utf-8")


def test_the_shipped_model_is_charged_to_every_training_user(run):
    """User-level run: each training user is charged once, composed spend within the cap."""
    out, results = run
    b = results["budget"]
    assert b["charged"] and b["status"] == "committed" and b["unit"] == "user"
    assert b["users_charged"] == results["data"]["train_users"]
    spent = b["epsilon_spent"]
    assert spent["min"] == spent["max"]  # everyone has the same single charge
    assert spent["max"] <= b["policy"]["epsilon_cap"]
    assert abs(spent["max"] - results["privacy"]["epsilon"]) < 0.1  # same run, same δ
    assert b["mechanism"]["kind"] == "self_composed"
    html = (out / "report.html").read_text()
    assert "Per-person budget ledger" in html and "ε spent (composed)" in html


def test_directions(run):
    _, r = run
    base, priv, dp_only = (r["attacks"][v] for v in ("baseline", "private", "dp_only"))
    half_space = base["exposure"]["log2_space"] / 2
    # the baseline leaks ...
    assert base["exposure"]["mean_16"] >= half_space or base["extraction"]["secrets_extracted"] >= 1
    # ... and DP stops it, with and without scrubbing
    for a in (priv, dp_only):
        assert a["extraction"]["secrets_extracted"] == 0
        assert a["exposure"]["mean_16"] <= 6
        assert a["exposure"]["mean_16"] < base["exposure"]["mean_16"]
        assert a["membership"]["auc"] <= 0.6
    u = r["utility"]
    assert u["private"]["next_word_accuracy"] > u["public_only"]["next_word_accuracy"]
    assert u["baseline"]["next_word_accuracy"] > u["public_only"]["next_word_accuracy"]


def test_lm_attacks_run_in_the_pipeline_and_hide_phrases(run):
    """Sampling extraction and the model-update attack (public-only -> variant) run on every
    variant; the update that memorised the 16x canaries scores them higher than DP's does."""
    _, r = run
    for variant in ("baseline", "private", "dp_only"):
        ex = r["attacks"][variant]["sampling_extraction"]
        assert ex["n_samples"] == 24 and ex["secrets_shown"] is False
        assert all(o["phrase"].startswith("hmac:") for o in ex["overlaps"])
        upd = r["attacks"][variant]["model_update"]
        assert upd["canaries"] and all(c["secret"].startswith("hmac:") for c in upd["canaries"])

    def mean_score(variant: str) -> float:
        cs = r["attacks"][variant]["model_update"]["canaries"]
        return sum(c["differential_score"] for c in cs) / len(cs)

    assert mean_score("baseline") > mean_score("private")
    assert mean_score("baseline") > mean_score("dp_only")


def test_no_planted_value_in_any_artifact(run):
    """Independent of privml's own leak check: a plain substring search of every file."""
    out, results = run
    values = {json.loads(line)["value"] for line in (out / "data" / "pii_labels.jsonl").open()}
    for c in json.loads((out / "data" / "canaries.json").read_text()):
        values |= {c["secret"], c["secret"].replace(" ", "")}
    values = {v.lower().encode() for v in values if len(v) >= 4}
    artifacts = [
        p for p in out.rglob("*") if p.is_file() and "data" not in p.relative_to(out).parts
    ]
    assert {p.name for p in artifacts} >= {
        "results.json",
        "report.html",
        "run.log",
        "tokenizer.json",
        "baseline.pt",
        "private.pt",
    }
    for p in artifacts:
        blob = p.read_bytes().lower()
        leaked = [v for v in values if v in blob]
        assert not leaked, f"{p.name} contains {len(leaked)} planted value(s)"
    assert results["hygiene"]["leak_check"]["passed"]


def _one_record_per_user(corpus: Path) -> None:
    seen, keep = set(), []
    for line in corpus.read_text(encoding="utf-8").splitlines():
        uid = json.loads(line)["user_id"]
        if uid not in seen:
            seen.add(uid)
            keep.append(line)
    corpus.write_text("\n".join(keep) + "\n", encoding="utf-8")


def test_example_level_dp_run_states_its_unit(tmp_path):
    """Example-level DP: every message is a unit, results say so, and the ledger charges it.

    One record per user, so the group-privacy charge equals the run's own ε (k = 1).
    """
    generate_demo_corpus(tmp_path / "data", users=60, seed=2, canaries_per_level=1)
    _one_record_per_user(tmp_path / "data" / "corpus.jsonl")
    spec = {**EXAMPLE_SPEC, "ledger": "${out}/ledger.sqlite"}
    r = run_pipeline(parse_spec(spec), tmp_path, tmp_path, quiet=True)
    assert r["privacy"]["unit"] == "example"
    assert r["privacy"]["privacy_units"] == r["data"]["train_records"]
    assert r["privacy"]["epsilon"] <= 4.0
    assert r["privacy"]["delta"] == min(1e-5, 1 / (10 * r["data"]["train_records"]))
    assert set(r["attacks"]["private"]) == {"membership"}
    b = r["budget"]
    assert b["charged"] and b["status"] == "committed" and b["unit"] == "example"
    assert b["users_charged"] == r["data"]["train_users"]
    assert b["group_charged_users"] == 0
    assert b["epsilon_spent"]["max"] <= 4.0


def test_example_level_run_over_group_budget_is_refused_before_training(tmp_path):
    """Users with many records get the group-privacy bound, which breaks the cap: refused."""
    generate_demo_corpus(tmp_path / "data", users=60, seed=2, canaries_per_level=1)
    spec = {**EXAMPLE_SPEC, "ledger": "${out}/ledger.sqlite"}
    with pytest.raises(BudgetExceeded, match="budget exceeded") as err:
        run_pipeline(parse_spec(spec), tmp_path, tmp_path, quiet=True)
    assert "people would exceed the cap" in str(err.value)
    assert not (tmp_path / "models").exists()  # refused before any training
    with Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}") as led:
        assert led.history() == []  # nothing reserved
