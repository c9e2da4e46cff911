"""Issue 2's design question: what limits the DP model's next-word accuracy, steps or noise?

One run = one design point, on the demo's synthetic corpus (``--users``, seed 0, as ``privml
demo`` makes it): a tokenizer and a TinyGPT pre-trained on the public corpus, then optionally the
non-private baseline fine-tune (as the demo spec: 4 epochs, batch 16, lr 0.003), then user-level
DP-SGD fine-tuning (one row per sampled user per step, clipping norm 1, AdamW, linear decay) with
σ calibrated by PRV for ε = 4 at δ = 1/(10·N) -- or a given ``--sigma`` (``0.001``: clipping
without meaningful noise, the ceiling the compute allows). Next-word accuracy is the pipeline's
(``privml.model.evaluate``) on the held-out users' messages. Prints one JSON line.

    .venv/bin/python benchmarks/dp_text_design.py --users 3000 --vocab 2048 --d-model 64 \\
        --steps 464 --baseline
    .venv/bin/python benchmarks/dp_text_design.py --users 12000 --vocab 2048 --d-model 64 \\
        --steps 464
    .venv/bin/python benchmarks/dp_text_design.py --users 3000 --steps 116 --sigma 0.001

``--freeze tok_emb,head.weight`` keeps those parameters at their pre-trained values (fewer noisy
coordinates, cheaper per-sample gradients). Runs on ``--threads`` torch threads (default 1, so
two design points can run side by side on two cores).
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from privml.accounting import calibrate_noise
from privml.data.demo_corpus import generate_demo_corpus
from privml.data.records import read_records
from privml.dp.engine import DPConfig, DPPlan, train_dp
from privml.model.encoding import encode_packed, encode_units
from privml.model.evaluate import lm_utility
from privml.model.gpt import GPTConfig, TinyGPT
from privml.model.public_corpus import public_lines
from privml.model.tokenizer import PAD, train_tokenizer
from privml.model.train import train_lm
from privml.pipeline.attack_suite import load_canaries
from privml.pipeline.text_corpus import split_users


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--users", type=int, default=3000, help="demo corpus users (seed 0)")
    ap.add_argument(
        "--messages-per-user", type=int, nargs=2, default=(1, 3), metavar=("LO", "HI"),
        help="e-mails a user (the generator's default 1 3; the demo uses 1 1)",
    )  # fmt: skip
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--d-model", type=int, default=128)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--context", type=int, default=64)
    ap.add_argument("--public-rows", type=int, default=6000)
    ap.add_argument("--batch", type=int, default=256, help="expected users per DP step")
    ap.add_argument("--steps", type=int, default=116, help="DP-SGD steps")
    ap.add_argument("--lr", type=float, default=0.005)
    ap.add_argument("--sigma", type=float, default=None, help="default: calibrated to ε = 4")
    ap.add_argument("--freeze", default="", help="comma-separated parameter-name prefixes")
    ap.add_argument("--baseline", action="store_true", help="also the non-private fine-tune")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--clipping", default="bookkeeping", choices=["bookkeeping", "opacus"])
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    result: dict = {"command": " ".join([sys.executable, *sys.argv]), "args": vars(args)}

    with tempfile.TemporaryDirectory() as tmp:
        demo = generate_demo_corpus(
            Path(tmp), users=args.users, seed=0, messages_per_user=tuple(args.messages_per_user)
        )
        records = read_records(demo.corpus_path).records
        canaries = load_canaries(Path(tmp) / "canaries.json")
    by_user: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(records):
        by_user[r.user_id].append(i)
    train_u, held_u = split_users(by_user, 0.1, {c.user_id for c in canaries}, 0)

    public = public_lines(("wikitext2", "tinyshakespeare"))
    tok = train_tokenizer(public, args.vocab)
    pad = tok.token_to_id(PAD)
    rows = encode_packed(tok, public, args.context)
    order = np.random.default_rng(0).permutation(len(rows))[: args.public_rows]
    model = TinyGPT(GPTConfig(tok.get_vocab_size(), args.d_model, args.layers, 4, args.context))
    train_lm(
        model, [torch.tensor([rows[i]]) for i in order],
        pad_id=pad, epochs=1, batch_size=64, lr=0.003, seed=0,
    )  # fmt: skip
    held_texts = [records[i].text for u in held_u for i in by_user[u]]
    held = encode_units(tok, [[t] for t in held_texts], args.context)
    groups = [[records[i].text for i in by_user[u]] for u in train_u]
    result["parameters"] = model.num_parameters()
    result["public_only"] = lm_utility(model, held, tok, pad)["next_word_accuracy"]

    if args.baseline:
        base = copy.deepcopy(model)
        units = encode_units(tok, groups, args.context)
        singles = [u[i : i + 1] for u in units for i in range(len(u))]
        st = train_lm(base, singles, pad_id=pad, epochs=4, batch_size=16, lr=0.003, seed=1)
        result["baseline"] = lm_utility(base, held, tok, pad)["next_word_accuracy"]
        result["baseline_seconds"] = round(st.seconds, 1)

    for name, p in model.named_parameters():
        if args.freeze and any(name.startswith(f) for f in args.freeze.split(",")):
            p.requires_grad_(False)
    units = encode_units(tok, groups, args.context, max_rows=64)
    n = len(units)
    q = min(1.0, args.batch / n)
    delta = 1.0 / (10 * n)
    sigma = args.sigma if args.sigma is not None else calibrate_noise(4.0, q, args.steps, delta)
    cfg = DPConfig(
        4.0, delta, 1.0, args.steps * q, args.batch, args.lr,
        clipping=args.clipping,
    )  # fmt: skip
    start = time.perf_counter()
    st = train_dp(model, units, cfg, pad_id=pad, plan=DPPlan(sigma, q, args.steps, args.batch))
    seconds = time.perf_counter() - start
    result.update(
        privacy_units=n,
        trainable=sum(p.numel() for p in model.parameters() if p.requires_grad),
        sigma=round(sigma, 3),
        epsilon=round(st.epsilon, 2),
        sigma_over_batch=round(sigma / args.batch, 5),
        dp_seconds_per_step=round(seconds / args.steps, 2),
        dp=lm_utility(model, held, tok, pad)["next_word_accuracy"],
    )
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
