"""Bad input gets a ValueError naming the field and the value, and the CLI exits 2 with it."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from privml.cli_telemetry import telemetry_app
from privml.telemetry import (
    DBitFlipClient,
    OneBitMeanClient,
    SeededSource,
    SimulationConfig,
    estimate_histogram,
    estimate_mean,
    histogram_variance,
    mean_variance,
    mean_variance_bound,
    randomize_histogram,
    randomize_mean,
)

RNG = SeededSource(0)


@pytest.mark.parametrize("eps", [0, -1.0, float("nan"), float("inf"), "abc", None])
def test_epsilon_must_be_finite_and_positive(eps):
    for call in (
        lambda: OneBitMeanClient.create(eps, 10.0, rng=RNG),
        lambda: DBitFlipClient.create(eps, 8, 2, rng=RNG),
        lambda: randomize_mean([1.0], eps, 10.0, rng=RNG),
        lambda: estimate_mean([0, 1], eps, 10.0),
        lambda: histogram_variance([0, 1], 4, 2, eps),
    ):
        with pytest.raises(ValueError, match=r"^epsilon: must be a finite number > 0, got "):
            call()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: mean_variance_bound(0, 1.0, 10.0),
            r"n \(clients\): must be an integer >= 1, got 0",
        ),
        (lambda: estimate_mean([], 1.0, 10.0), r"n \(clients\) must be >= 1"),
        (lambda: mean_variance([], 1.0, 10.0), r"n \(clients\): must be an integer >= 1, got 0"),
        (
            lambda: OneBitMeanClient.create(1.0, 0.0, rng=RNG),
            r"m: must be a finite number > 0, got 0.0",
        ),
        (
            lambda: randomize_mean([1.0], 1.0, -5, rng=RNG),
            r"m: must be a finite number > 0, got -5",
        ),
        (
            lambda: OneBitMeanClient.create(1.0, 10.0, s=0, rng=RNG),
            r"s: must be an integer >= 1, got 0",
        ),
        (
            lambda: OneBitMeanClient.create(1.0, 10.0, gamma=0.5, rng=RNG),
            r"gamma: must be a number in \[0, 0.5\), got 0.5",
        ),
        (
            lambda: DBitFlipClient.create(1.0, 8, 9, rng=RNG),
            r"d: must be an integer in \[1, 8\], got 9",
        ),
        (
            lambda: DBitFlipClient.create(1.0, 8, 0, rng=RNG),
            r"d: must be an integer in \[1, 8\], got 0",
        ),
        (
            lambda: randomize_mean([1.0, 10.5], 1.0, 10.0, rng=RNG),
            r"value: must be in \[0, m\] = \[0, 10\], got 10.5",
        ),
        (
            lambda: randomize_mean([-0.1], 1.0, 10.0, rng=RNG),
            r"value: must be in \[0, m\] = \[0, 10\], got -0.1",
        ),
        (
            lambda: randomize_mean([np.nan], 1.0, 10.0, rng=RNG),
            r"value: must be in \[0, m\] = \[0, 10\], got nan",
        ),
        (
            lambda: randomize_histogram([0, 4], 4, 2, 1.0, RNG),
            r"bucket: must be an integer in \[0, k\) = \[0, 4\), got 4",
        ),
        (
            lambda: randomize_histogram([-1], 4, 2, 1.0, RNG),
            r"bucket: must be an integer in \[0, k\) = \[0, 4\), got -1",
        ),
        (
            lambda: randomize_histogram([1.5], 4, 2, 1.0, RNG),
            r"bucket: must be an integer in \[0, k\) = \[0, 4\), got 1.5",
        ),
        (lambda: estimate_mean([0, 2], 1.0, 10.0), r"bits: reports must be 0 or 1, got 2"),
        (
            lambda: (
                estimate_histogram([[0, 1]], [[1, 0]], 4, 1.0)
                if False
                else estimate_histogram([[0, 1]], [[1, 0]], 1, 1.0)
            ),
            r"d: must be an integer in \[1, 1\], got 2",
        ),
        (
            lambda: SimulationConfig(clients=(0,), epsilons=(1.0,)),
            r"clients: must be an integer >= 1, got 0",
        ),
        (
            lambda: SimulationConfig(clients=(10,), epsilons=(1.0,), mechanisms=("rappor",)),
            r"mechanism: must be one of",
        ),
    ],
)
def test_bad_input_names_field_and_value(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_client_report_rejects_out_of_range_values():
    mean_client = OneBitMeanClient.create(1.0, 10.0, rng=RNG)
    with pytest.raises(ValueError, match=r"value: must be in \[0, m\] = \[0, 10\], got 11.0"):
        mean_client.report(11.0)
    hist_client = DBitFlipClient.create(1.0, 8, 2, rng=RNG)
    with pytest.raises(
        ValueError, match=r"value: must be an integer in \[0, k\) = \[0, 8\), got 8"
    ):
        hist_client.report(8)


def _run(*argv):
    return CliRunner().invoke(telemetry_app, ["simulate", *argv])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--epsilon", "0"], "error: epsilon: must be a finite number > 0, got 0.0"),
        (["--epsilon", "-1"], "error: epsilon: must be a finite number > 0, got -1.0"),
        (["--epsilon", "nan"], "error: epsilon: must be a finite number > 0, got nan"),
        (["--epsilons", "1,0"], "error: epsilons: must be a finite number > 0, got '0'"),
        (["--epsilons", "a:b"], "error: epsilons: expected a list like 0.5,1,2 or a grid"),
        (["--clients", "0"], "error: clients: must be an integer >= 1, got 0"),
        (["--mechanism", "rappor"], "error: mechanism: must be 1bitmean, dbitflip or both"),
        (["--m", "0"], "error: m: must be a finite number > 0, got 0.0"),
        (["--buckets", "4", "--sample", "5"], "error: d: must be an integer in [1, 4], got 5"),
        (["--repeats", "1"], "error: repeats: must be an integer >= 2, got 1"),
    ],
)
def test_cli_bad_input_exits_2_with_error(argv, message, tmp_path):
    r = _run("--clients", "50", "--repeats", "5", *argv, "--out", str(tmp_path / "o"))
    assert r.exit_code == 2, r.output
    assert message in r.stderr
    assert not (tmp_path / "o").exists()


def test_cli_simulate_prints_table_and_writes_json_and_png(tmp_path):
    out = tmp_path / "sim"
    r = _run(
        "--clients", "200", "--clients", "2000", "--epsilon", "1", "--epsilons", "0.5:2:2",
        "--repeats", "40", "--seed", "3", "--out", str(out),
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0].split()[:3] == ["mechanism", "ε", "N"]
    assert len([ln for ln in lines if ln.startswith(("1bitmean", "dbitflip"))]) == 2 * 2 * 3
    data = json.loads((out / "telemetry_simulation.json").read_text())
    assert data["config"]["epsilons"] == [0.5, 1.0, 2.0]
    assert len(data["rows"]) == 12 and {"rmse", "theory_std", "ratio"} <= set(data["rows"][0])
    assert (out / "telemetry_error.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Same seed, same numbers.
    again = _run(
        "--clients", "200", "--clients", "2000", "--epsilon", "1", "--epsilons", "0.5:2:2",
        "--repeats", "40", "--seed", "3", "--out", str(tmp_path / "again"),
    )  # fmt: skip
    assert again.stdout.splitlines()[:13] == lines[:13]
