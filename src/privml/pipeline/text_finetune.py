"""Fine-tuning stages of the text-prediction pipeline: one copy of the public model per variant.

The non-private variants train with :func:`privml.model.train.train_lm`; the DP variants with
:func:`privml.dp.train_dp`, all sharing one DP plan fixed (and charged) before any training. With
two DP variants and two cores, the second trains in a child process beside the first
(:mod:`privml.pipeline.background_dp`).
"""

from __future__ import annotations

import copy
import os

import torch

from privml.model.encoding import encode_units
from privml.model.gpt import TinyGPT
from privml.model.tokenizer import PAD
from privml.model.train import train_lm
from privml.pipeline.progress import Reporter
from privml.pipeline.spec import RunSpec
from privml.pipeline.text_corpus import Corpus


def train_section(model: TinyGPT, units, section, seed: int, label: str, rep: Reporter, pad: int):
    """Non-private training with one spec section's epochs, batch size and learning rate."""
    with rep.stage(label) as update:
        return train_lm(
            model,
            units,
            pad_id=pad,
            epochs=section.epochs,
            batch_size=section.batch_size,
            lr=section.lr,
            seed=seed,
            progress=update,
        )


def dp_config(spec: RunSpec, corpus: Corpus, policy_delta: float | None):
    """The DP config and plan shared by every DP variant, fixed before any training.

    δ defaults to 1/(10·N) for N privacy units, and never exceeds the ledger policy's δ, so the
    run's ε holds at the δ its charge is judged at.
    """
    from privml.dp import DPConfig, plan_dp

    dp = spec.dp
    n = len(corpus.train_users)
    if dp.unit == "example":
        n = sum(len(corpus.by_user[u]) for u in corpus.train_users)
    delta = dp.delta if dp.delta is not None else 1.0 / (10 * n)
    if policy_delta is not None and dp.delta is None:
        delta = min(delta, policy_delta)
    cfg = DPConfig(
        dp.target_epsilon,
        delta,
        dp.max_grad_norm,
        dp.epochs,
        dp.batch_size,
        dp.lr,
        dp.accountant,
        dp.rows_per_step,
        dp.clipping,
    )
    return cfg, plan_dp(cfg, n)


def dp_units(settings: dict, corpus: Corpus, tok, spec: RunSpec) -> list[torch.Tensor]:
    """One tensor of rows per privacy unit (a user, or one message), as the variant sees it."""
    users, dp = corpus.train_users, spec.dp
    if dp.unit == "user":
        groups = [corpus.texts(corpus.by_user[u], settings["scrub"]) for u in users]
    else:
        idx = [i for u in users for i in corpus.by_user[u]]
        groups = [[t] for t in corpus.texts(idx, settings["scrub"])]
    return encode_units(tok, groups, spec.model.context, max_rows=dp.max_rows_per_unit)


def finetune(variant, settings, base, corpus, tok, spec, rep, seed, dp_setup, background=None):
    """Fine-tune a copy of ``base`` for one variant; DP variants use the shared ``dp_setup``
    (or collect the result of a ``background`` process already training this variant)."""
    from privml.dp import train_dp

    model = copy.deepcopy(base)
    pad = tok.token_to_id(PAD)
    info: dict = {"scrub": settings["scrub"], "dp": settings["dp"]}
    if settings["dp"]:
        dp = spec.dp
        cfg, plan = dp_setup
        where = " (in a parallel process)" if background else ""
        with rep.stage(f"DP fine-tuning ({variant}){where}") as update:
            if background:
                st = background.result(model, update)
            else:
                units = dp_units(settings, corpus, tok, spec)
                st = train_dp(model, units, cfg, pad_id=pad, progress=update, plan=plan)
        info.update(
            max_grad_norm=dp.max_grad_norm,
            noise_multiplier=round(st.noise_multiplier, 4),
            sampling_rate=round(st.sampling_rate, 5),
            epsilon=round(st.epsilon, 4),
            epsilon_rdp=round(st.epsilon_rdp, 4),
            delta=cfg.delta,
            accountant=st.accountant,
            unit=dp.unit,
            privacy_units=st.units,
            target_epsilon=dp.target_epsilon,
            accountant_note=st.note,
            clipping=st.clipping,
            parallel_process=background is not None,
            delta_rule="spec" if dp.delta is not None else "min(1/(10·N), ledger policy δ)",
        )
        section = dp
    else:
        section = spec.model.finetune
        groups = [corpus.texts(corpus.by_user[u], settings["scrub"]) for u in corpus.train_users]
        units = encode_units(tok, groups, spec.model.context)
        units = [u[i : i + 1] for u in units for i in range(len(u))]
        st = train_section(model, units, section, seed, f"Fine-tuning ({variant})", rep, pad)
    info.update(
        epochs=section.epochs,
        steps=st.steps,
        seconds=round(st.seconds, 1),
        batch_size=section.batch_size,
        lr=section.lr,
    )
    return model, info


def start_background(variants: dict, base, corpus, tok, spec, dp_setup, begun: set) -> dict:
    """With two or more DP variants and two or more cores, start the second DP variant in a
    one-thread child process now; this process then trains the first on one thread."""
    from privml.pipeline.background_dp import BackgroundDP

    dp_names = [n for n, s in variants.items() if s["dp"]]
    if len(dp_names) < 2 or (os.cpu_count() or 1) < 2:
        return {}
    name = dp_names[1]
    begun.add(name)
    units = dp_units(variants[name], corpus, tok, spec)
    job = BackgroundDP(base, units, *dp_setup, tok.token_to_id(PAD))
    return {name: job}
