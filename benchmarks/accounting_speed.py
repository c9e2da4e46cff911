"""Accountant speed, side by side: privml vs dp_accounting (PLD, RDP) vs prv_accountant.

Two tasks, the ones the budget ledger and the pipeline run most:

* epsilon of 1e5 DP-SGD steps (Poisson rate q, noise multiplier sigma) at delta;
* calibration: the noise multiplier for a target epsilon over the same steps.

Every contender runs in this one process, one after the other, with privml's caches cleared
before each call; the median of ``--repeats`` runs is reported with the epsilon each returns
(so speed is never bought with a looser figure unnoticed). Needs the ``bench`` extra
(``pip install -e '.[bench]'``) for ``prv_accountant``.

    .venv/bin/python benchmarks/accounting_speed.py
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import time
import warnings
from collections.abc import Callable

import dp_accounting
from absl import logging as absl_logging
from dp_accounting import mechanism_calibration, pld, rdp

from privml.accounting import accountants, calibrate_noise, dp_sgd, epsilon


def _event(sigma: float, q: float, steps: int) -> dp_accounting.DpEvent:
    return dp_accounting.SelfComposedDpEvent(
        dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(sigma)), steps
    )


def _epsilon_contenders(
    sigma: float, q: float, steps: int, delta: float, prv_error: float
) -> dict[str, Callable[[], float]]:
    from prv_accountant.dpsgd import DPSGDAccountant

    def ours(accountant: str) -> Callable[[], float]:
        def run() -> float:
            accountants.clear_caches()
            return epsilon(dp_sgd(sigma, q, steps), delta, accountant).epsilon

        return run

    def dpa_pld() -> float:
        acc = pld.PLDAccountant()  # default grid, 1e-4
        acc.compose(_event(sigma, q, steps))
        return acc.get_epsilon(delta)

    def dpa_rdp() -> float:
        acc = rdp.RdpAccountant()
        acc.compose(_event(sigma, q, steps))
        return acc.get_epsilon(delta)

    def prv_acc() -> float:
        acc = DPSGDAccountant(sigma, q, steps, eps_error=prv_error, delta_error=delta / 1000)
        return acc.compute_epsilon(delta=delta, num_steps=steps)[2]  # upper end

    return {
        "privml tight (PLD)": ours("tight"),
        "privml prv (CLI default)": ours("prv"),
        "privml rdp": ours("rdp"),
        "dp_accounting PLD (1e-4 grid)": dpa_pld,
        "dp_accounting RDP": dpa_rdp,
        f"prv_accountant (eps_error {prv_error:g}, upper)": prv_acc,
    }


def _calibration_contenders(
    target: float, q: float, steps: int, delta: float, prv_error: float
) -> dict[str, Callable[[], float]]:
    from prv_accountant.dpsgd import find_noise_multiplier

    def ours(accountant: str) -> Callable[[], float]:
        def run() -> float:
            accountants.clear_caches()
            return calibrate_noise(target, q, steps, delta, accountant)

        return run

    def dpa(make: Callable[[], dp_accounting.PrivacyAccountant]) -> Callable[[], float]:
        def run() -> float:
            return mechanism_calibration.calibrate_dp_mechanism(
                make, lambda s: _event(s, q, steps), target, delta
            )

        return run

    def prv_acc() -> float:
        return find_noise_multiplier(q, steps, target, delta, eps_error=prv_error)

    return {
        "privml tight (PLD)": ours("tight"),
        "privml prv (CLI default)": ours("prv"),
        "dp_accounting PLD (1e-4 grid)": dpa(pld.PLDAccountant),
        "dp_accounting RDP": dpa(rdp.RdpAccountant),
        f"prv_accountant (eps_error {prv_error:g})": prv_acc,
    }


def _time(fn: Callable[[], float], repeats: int) -> tuple[float, float]:
    seconds, value = [], math.nan
    for _ in range(repeats):
        start = time.perf_counter()
        value = float(fn())
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), value


def _table(title: str, unit: str, rows: dict[str, tuple[float, float]]) -> str:
    base = rows["privml tight (PLD)"][0]
    lines = [f"**{title}**", "", f"| contender | seconds | ratio to privml tight | {unit} |"]
    lines.append("| --- | --- | --- | --- |")
    for name, (sec, value) in rows.items():
        lines.append(f"| {name} | {sec:.3f} | {sec / base:.2f}x | {value:.5g} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--noise-multiplier", type=float, default=1.0)
    parser.add_argument("--sampling-rate", type=float, default=0.01)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--delta", type=float, default=1e-5)
    parser.add_argument("--target-epsilon", type=float, default=4.0)
    parser.add_argument("--prv-error", type=float, default=0.01, help="prv_accountant eps_error")
    parser.add_argument("--repeats", type=int, default=3, help="runs per epsilon contender")
    parser.add_argument("--json", action="store_true", help="print raw figures as JSON too")
    args = parser.parse_args()
    absl_logging.set_verbosity(absl_logging.ERROR)
    warnings.simplefilter("ignore")
    s, q, t, d = args.noise_multiplier, args.sampling_rate, args.steps, args.delta

    eps_rows = {
        name: _time(fn, args.repeats)
        for name, fn in _epsilon_contenders(s, q, t, d, args.prv_error).items()
    }
    contenders = _calibration_contenders(args.target_epsilon, q, t, d, args.prv_error)
    cal_rows = {name: _time(fn, 1) for name, fn in contenders.items()}
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print()
    print(
        _table(
            f"epsilon: sigma={s}, q={q}, {t} steps, delta={d} (median of {args.repeats})",
            "epsilon",
            eps_rows,
        )
    )
    print()
    print(
        _table(
            f"calibration: target epsilon {args.target_epsilon}, q={q}, {t} steps, "
            f"delta={d} (one run)",
            "noise multiplier",
            cal_rows,
        )
    )
    if args.json:
        print(json.dumps({"epsilon": eps_rows, "calibration": cal_rows}, indent=1))


if __name__ == "__main__":
    main()
