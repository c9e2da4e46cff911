"""DP-SGD for example-level classifiers: one row is one privacy unit.

The same machinery as ``engine`` (Opacus's ``GradSampleModule`` for per-example gradients,
``SecureDPOptimizer`` for clipping and CSPRNG noise, Poisson batches from the OS CSPRNG, noise
calibrated by ``plan_dp`` so the run meets the target ε at δ), driven by a classifier
``Recipe`` (epochs, expected batch size, learning rate, optimizer) on float features.

``noise=False`` is a deliberately broken mode that exists only to test privacy audits: it keeps
clipping and sampling, sets the noise multiplier to 0, and still reports the ε the calibrated
run would have had (``claimed_epsilon``), exactly as a buggy implementation would. A model
trained so has no DP guarantee at all; an audit must catch it.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from opacus import GradSampleModule
from torch import nn

from privml.classifiers.recipe import Recipe
from privml.classifiers.train import make_optimizer
from privml.dp.engine import (
    DPConfig,
    DPStats,
    Progress,
    SecureDPOptimizer,
    noise_only_step,
    plan_dp,
    release_fields,
    step_in_chunks,
)
from privml.dp.secure_random import secure_poisson_batches

ROWS_PER_PASS = 1024  # rows per forward/backward pass (bounds per-example-gradient memory)
NO_NOISE_NOTE = (
    "noise disabled (noise=False): NO differential privacy; epsilon is only the figure the "
    "run claims. For testing privacy audits only."
)


@dataclass(frozen=True)
class DPClassifierStats(DPStats):
    """``DPStats`` plus what an auditor must know: the claimed ε and whether noise was added.

    ``epsilon`` is the accountant's ε for the calibrated noise multiplier, i.e. what the run
    claims. It is a guarantee only when ``noise_added`` is true.
    """

    claimed_epsilon: float = math.nan
    calibrated_noise_multiplier: float = math.nan
    noise_added: bool = True


def _step(gsm: GradSampleModule, opt: SecureDPOptimizer, x: torch.Tensor, y: torch.Tensor) -> float:
    """One DP-SGD step over a Poisson batch, in chunks of ``ROWS_PER_PASS`` rows.

    Per-example gradients of each chunk are clipped and summed into Opacus's accumulator
    (``signal_skip_step``); noise is added once, after the last chunk.
    """
    chunks = [
        lambda s=s: nn.functional.cross_entropy(
            gsm(x[s : s + ROWS_PER_PASS]), y[s : s + ROWS_PER_PASS], reduction="none"
        )
        for s in range(0, len(x), ROWS_PER_PASS)
    ]
    return step_in_chunks(opt, chunks) / len(x)


def train_dp_classifier(
    model: nn.Module,
    X: np.ndarray | torch.Tensor,
    y: np.ndarray | torch.Tensor,
    *,
    recipe: Recipe,
    target_epsilon: float,
    delta: float,
    max_grad_norm: float,
    accountant: str = "prv",
    noise: bool = True,
    progress: Progress | None = None,
) -> tuple[nn.Module, DPClassifierStats]:
    """Train ``model`` in place with example-level DP-SGD meeting (target_epsilon, delta).

    Epochs, expected (Poisson) batch size, learning rate and optimizer come from ``recipe``.
    ``noise=False`` is the broken mode for audit tests (see the module docstring). Returns the
    model (in eval mode, Opacus hooks removed) and the run's statistics.
    """
    x_t = torch.as_tensor(np.asarray(X), dtype=torch.float32)
    y_t = torch.as_tensor(np.asarray(y), dtype=torch.long)
    if x_t.shape[0] != y_t.shape[0]:
        raise ValueError(f"X and y: row counts differ ({x_t.shape[0]} != {y_t.shape[0]})")
    n = int(x_t.shape[0])
    cfg = DPConfig(
        target_epsilon=target_epsilon,
        delta=delta,
        max_grad_norm=max_grad_norm,
        epochs=recipe.epochs,
        expected_batch_size=recipe.batch_size,
        lr=recipe.lr,
        accountant=accountant,
    )
    plan = plan_dp(cfg, n)
    sigma = plan.noise_multiplier if noise else 0.0
    gsm = GradSampleModule(model, batch_first=True, loss_reduction="mean")
    opt = SecureDPOptimizer(
        make_optimizer([p for p in gsm.parameters() if p.requires_grad], recipe),
        noise_multiplier=sigma,
        max_grad_norm=max_grad_norm,
        expected_batch_size=plan.expected_batch_size,
        loss_reduction="mean",
    )
    gsm.train()
    start, loss_val = time.perf_counter(), math.nan
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*Full backward hook.*")
        batches = secure_poisson_batches(n, plan.sampling_rate, plan.steps)
        for step, idx in enumerate(batches, start=1):
            if not idx:
                noise_only_step(opt)  # an empty batch still releases a (noisy) update
            else:
                rows = torch.as_tensor(idx)
                loss_val = _step(gsm, opt, x_t[rows], y_t[rows])
            if progress:
                progress(step, plan.steps)
    gsm.eval()
    gsm._close()  # remove Opacus hooks; ``model`` is a plain module again
    model.eval()
    claimed = release_fields(
        plan.noise_multiplier, plan.sampling_rate, plan.steps, delta, accountant
    )
    stats = DPClassifierStats(
        **{
            **claimed,
            "noise_multiplier": sigma,
            "note": claimed["note"] if noise else NO_NOISE_NOTE,
        },
        units=n,
        seconds=time.perf_counter() - start,
        final_loss=loss_val,
        claimed_epsilon=claimed["epsilon"],
        calibrated_noise_multiplier=plan.noise_multiplier,
        noise_added=noise,
    )
    return model, stats
