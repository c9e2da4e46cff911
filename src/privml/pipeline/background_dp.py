"""Train one DP variant in a second process while this process trains another.

The demo trains two DP variants of the same cost (private and dp_only). A small model's DP step
does not use two cores well: two one-thread processes, one variant each, finish both sooner
than one two-thread process doing them in turn (BENCHMARKS.md, "Whole demo"). The child gets
plain arrays (no shared-memory tensors: one per unit would exhaust file handles), trains with
:func:`privml.dp.train_dp` (its own CSPRNG noise and sampling) and returns the weights and the
release statistics; its step count is shared for the progress bar.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

import numpy as np
import torch

from privml.dp import DPConfig, DPPlan, DPStats, train_dp
from privml.model.gpt import GPTConfig, TinyGPT

_STEP: Any = None  # the child's shared step counter


def _init(counter: Any) -> None:
    global _STEP
    _STEP = counter
    torch.set_num_threads(1)


def _report(step: int, _total: int) -> None:
    _STEP.value = step


def _train(
    config: dict, state: dict, units: list[np.ndarray], cfg: DPConfig, plan: DPPlan, pad: int
) -> tuple[dict, DPStats]:
    model = TinyGPT(GPTConfig(**config))
    model.load_state_dict(state)
    tensors = [torch.from_numpy(u) for u in units]
    stats = train_dp(model, tensors, cfg, pad_id=pad, plan=plan, progress=_report)
    return model.state_dict(), stats


class BackgroundDP:
    """``train_dp`` on a copy of ``model`` in a spawned one-thread process."""

    def __init__(
        self,
        model: TinyGPT,
        units: Sequence[torch.Tensor],
        cfg: DPConfig,
        plan: DPPlan,
        pad: int,
    ) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.steps = plan.steps
        self._step = ctx.Value("i", 0)
        self._pool = ProcessPoolExecutor(
            1, mp_context=ctx, initializer=_init, initargs=(self._step,)
        )
        arrays = [u.numpy() for u in units]
        # A snapshot: the pool pickles the arguments later, in a feeder thread, by when the
        # caller may have moved on with ``model``.
        state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        self._future: Future = self._pool.submit(
            _train, model.cfg.to_dict(), state, arrays, cfg, plan, pad
        )

    def result(self, model: TinyGPT, progress: Callable[[int, int], None] | None = None) -> DPStats:
        """Wait for the child, load its weights into ``model`` and return its statistics."""
        try:
            while not self._future.done():
                if progress:
                    progress(self._step.value, self.steps)
                time.sleep(0.5)
            state, stats = self._future.result()
        finally:
            self.close()
        model.load_state_dict(state)
        model.eval()
        if progress:
            progress(self.steps, self.steps)
        return stats

    def close(self) -> None:
        """Stop the child at once if it is still training (on failure or interrupt)."""
        if not self._future.done():
            for proc in list(getattr(self._pool, "_processes", {}).values()):
                proc.terminate()  # Python 3.11 has no public way to stop a running task
        self._pool.shutdown(wait=True, cancel_futures=True)
