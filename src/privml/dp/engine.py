"""DP-SGD fine-tuning: per-unit gradients, clipping, calibrated Gaussian noise.

Two interchangeable ways to get each step's sum of per-unit clipped gradients
(``DPConfig.clipping``):

- ``"bookkeeping"`` (default): :mod:`privml.dp.fast_clip`, one backward pass without
  materialising per-unit gradients; about 1.5x faster than Opacus on the demo model
  (BENCHMARKS.md, "DP step"). Used when every trainable layer is Linear, Embedding or LayerNorm.
- ``"opacus"``: Opacus's own pieces (``GradSampleModule`` for per-sample gradients,
  ``DPOptimizer`` for clipping and noise); the fallback for any other model.

Either way, noise and Poisson sampling come from the OS CSPRNG (see ``secure_random``). A *unit*
is whatever one privacy unit contributes: a message (example-level DP) or all of a user's
messages (user-level DP). Each unit's whole gradient is clipped to ``max_grad_norm``, so the
guarantee holds per unit.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from opacus import GradSampleModule
from opacus.optimizers import DPOptimizer

from privml.accounting import calibrate_noise, dp_sgd_epsilon
from privml.dp.fast_clip import BookkeepingClipper, unsupported_layers
from privml.dp.secure_random import secure_normal, secure_poisson_batches, secure_uniform
from privml.model.encoding import collate_units, unit_losses

Progress = Callable[[int, int], None]
# Rows in one forward/backward pass: bounds memory, and small passes stay in cache (on the demo
# model 32 rows a pass is ~1.4x faster a step than 128, for both clipping methods).
MAX_ROWS_PER_PASS = 32


@dataclass(frozen=True)
class DPConfig:
    target_epsilon: float
    delta: float
    max_grad_norm: float
    epochs: float
    expected_batch_size: int
    lr: float
    accountant: str = "prv"
    rows_per_step: int | None = 1  # rows drawn from each sampled unit per step (None: all)
    clipping: str = "bookkeeping"  # or "opacus" (see the module docstring)


@dataclass(frozen=True)
class DPPlan:
    """What a run will release: Poisson rate, steps and the calibrated noise multiplier.

    Known before any training, so a budget ledger can reserve the run's cost first.
    """

    noise_multiplier: float
    sampling_rate: float
    steps: int
    expected_batch_size: int


def plan_dp(cfg: DPConfig, n_units: int) -> DPPlan:
    """Sampling rate and steps from (epochs, batch size); noise calibrated to the target ε."""
    if n_units < 2:
        raise ValueError("DP training needs at least 2 privacy units")
    q = min(1.0, cfg.expected_batch_size / n_units)
    steps = max(1, round(cfg.epochs / q))
    sigma = calibrate_noise(cfg.target_epsilon, q, steps, cfg.delta, cfg.accountant)
    return DPPlan(sigma, q, steps, max(1, round(q * n_units)))


@dataclass(frozen=True)
class DPStats:
    noise_multiplier: float
    sampling_rate: float
    steps: int
    epsilon: float
    accountant: str
    epsilon_rdp: float
    delta: float
    units: int
    seconds: float
    final_loss: float
    note: str = ""
    clipping: str = "opacus"  # how the per-unit clipped sums were computed


class SecureDPOptimizer(DPOptimizer):
    """Opacus's DPOptimizer with Gaussian noise drawn from the OS CSPRNG."""

    def add_noise(self) -> None:
        std = self.noise_multiplier * self.max_grad_norm
        for p in self.params:
            noise = secure_normal(p.summed_grad.shape, std, p.summed_grad.dtype)
            p.grad = (p.summed_grad + noise).view_as(p)


def release_fields(
    sigma: float, q: float, steps: int, delta: float, accountant: str
) -> dict[str, float | int | str]:
    """What a DP-SGD run released: ε by ``accountant`` (with its note) and ε by RDP."""
    final = dp_sgd_epsilon(sigma, q, steps, delta, accountant)
    rdp = dp_sgd_epsilon(sigma, q, steps, delta, "rdp")
    return {
        "noise_multiplier": sigma,
        "sampling_rate": q,
        "steps": steps,
        "epsilon": final.epsilon,
        "accountant": final.accountant,
        "epsilon_rdp": rdp.epsilon,
        "delta": delta,
        "note": final.note,
    }


def noise_only_step(opt: SecureDPOptimizer) -> None:
    """An empty Poisson batch still releases a noisy update (skipping it would leak)."""
    for p in opt.params:
        std = opt.noise_multiplier * opt.max_grad_norm
        p.grad = secure_normal(p.shape, std, p.dtype) / opt.expected_batch_size
    opt.original_optimizer.step()
    opt.original_optimizer.zero_grad(set_to_none=True)


