"""Step time of DP fine-tuning against non-private fine-tuning on the demo model.

Both run side by side in one process on the same batches, drawn as the demo's DP step draws
them: a batch of users, one row of each. The non-private step is forward + backward + AdamW on
those rows; the DP step is privml's DP step on the same rows (Opacus per-sample gradients in
size buckets, per-user clipping, CSPRNG Gaussian noise, AdamW). Steps alternate
(non-private, DP, non-private, ...) so machine load affects both equally.

    python benchmarks/dp_step_time.py [--users 3000] [--batch-users 256] [--steps 8]
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from opacus import GradSampleModule

from privml.data.demo_corpus import generate_demo_corpus
from privml.data.records import read_records
from privml.dp.engine import SecureDPOptimizer, _accumulate_and_step, _draw_rows
from privml.model.encoding import collate_units, encode_units, unit_losses
from privml.model.gpt import GPTConfig, TinyGPT
from privml.model.public_corpus import public_lines
from privml.model.tokenizer import PAD, train_tokenizer
from privml.pipeline.demo import demo_spec_path
from privml.pipeline.spec import load_spec


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=3000)
    ap.add_argument("--batch-users", type=int, default=256)
    ap.add_argument("--steps", type=int, default=8)
    args = ap.parse_args()
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
    cfg = GPTConfig(
        tok.get_vocab_size(),
        spec.model.d_model,
        spec.model.layers,
        spec.model.heads,
        spec.model.context,
    )
    plain = TinyGPT(cfg)
    private = copy.deepcopy(plain)
    opt_plain = torch.optim.AdamW(plain.parameters(), lr=1e-3)
    gsm = GradSampleModule(private, batch_first=True, loss_reduction="mean")
    opt_dp = SecureDPOptimizer(
        torch.optim.AdamW(gsm.parameters(), lr=1e-3),
        noise_multiplier=1.0,
        max_grad_norm=1.0,
        expected_batch_size=args.batch_users,
    )
    rng = np.random.default_rng(0)
    times: dict[str, list[float]] = {"non_private": [], "dp": []}
    tokens = []
    for step in range(args.steps + 1):  # step 0 is warm-up
        rows = [_draw_rows(units[i], 1) for i in rng.choice(len(units), args.batch_users)]
        t = time.perf_counter()
        opt_plain.zero_grad(set_to_none=True)
        unit_losses(plain, collate_units(rows, pad), pad).mean().backward()
        opt_plain.step()
        t_plain = time.perf_counter() - t
        t = time.perf_counter()
        _accumulate_and_step(gsm, opt_dp, rows, pad)
        t_dp = time.perf_counter() - t
        if step:
            times["non_private"].append(t_plain)
            times["dp"].append(t_dp)
            tokens.append(sum(int((r[..., 1:] != pad).sum()) for r in rows))
    np_med, dp_med = statistics.median(times["non_private"]), statistics.median(times["dp"])
    print(
        json.dumps(
            {
                "model_parameters": plain.num_parameters(),
                "batch_users": args.batch_users,
                "median_tokens_per_batch": statistics.median(tokens),
                "non_private_step_s": round(np_med, 3),
                "dp_step_s": round(dp_med, 3),
                "dp_over_non_private": round(dp_med / np_med, 2),
                "torch_threads": torch.get_num_threads(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
