"""The demo: generate the synthetic corpus into DIR/data/ and run the packaged demo spec."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from privml.data.demo_corpus import generate_demo_corpus
from privml.pipeline.spec import RunSpec, load_spec
from privml.pipeline.text_prediction import run_pipeline

DEMO_USERS = 3000  # more users, less DP noise per user at the same epsilon


def demo_spec_path() -> Path:
    return Path(str(resources.files("privml") / "resources" / "text_prediction.yaml"))


def run_demo(out: Path, *, users: int = DEMO_USERS, seed: int = 0, quiet: bool = False) -> dict:
    generate_demo_corpus(out / "data", users=users, seed=seed)
    spec: RunSpec = load_spec(demo_spec_path())
    label = "examples/text_prediction.yaml (packaged demo spec)"
    return run_pipeline(spec, demo_spec_path().parent, out, quiet=quiet, spec_label=label)
