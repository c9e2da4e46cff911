"""A real `privml run` killed with SIGKILL during training leaves the ledger consistent.

Documented behaviour (README, "Privacy budget ledger"): the reservation stays open and counts as
spent; nothing is double-spent and nothing is silently lost. A second run on the same people is
refused before training until an operator releases the reservation.
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from privml.data.demo_corpus import generate_demo_corpus
from privml.governance import BudgetExceeded, Ledger
from privml.pipeline.spec import parse_spec
from privml.pipeline.text_prediction import run_pipeline

SPEC = {
    "name": "kill-test",
    "seed": 0,
    "data": {"private": "data/corpus.jsonl", "public_max_rows": 3000},
    "ledger": "ledger.sqlite",
    "model": {
        "vocab_size": 1024,
        "d_model": 32,
        "layers": 1,
        "heads": 2,
        "context": 32,
        "pretrain": {"epochs": 1, "batch_size": 32, "lr": 0.003},
        "finetune": {"epochs": 1, "batch_size": 16, "lr": 0.003},
    },
    "scrub": {"enabled": False},
    "dp": {"epochs": 200, "batch_size": 16},  # long enough to be killed mid-way
    "variants": [],
    "attacks": {"run": ["membership"], "membership_max": 50},
}


def _wait_for(predicate, timeout: float, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc.poll() is not None:
            pytest.fail(f"run ended early with code {proc.returncode}: {proc.stderr.read()}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the run never reached DP training")
        time.sleep(0.5)


@pytest.mark.slow
def test_sigkill_during_training_keeps_the_reservation_as_spent(tmp_path):
    generate_demo_corpus(tmp_path / "data", users=60, seed=3, canaries_per_level=1)
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(SPEC), encoding="utf-8")
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "privml.cli", "run", str(spec_path), "--out", str(out), "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    # The baseline and the private model's DP training start after pre-training is saved.
    _wait_for(lambda: (out / "models" / "public_only.pt").exists(), 300, proc)
    time.sleep(3)  # inside fine-tuning
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "results.json").exists()  # the run really died mid-way

    users = sorted({json.loads(x)["user_id"] for x in open(tmp_path / "data" / "corpus.jsonl")})
    with Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}") as led:
        entries = led.history()
        assert len(entries) == 1  # reserved once: never double-spent
        (entry,) = entries
        assert entry.status == "reserved" and entry.counts  # open, and counted as spent
        trained_on = entry.users
        spent = [b.epsilon_spent for b in led.balances(users).values() if b.charges]
        assert len(spent) == trained_on  # every training user carries the charge
        assert all(abs(e - entry.epsilon) < 1e-9 for e in spent)
        assert 3.5 < entry.epsilon <= 4.0

    # A second run on the same people is refused before training: their budget is spent.
    second = parse_spec({**SPEC, "ledger": str(tmp_path / "ledger.sqlite")})
    with pytest.raises(BudgetExceeded, match="budget"):
        run_pipeline(second, tmp_path, tmp_path / "run2", quiet=True)
    assert not (tmp_path / "run2" / "models").exists()

    # After the operator's release, the same run fits again (budget not silently lost either).
    with Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}") as led:
        led.release(entry.reservation_id, "operator: killed run deleted, nothing released")
        assert all(b.epsilon_spent == 0 for b in led.balances(users).values())
