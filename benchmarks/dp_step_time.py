"""Step time of DP fine-tuning against non-private fine-tuning on the demo model.

Four kinds of step run side by side in one process on the same batches, drawn as the demo's DP
step draws them (a Poisson-sized batch of users, one row of each), in size buckets of at most
``MAX_ROWS_PER_PASS`` rows:

- ``non_private``: forward, backward, AdamW;
- ``dp_bookkeeping``: privml's default DP step (one backward, per-unit norms and clipped sums
  from saved activations: ``privml.dp.fast_clip``), CSPRNG noise, AdamW;
- ``dp_opacus``: Opacus's ``GradSampleModule`` + ``DPOptimizer`` (per-sample gradients
  materialised, then clipped), CSPRNG noise, AdamW -- privml's fallback;
- ``dp_opacus_ghost``: Opacus's ghost clipping (``GradSampleModuleFastGradientClipping``:
  norms without materialising, then a second backward for the clipped sum), CSPRNG noise, AdamW.

Kinds alternate within each step, so machine load affects all alike; medians after a warm-up.

    python benchmarks/dp_step_time.py [--users 3000] [--batch-users 256] [--steps 8]
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from opacus import GradSampleModule
from opacus.grad_sample import GradSampleModuleFastGradientClipping

from privml.data.demo_corpus import generate_demo_corpus
from privml.data.records import read_records
from privml.dp.engine import (
    MAX_ROWS_PER_PASS,
    SecureDPOptimizer,
    _accumulate_and_step,
    _bookkeeping_step,
    _buckets,
    _draw_rows,
    _noisy_mean,
)
from privml.dp.fast_clip import BookkeepingClipper
from privml.model.encoding import collate_units, encode_units, unit_losses
from privml.model.gpt import GPTConfig, TinyGPT
from privml.model.public_corpus import public_lines
from privml.model.tokenizer import PAD, train_tokenizer
from privml.pipeline.demo import demo_spec_path
from privml.pipeline.spec import load_spec


def _ghost_step(gsm, params, opt, rows, pad, batch_size) -> None:
    """Opacus ghost clipping, chunked like privml's steps: per bucket, a first backward for
    the per-unit norms, then a second one of the clip-weighted loss; noise once at the end."""
    acc = [torch.zeros_like(p) for p in params]
    for b in _buckets(rows, MAX_ROWS_PER_PASS, pad):
        gsm.enable_hooks()
        losses = unit_losses(gsm, collate_units(b, pad), pad)
        losses.sum().backward(retain_graph=True)
        coef = gsm.get_clipping_coef()
        for p in params:
            p.grad = None
        gsm.disable_hooks()
        (coef * losses).sum().backward()
        for a, p in zip(acc, params, strict=True):
            a += p.grad
    for a, p in zip(acc, params, strict=True):
        p.grad = a
    _noisy_mean(params, 1.0, batch_size)
    opt.step()
    opt.zero_grad(set_to_none=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=3000)
    ap.add_argument("--batch-users", type=int, default=256)
    ap.add_argument("--steps", type=int, default=8)
    args = ap.parse_args()
    warnings.filterwarnings("ignore", message=".*Full backward hook.*")
    torch.manual_seed(0)
    spec = load_spec(demo_spec_path())
    with tempfile.TemporaryDirectory() as tmp:
        generate_demo_corpus(Path(tmp), users=args.users, seed=0)
        records = read_records(Path(tmp) / "corpus.jsonl").records
    by_user: dict[str, list[str]] = {}
    for r in records:
        by_user.setdefault(r.user_id, []).append(r.text)
    tok = train_tokenizer(public_lines(), spec.model.vocab_size)
    pad = tok.token_to_id(PAD)
    units = encode_units(
        tok, list(by_user.values()), spec.model.context, max_rows=spec.dp.max_rows_per_unit
    )
    m = spec.model
    plain = TinyGPT(GPTConfig(tok.get_vocab_size(), m.d_model, m.layers, m.heads, m.context))
    models = {k: copy.deepcopy(plain) for k in ("bookkeeping", "opacus", "ghost")}
    opt_plain = torch.optim.AdamW(plain.parameters(), lr=1e-3)
    bk = BookkeepingClipper(models["bookkeeping"], 1.0)
    opt_bk = torch.optim.AdamW(models["bookkeeping"].parameters(), lr=1e-3)
    gsm = GradSampleModule(models["opacus"], batch_first=True, loss_reduction="mean")
    opt_dp = SecureDPOptimizer(
        torch.optim.AdamW(gsm.parameters(), lr=1e-3),
        noise_multiplier=1.0,
        max_grad_norm=1.0,
        expected_batch_size=args.batch_users,
    )
    ghost = GradSampleModuleFastGradientClipping(
        models["ghost"], batch_first=True, loss_reduction="sum", max_grad_norm=1.0
    )
    ghost_params = [p for p in ghost.parameters() if p.requires_grad]
    opt_ghost = torch.optim.AdamW(ghost_params, lr=1e-3)
    bk_params = list(models["bookkeeping"].parameters())

    def plain_step(rows):
        for b in _buckets(rows, MAX_ROWS_PER_PASS, pad):
            (unit_losses(plain, collate_units(b, pad), pad).sum() / len(rows)).backward()
        opt_plain.step()
        opt_plain.zero_grad(set_to_none=True)

    def bk_step(rows):
        _bookkeeping_step(bk, models["bookkeeping"], rows, pad)
        _noisy_mean(bk_params, 1.0, args.batch_users)
        opt_bk.step()
        opt_bk.zero_grad(set_to_none=True)

    kinds = {
        "non_private": plain_step,
        "dp_bookkeeping": bk_step,
        "dp_opacus": lambda rows: _accumulate_and_step(gsm, opt_dp, rows, pad),
        "dp_opacus_ghost": lambda rows: _ghost_step(
            ghost, ghost_params, opt_ghost, rows, pad, args.batch_users
        ),
    }
    rng = np.random.default_rng(0)
    times: dict[str, list[float]] = {k: [] for k in kinds}
    tokens = []
    for step in range(args.steps + 1):  # step 0 is warm-up
        rows = [_draw_rows(units[i], 1) for i in rng.choice(len(units), args.batch_users)]
        for name, fn in kinds.items():
            t = time.perf_counter()
            fn(rows)
            if step:
                times[name].append(time.perf_counter() - t)
        if step:
            tokens.append(sum(int((r[..., 1:] != pad).sum()) for r in rows))
    med = {k: statistics.median(v) for k, v in times.items()}
    print(
        json.dumps(
            {
                "model_parameters": plain.num_parameters(),
                "batch_users": args.batch_users,
                "rows_per_pass": MAX_ROWS_PER_PASS,
                "median_tokens_per_batch": statistics.median(tokens),
                "seconds_per_step": {k: round(v, 3) for k, v in med.items()},
                "dp_bookkeeping_over_non_private": round(
                    med["dp_bookkeeping"] / med["non_private"], 2
                ),
                "dp_opacus_over_dp_bookkeeping": round(med["dp_opacus"] / med["dp_bookkeeping"], 2),
                "dp_opacus_ghost_over_dp_bookkeeping": round(
                    med["dp_opacus_ghost"] / med["dp_bookkeeping"], 2
                ),
                "torch_threads": torch.get_num_threads(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
