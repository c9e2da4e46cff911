"""Non-private training of the language model (pre-training and the baseline fine-tune)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from privml.model.encoding import collate_units, unit_losses

Progress = Callable[[int, int], None]  # (steps done, total steps)


@dataclass(frozen=True)
class TrainStats:
    epochs: int
    steps: int
    seconds: float
    final_loss: float


def train_lm(
    model: torch.nn.Module,
    units: Sequence[torch.Tensor],
    *,
    pad_id: int,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
    weight_decay: float = 0.0,
    progress: Progress | None = None,
) -> TrainStats:
    """Shuffled mini-batch AdamW over ``units`` for ``epochs`` passes."""
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=weight_decay
    )
    n = len(units)
    per_epoch = (n + batch_size - 1) // batch_size
    total = per_epoch * epochs
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 - 0.9 * s / max(total, 1))
    model.train()
    start, step, loss_val = time.perf_counter(), 0, float("nan")
    for _ in range(epochs):
        order = torch.randperm(n, generator=gen).tolist()
        for i in range(0, n, batch_size):
            batch = collate_units([units[j] for j in order[i : i + batch_size]], pad_id)
            loss = unit_losses(model, batch, pad_id).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            step += 1
            loss_val = float(loss.detach())
            if progress:
                progress(step, total)
    model.eval()
    return TrainStats(epochs, step, time.perf_counter() - start, loss_val)
