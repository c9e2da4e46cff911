"""Three MPC parties as separate processes on loopback: training, inference, bad input.

Every test starts real subprocesses (``python -m privml.cli_mpc``) on free ports; the data are
tiny Adult slices so the whole file takes well under two minutes on two cores.
"""

import json
import re

import numpy as np
import pytest

from privml.crypto.mpc.compare import launch_predict, launch_train
from privml.crypto.mpc.launch import launch
from privml.crypto.mpc.recipe import with_bias
from privml.crypto.mpc.runtime import MPCError
from privml.crypto.mpc.spec import Schema, load_source

COLUMNS = "[age, education-num, capital-gain, hours-per-week, marital-status, sex]"
TRAIN = f"""\
name: tiny
parties: ["adult:train[0:200]", "adult:train[200:400]", "adult:train[400:600]"]
schema: {{columns: {COLUMNS}}}
recipe: {{epochs: 2, learning_rate: 1.0, batch_size: 50, seed: 3}}
test: "adult:test[0:2000]"
timeout_s: 30
reveal_to: [0, 1]
"""


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One three-process training run, shared by the training and inference tests."""
    root = tmp_path_factory.mktemp("mpc")
    spec = _write(root / "train.yaml", TRAIN)
    return root, launch_train(spec, root / "run")


@pytest.mark.slow
def test_three_parties_match_plaintext_training(trained):
    root, summary = trained
    mpc, plain = summary["mpc"], summary["plaintext"]
    assert mpc["rows_per_party"] == [200, 200, 200]
    assert mpc["steps"] == 2 * 12  # 600 rows in batches of 50, two epochs
    assert summary["accuracy_gap_points"] <= 1.0
    assert abs(mpc["test_accuracy"] - plain["test_accuracy"]) <= 0.01
    assert mpc["test_accuracy"] > 0.75  # it learned something (majority class is ~76%)
    # Fixed point (16 fractional bits) against float64: the weights themselves agree closely.
    assert summary["max_abs_weight_difference"] < 5e-3
    # The receivers got the same model; party 2 (not in reveal_to) got none.
    models = [json.loads((root / "run" / f"party{i}" / "model.json").read_text()) for i in (0, 1)]
    assert models[0] == models[1]
    assert not (root / "run" / "party2" / "model.json").exists()
    party2 = json.loads((root / "run" / "party2" / "results.json").read_text())
    assert party2["model_revealed_to_me"] is False and "test_accuracy" not in party2
    # Each party sent bytes to the others.
    assert all(b > 0 for b in mpc["bytes_sent_per_party"])
    assert mpc["bytes_sent_total"] > plain["bytes_pooled"]


@pytest.mark.slow
def test_secure_inference_reveals_labels_to_the_feature_owner_only(trained, tmp_path):
    root, _ = trained
    model_path = root / "run" / "party0" / "model.json"
    spec = _write(
        tmp_path / "predict.yaml",
        f"schema: {{columns: {COLUMNS}}}\nmodel: {model_path}\n"
        'features: "adult:test[0:60]"\nmodel_owner: 0\nfeature_owner: 1\ntimeout_s: 30\n',
    )
    results = launch_predict(spec, tmp_path / "run")
    assert [r["role"] for r in results] == ["model owner", "feature owner", "helper"]

    labels = json.loads((tmp_path / "run" / "party1" / "predictions.json").read_text())["labels"]
    model = json.loads(model_path.read_text())
    X = load_source("adult:test[0:60]", Schema(columns=model["schema"]["columns"])).X
    scores = with_bias(X) @ np.array([*model["weights"], model["bias"]])
    expected = (scores >= 0).astype(int)
    clear = np.abs(scores) > 1e-3  # fixed-point rounding may flip a score of ~0
    assert len(labels) == 60
    assert np.array_equal(np.array(labels)[clear], expected[clear])
    assert 0 < sum(labels) < 60

    # The model owner and the helper got nothing: no predictions file, no labels in results.
    for pid in (0, 2):
        folder = tmp_path / "run" / f"party{pid}"
        assert not (folder / "predictions.json").exists()
        assert "positives" not in results[pid] and "labels" not in results[pid]


@pytest.mark.slow
def test_a_missing_party_times_out_with_a_clear_error(tmp_path):
    # 10 s: parties 0 and 1 must find each other first, even on a loaded machine; each may
    # also name the other if it came up late, but both must name the missing party 2.
    spec = _write(tmp_path / "train.yaml", TRAIN.replace("timeout_s: 30", "timeout_s: 10"))
    with pytest.raises(MPCError) as err:
        launch("train", spec, tmp_path / "run", m=3, only=[0, 1])  # party 2 never starts
    message = str(err.value)
    pattern = (
        r"party {} failed: (party \d \(127\.0\.0\.1:\d+\), )?"
        r"party 2 \(127\.0\.0\.1:\d+\) did not connect within 10 s"
    )
    assert re.search(pattern.format(0), message), message
    assert re.search(pattern.format(1), message), message
    assert not (tmp_path / "run" / "party0" / "model.json").exists()


@pytest.mark.slow
def test_mismatched_schemas_abort_naming_the_party(tmp_path):
    spec = _write(tmp_path / "train.yaml", TRAIN)
    # Party 2's copy of the spec uses race instead of sex: a different feature schema.
    other = _write(tmp_path / "other.yaml", TRAIN.replace(", sex]", ", race]"))
    with pytest.raises(MPCError) as err:
        launch("train", spec, tmp_path / "run", m=3, spec_for={2: other})
    message = str(err.value)
    for pid in range(3):
        assert f"party {pid} failed: feature schema mismatch: party 2 (" in message, message
    assert "differs from parties 0, 1" in message
    assert not any((tmp_path / "run" / f"party{i}" / "model.json").exists() for i in range(3))
