"""Spec validation: every error names the field and the problem."""

from pathlib import Path

import pytest

from privml.pipeline.demo import demo_spec_path
from privml.pipeline.spec import (
    SpecError,
    enforce_threat_model,
    load_spec,
    parse_spec,
    resolve_path,
)

BASE = {"data": {"private": "corpus.jsonl"}, "attacks": {"run": ["membership"]}}


def _err(raw) -> str:
    with pytest.raises(SpecError) as info:
        parse_spec(raw)
    return str(info.value)


def test_negative_epsilon_is_named():
    assert "dp.target_epsilon: must be > 0, got -1" in _err({**BASE, "dp": {"target_epsilon": -1}})


@pytest.mark.parametrize(
    "patch,expected",
    [
        ({"dp": {"delta": 1.5}}, "dp.delta: must be < 1, got 1.5"),
        ({"dp": {"unit": "group"}}, "dp.unit:"),
        ({"dp": {"max_grad_norm": 0}}, "dp.max_grad_norm: must be > 0, got 0"),
        ({"dp": {"batch_size": 0}}, "dp.batch_size: must be >= 1, got 0"),
        ({"dp": {"clipping": "fast"}}, "dp.clipping:"),
        ({"data": {"utility_max_messages": 10}}, "data.utility_max_messages: must be >= 100"),
        ({"model": {"d_model": 100, "heads": 3}}, "divisible by heads"),
        (
            {"model": {"finetune": {"epochs": 0, "batch_size": 1, "lr": 1}}},
            "model.finetune.epochs: must be >= 1, got 0",
        ),
        ({"scrub": {"enabled": "maybe"}}, "scrub.enabled:"),
        ({"colour": "blue"}, "colour: unknown field"),
        ({"variants": ["everything"]}, "variants[0]: must be one of 'dp_only' or 'scrub_only'"),
        (
            {"threat_model": {"adversary": "external", "access": ["top1", "telepathy"]}},
            "threat_model.access[1]: must be one of 'top1', 'scores', 'weights' or 'snapshots', "
            "got 'telepathy'",
        ),
        ({"threat_model": {"release": "public"}}, "threat_model.access: required field is missing"),
    ],
)
def test_field_errors(patch, expected):
    assert expected in _err({**BASE, **patch})


def test_missing_private_path():
    assert "data.private: required field is missing" in _err({"data": {}})


def test_canary_attacks_need_canaries():
    assert "need data.canaries" in _err({"data": {"private": "x"}})


def test_all_errors_are_reported_together():
    msg = _err({**BASE, "dp": {"target_epsilon": -1, "delta": 2}})
    assert "dp.target_epsilon" in msg and "dp.delta" in msg


def test_yaml_errors_name_file_and_line(tmp_path: Path):
    p = tmp_path / "bad.yaml"
    p.write_text("data:\n  private: x\n   bad: [\n")
    with pytest.raises(SpecError, match=r"bad.yaml:\d+: invalid YAML"):
        load_spec(p)
    with pytest.raises(SpecError, match="spec file not found"):
        load_spec(tmp_path / "missing.yaml")
    p.write_text("- just\n- a list\n")
    with pytest.raises(SpecError, match="must be a YAML mapping"):
        load_spec(p)


def test_demo_spec_is_valid_and_matches_the_issue():
    spec = load_spec(demo_spec_path())
    assert spec.dp.enabled and spec.dp.unit == "user" and spec.dp.target_epsilon == 4.0
    assert "dp_only" in spec.variants
    assert set(spec.variant_settings()) >= {"baseline", "private", "dp_only"}
    tm = spec.threat_model
    assert tm is not None and tm.release == "public" and tm.data == ["pii"]
    reqs = {r.key: r.value for r in enforce_threat_model(spec)}  # the demo is not refused
    assert reqs["mitigation:scrub"] and reqs["mitigation:dp"] and reqs["max_epsilon"] == 4.0
    assert {"attack:membership", "attack:exposure", "attack:extraction"} <= set(reqs)
    example = Path(__file__).parents[2] / "examples" / "text_prediction.yaml"
    assert example.read_text() == demo_spec_path().read_text()


def test_paths_resolve_against_spec_folder_and_out(tmp_path: Path):
    assert resolve_path("${out}/data/c.jsonl", tmp_path / "s", tmp_path / "o") == (
        tmp_path / "o" / "data" / "c.jsonl"
    )
    assert resolve_path("c.jsonl", tmp_path / "s", tmp_path / "o") == tmp_path / "s" / "c.jsonl"


def test_cli_demo_default_is_the_demo_user_count():
    from privml.cli import DEMO_USERS_DEFAULT
    from privml.pipeline.demo import DEMO_USERS

    assert DEMO_USERS_DEFAULT == DEMO_USERS >= 2000


def test_utility_sample_is_seeded_and_capped():
    from privml.pipeline.text_prediction import _utility_sample

    held = list(range(0, 5000, 2))
    assert _utility_sample(held, None, 0) is held and _utility_sample(held, 4000, 0) is held
    a, b = _utility_sample(held, 500, 0), _utility_sample(held, 500, 0)
    assert a == b and len(set(a)) == 500 and set(a) <= set(held) and a == sorted(a)
    assert _utility_sample(held, 500, 1) != a
