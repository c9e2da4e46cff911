"""The demo: generate the synthetic corpus into DIR/data/ and run the packaged demo spec."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from privml.data.demo_corpus import generate_demo_corpus
from privml.pipeline.spec import RunSpec, load_spec
from privml.pipeline.text_prediction import run_pipeline

DEMO_USERS = 40000  # DP noise per user shrinks with the number of users (BENCHMARKS.md)
# One e-mail per user (plus the canary users' planted messages): user-level DP learns from the
# number of users, while the non-private baseline's cost grows with the number of messages, and
# it needs several epochs to memorise (and so to show what DP prevents).
DEMO_MESSAGES_PER_USER = (1, 1)


def demo_spec_path() -> Path:
    return Path(str(resources.files("privml") / "resources" / "text_prediction.yaml"))


def run_demo(out: Path, *, users: int = DEMO_USERS, seed: int = 0, quiet: bool = False) -> dict:
    generate_demo_corpus(
        out / "data", users=users, seed=seed, messages_per_user=DEMO_MESSAGES_PER_USER
    )
    spec: RunSpec = load_spec(demo_spec_path())
    label = "examples/text_prediction.yaml (packaged demo spec)"
    return run_pipeline(spec, demo_spec_path().parent, out, quiet=quiet, spec_label=label)
