"""privml.accounting against independent computations with Google's dp_accounting."""

import json

import dp_accounting
import pytest
from dp_accounting import pld, rdp
from typer.testing import CliRunner

from privml.accounting import calibrate_noise, dp_sgd_epsilon
from privml.cli import app

CASES = [  # (sigma, q, steps, delta)
    (1.1, 0.01, 1000, 1e-5),
    (0.8, 0.1, 50, 5e-5),
    (2.0, 0.001, 10000, 1e-6),
    (1.19, 0.142, 35, 5.5e-5),
]


def _event(sigma, q, steps):
    return dp_accounting.SelfComposedDpEvent(
        dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(sigma)), steps
    )


def _dp_accounting_rdp(sigma, q, steps, delta):
    acc = rdp.RdpAccountant()
    acc.compose(_event(sigma, q, steps))
    return acc.get_epsilon(delta)


def _dp_accounting_pld(sigma, q, steps, delta):
    acc = pld.PLDAccountant(value_discretization_interval=1e-4)
    acc.compose(_event(sigma, q, steps))
    return acc.get_epsilon(delta)


@pytest.mark.parametrize("sigma,q,steps,delta", CASES)
def test_prv_matches_dp_accounting_pld(sigma, q, steps, delta):
    ours = dp_sgd_epsilon(sigma, q, steps, delta, "prv")
    ref = _dp_accounting_pld(sigma, q, steps, delta)
    assert ours.bound == "upper"
    # Both are tight numerical accountants. Ours is an upper bound with an absolute error
    # budget of 0.01 (PRV's eps_error), so it may sit slightly above PLD but never below.
    assert ref - 1e-3 <= ours.epsilon <= ref * 1.01 + 0.02


@pytest.mark.parametrize("sigma,q,steps,delta", CASES)
def test_rdp_matches_dp_accounting_rdp(sigma, q, steps, delta):
    ours = dp_sgd_epsilon(sigma, q, steps, delta, "rdp")
    ref = _dp_accounting_rdp(sigma, q, steps, delta)
    assert ours.accountant == "rdp"
    assert ours.epsilon == pytest.approx(ref, rel=0.05)


@pytest.mark.parametrize("sigma,q,steps,delta", CASES)
def test_prv_is_never_looser_than_rdp(sigma, q, steps, delta):
    assert (
        dp_sgd_epsilon(sigma, q, steps, delta).epsilon
        <= dp_sgd_epsilon(sigma, q, steps, delta, "rdp").epsilon + 1e-9
    )


def test_calibration_meets_target_and_is_tight():
    sigma = calibrate_noise(4.0, 0.14, 35, 5e-5)
    eps = dp_sgd_epsilon(sigma, 0.14, 35, 5e-5).epsilon
    assert eps <= 4.0
    assert eps >= 3.95
    # Less noise would overshoot the target.
    assert dp_sgd_epsilon(sigma * 0.97, 0.14, 35, 5e-5).epsilon > 4.0


def test_large_epsilon_falls_back_without_raising():
    r = dp_sgd_epsilon(0.3, 1.0, 1000, 1e-12)  # far outside PRV's comfort zone
    assert r.epsilon > 10
    assert r.bound == "upper"


@pytest.mark.parametrize(
    "args,field",
    [
        ((0, 0.1, 10, 1e-5), "noise_multiplier"),
        ((1, 0, 10, 1e-5), "sampling_rate"),
        ((1, 0.1, 0, 1e-5), "steps"),
        ((1, 0.1, 10, 1.5), "delta"),
    ],
)
def test_invalid_input_names_the_field(args, field):
    with pytest.raises(ValueError, match=field):
        dp_sgd_epsilon(*args)


def _cli_json(command: str, *args: str) -> dict:
    common = ["--sampling-rate", "0.01", "--steps", "1000", "--delta", "1e-5"]
    res = CliRunner().invoke(app, ["accountant", command, *args, *common])
    assert res.exit_code == 0, res.output
    return json.loads(res.output)


def test_cli_epsilon_and_calibrate_print_json():
    out = _cli_json("epsilon", "--noise-multiplier", "1.1")
    assert out["bound"] == "upper" and out["accountant"] == "prv" and 0 < out["epsilon"] < 5
    out = _cli_json("calibrate", "--target-epsilon", "2")
    assert out["epsilon"] <= 2 and out["noise_multiplier"] > 0.5


def test_cli_rejects_invalid_input_with_the_field_name():
    res = CliRunner().invoke(
        app,
        [
            "accountant",
            "epsilon",
            "--noise-multiplier",
            "1",
            "--sampling-rate",
            "2",
            "--steps",
            "10",
            "--delta",
            "1e-5",
        ],
    )
    assert res.exit_code == 2 and "sampling_rate: must be in (0, 1], got 2.0" in res.output


@pytest.mark.parametrize("accountant", ["pld", "tight", "rdp"])
def test_cli_accepts_every_accountant(accountant):
    out = _cli_json("epsilon", "--noise-multiplier", "1.1", "--accountant", accountant)
    # "tight" names the bound it used: PLD here.
    assert out["bound"] == "upper" and out["accountant"] == {"tight": "pld"}.get(
        accountant, accountant
    )
    ref = _dp_accounting_rdp(1.1, 0.01, 1000, 1e-5)
    assert 1.0 < out["epsilon"] <= ref + 1e-9


def test_cli_calibrate_with_tight_accountant_meets_target():
    out = _cli_json("calibrate", "--target-epsilon", "2", "--accountant", "tight")
    assert out["accountant"] == "pld" and out["bound"] == "upper"
    assert 1.98 <= out["epsilon"] <= 2.0