def _buckets(batch: list[torch.Tensor], max_rows: int, pad: int) -> list[list[torch.Tensor]]:
    """Group units of equal row count and similar length, at most ``max_rows`` rows a group.

    Collating a group then pads (and computes) little: no unit waits for a longer one.
    """
    by_k: dict[int, list[torch.Tensor]] = {}
    for u in batch:
        by_k.setdefault(u.shape[0], []).append(u)
    out = []
    for k in sorted(by_k):
        group = sorted(by_k[k], key=lambda u: int((u != pad).sum()))
        per = max(1, max_rows // k)
        out += [group[i : i + per] for i in range(0, len(group), per)]
    return out


def _draw_rows(unit: torch.Tensor, rows: int | None) -> torch.Tensor:
    """Up to ``rows`` of the unit's rows, drawn uniformly without replacement (CSPRNG).

    Any randomised function of one unit's own data keeps that unit's clipped contribution
    bounded by the clipping norm, so the guarantee is unchanged; the step just costs less.
    """
    if rows is None or unit.shape[0] <= rows:
        return unit
    keys = secure_uniform(unit.shape[0])
    return unit[torch.from_numpy(keys.argsort()[:rows].copy())]


def step_in_chunks(opt: SecureDPOptimizer, chunks: Sequence[Callable[[], torch.Tensor]]) -> float:
    """One DP-SGD step whose per-sample losses come from several passes (bounded memory).

    Each ``chunks[i]()`` returns per-unit losses of one part of the Poisson batch; their
    gradients are clipped and summed into Opacus's accumulator (``signal_skip_step``) and noise
    is added once, after the last part. Same result as one pass over the whole batch. Returns
    the summed loss.
    """
    total = 0.0
    for i, chunk in enumerate(chunks):
        opt.zero_grad(set_to_none=True)
        losses = chunk()
        losses.mean().backward()
        opt.signal_skip_step(do_skip=i < len(chunks) - 1)
        opt.step()
        total += float(losses.detach().sum())
    opt.zero_grad(set_to_none=True)
    return total


def _accumulate_and_step(gsm, opt: SecureDPOptimizer, batch: list[torch.Tensor], pad: int) -> float:
    """One DP-SGD step over a Poisson batch, processed in size buckets (padding each unit only
    to its bucket's longest). Returns the mean loss."""
    buckets = _buckets(batch, MAX_ROWS_PER_PASS, pad)
    chunks = [lambda b=b: unit_losses(gsm, collate_units(b, pad), pad) for b in buckets]
    return step_in_chunks(opt, chunks) / len(batch)


def _bookkeeping_step(clipper: BookkeepingClipper, model, batch, pad: int) -> float:
    """Add the batch's clipped per-unit gradient sum to ``.grad`` (size buckets); summed loss."""
    total = 0.0
    for b in _buckets(batch, MAX_ROWS_PER_PASS, pad):
        x = collate_units(b, pad)
        total += float(clipper.accumulate(lambda x=x: unit_losses(model, x, pad)).sum())
    return total


def _noisy_mean(params: list[torch.Tensor], std: float, expected_batch_size: int) -> None:
    """``.grad`` <- (clipped sum + N(0, std^2) from the CSPRNG) / expected batch size."""
    for p in params:
        noise = secure_normal(p.shape, std, p.dtype)
        p.grad = (noise if p.grad is None else p.grad + noise) / expected_batch_size


def _clipping_method(cfg: DPConfig, model: torch.nn.Module) -> str:
    if cfg.clipping not in ("bookkeeping", "opacus"):
        raise ValueError(f"dp.clipping: expected 'bookkeeping' or 'opacus', got {cfg.clipping!r}")
    if cfg.clipping == "bookkeeping" and unsupported_layers(model):
        return "opacus"  # a layer the fast path cannot clip: Opacus handles it
    return cfg.clipping


def train_dp(
    model: torch.nn.Module,
    units: Sequence[torch.Tensor],
    cfg: DPConfig,
    *,
    pad_id: int,
    progress: Progress | None = None,
    plan: DPPlan | None = None,
) -> DPStats:
    """Fine-tune ``model`` in place with DP-SGD so the run meets (target_epsilon, delta).

    ``plan`` (from :func:`plan_dp` on the same config and unit count) skips recalibration.
    """
    n = len(units)
    plan = plan or plan_dp(cfg, n)
    sigma, q, steps = plan.noise_multiplier, plan.sampling_rate, plan.steps
    method = _clipping_method(cfg, model)
    params = [p for p in model.parameters() if p.requires_grad]
    for p in params:
        p.grad = None  # a copied model may carry gradients from earlier training
    if method == "opacus":
        gsm = GradSampleModule(model, batch_first=True, loss_reduction="mean")
        opt = SecureDPOptimizer(
            torch.optim.AdamW([p for p in gsm.parameters() if p.requires_grad], lr=cfg.lr),
            noise_multiplier=sigma,
            max_grad_norm=cfg.max_grad_norm,
            expected_batch_size=plan.expected_batch_size,
            loss_reduction="mean",
        )
        adamw = opt.original_optimizer
    else:
        clipper = BookkeepingClipper(model, cfg.max_grad_norm)
        adamw = torch.optim.AdamW(params, lr=cfg.lr)
    # Linear decay to 10% of the rate, as in non-private training: late steps move less, so
    # the noise they add perturbs the final model less.
    sched = torch.optim.lr_scheduler.LambdaLR(adamw, lambda s: 1.0 - 0.9 * s / max(steps, 1))
    model.train()
    start, loss_val = time.perf_counter(), float("nan")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*Full backward hook.*")
        for step, idx in enumerate(secure_poisson_batches(n, q, steps), start=1):
            batch = [_draw_rows(units[i], cfg.rows_per_step) for i in idx]
            if method == "opacus":
                if not batch:
                    noise_only_step(opt)
                else:
                    loss_val = _accumulate_and_step(gsm, opt, batch, pad_id)
            else:
                if batch:
                    loss_val = _bookkeeping_step(clipper, model, batch, pad_id) / len(batch)
                _noisy_mean(params, sigma * cfg.max_grad_norm, plan.expected_batch_size)
                adamw.step()
                adamw.zero_grad(set_to_none=True)
            sched.step()
            if progress:
                progress(step, steps)
    model.eval()
    if method == "opacus":
        gsm._close()  # remove Opacus hooks; ``model`` is a plain module again
    else:
        clipper.close()
    return DPStats(
        **release_fields(sigma, q, steps, cfg.delta, cfg.accountant),
        units=n,
        seconds=time.perf_counter() - start,
        final_loss=loss_val,
        clipping=method,
    )
