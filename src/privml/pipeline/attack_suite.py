"""Run the spec's attacks on one trained variant and summarise them for results.json."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from privml.attacks import (
    TorchLMScorer,
    canary_exposure,
    loss_attack,
    model_update_attack,
    sample_extraction,
    tab_attack,
)
from privml.model.encoding import encode_units
from privml.model.tokenizer import BOS, PAD, UNK, digit_ids


@dataclass(frozen=True)
class Canary:
    cid: str  # public identifier used in reports, never the secret
    user_id: str
    prefix: str
    secret: str
    repetitions: int


def load_canaries(path: Path) -> list[Canary]:
    """Read ``canaries.json``: a list of {user_id, prefix, secret, repetitions}."""
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path}: canaries file not found") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    if not isinstance(rows, list):
        raise ValueError(f"{path}: expected a JSON list of canaries")
    out = []
    for i, row in enumerate(rows):
        where = f"{path}: canary [{i}]"
        if not isinstance(row, dict):
            raise ValueError(f"{where}: expected an object")
        for key in ("user_id", "prefix", "secret", "repetitions"):
            if key not in row:
                raise ValueError(f"{where}: missing field {key!r}")
        digits = str(row["secret"]).replace(" ", "")
        if not digits.isdigit():
            raise ValueError(f"{where}: secret must be digits (spaces allowed)")
        if not isinstance(row["repetitions"], int) or row["repetitions"] < 1:
            raise ValueError(f"{where}: repetitions must be a positive integer")
        out.append(
            Canary(
                f"c{i + 1:02d}",
                str(row["user_id"]),
                str(row["prefix"]),
                str(row["secret"]),
                int(row["repetitions"]),
            )
        )
    return out


def _canary_attacks(scorer, tok, canaries, spec) -> dict:
    alphabet = digit_ids(tok)
    exposures, tabs, notes = [], [], []
    contexts = [tuple(tok.encode(c.prefix).ids) for c in canaries]
    if len(set(contexts)) < len(contexts):
        notes.append("some canary prefixes tokenize identically; their exposures are not separable")
    if any(tok.token_to_id(UNK) in ctx for ctx in contexts):
        notes.append("some canary prefixes contain words outside the public vocabulary ([UNK])")
    for c in canaries:
        context = [tok.token_to_id(BOS), *tok.encode(c.prefix).ids]
        secret = tok.encode(c.secret).ids
        if "exposure" in spec.attacks.run:
            rng = np.random.default_rng([spec.seed, int(c.cid[1:])])
            e = canary_exposure(
                scorer, context, secret, alphabet, samples=spec.attacks.exposure_samples, rng=rng
            )
            exposures.append(
                {
                    "canary": c.cid,
                    "repetitions": c.repetitions,
                    "exposure": round(e.exposure, 3),
                    "method": e.method,
                }
            )
        if "extraction" in spec.attacks.run:
            t = tab_attack(scorer, context, secret)
            tabs.append(
                {
                    "canary": c.cid,
                    "repetitions": c.repetitions,
                    "extracted": t.extracted,
                    "digits_correct": t.digits_correct,
                }
            )
    out: dict = {}
    if exposures:
        log2_space = len(str(canaries[0].secret).replace(" ", "")) * np.log2(10)
        by_rep: dict[int, list[float]] = {}
        for e in exposures:
            by_rep.setdefault(e["repetitions"], []).append(e["exposure"])
        out["exposure"] = {
            **{f"mean_{r}": round(float(np.mean(v)), 3) for r, v in sorted(by_rep.items())},
            "max": max(e["exposure"] for e in exposures),
            "log2_space": round(float(log2_space), 3),
            "per_canary": exposures,
            "notes": notes,
        }
    if tabs:
        out["extraction"] = {
            "secrets_extracted": sum(t["extracted"] for t in tabs),
            "secrets_total": len(tabs),
            "per_canary": tabs,
        }
    return out


def _lm_attacks(scorer, before, tok, corpus, scrub, canaries, spec, pii_values) -> dict:
    """Sampling-based extraction and the model-update attack (Zanella-Béguelin et al. 2020).

    The update attacked is the private fine-tune: ``before`` is the public-only model.
    Phrases are keyed-hash tags unless ``attacks.show_secrets``.
    """
    out: dict = {}
    show = spec.attacks.show_secrets
    if "sampling_extraction" in spec.attacks.run:
        train_idx = [i for u in corpus.train_users for i in corpus.by_user[u]]
        report = sample_extraction(
            scorer,
            tok.decode,
            corpus.texts(train_idx, scrub),
            n_samples=spec.attacks.extraction_samples,
            length=spec.attacks.extraction_tokens,
            pii_values=pii_values,
            seed=spec.seed,
            show_secrets=show,
        )
        out["sampling_extraction"] = report.to_dict()
    if "model_update" in spec.attacks.run and before is not None:
        bos = tok.token_to_id(BOS)
        pairs = [
            ([bos, *tok.encode(c.prefix).ids], tok.encode(c.secret).ids)
            for c in canaries
            if c.repetitions == max(x.repetitions for x in canaries)
        ]
        length = len(pairs[0][1]) if pairs else 6
        out["model_update"] = model_update_attack(
            TorchLMScorer(before, tok.token_to_id(PAD), bos_id=bos),
            scorer,
            tok.decode,
            length=length,
            beam_width=spec.attacks.update_beam_width,
            vocab_subset=digit_ids(tok) if pairs else None,
            canaries=pairs,
            show_secrets=show,
        )
    return out


def attack_variant(
    model, tok, corpus, scrub: bool, canaries, spec, held_idx, rep, *, before=None, pii_values=()
) -> dict:
    """Exposure, tab extraction, loss-based membership inference and, on request, sampling
    extraction and the model-update attack (against ``before``) on one model."""
    pad = tok.token_to_id(PAD)
    scorer = TorchLMScorer(model, pad, bos_id=tok.token_to_id(BOS))
    out = _canary_attacks(scorer, tok, canaries, spec) if canaries else {}
    out.update(_lm_attacks(scorer, before, tok, corpus, scrub, canaries, spec, pii_values))
    if "membership" in spec.attacks.run:
        canary_texts = {f"{c.prefix} {c.secret}" for c in canaries}
        members = [
            i
            for u in corpus.train_users
            for i in corpus.by_user[u]
            if corpus.records[i].text not in canary_texts
        ]
        rng = np.random.default_rng(spec.seed)
        n = min(len(members), len(held_idx), spec.attacks.membership_max)
        m_idx = sorted(rng.choice(members, n, replace=False).tolist())
        h_idx = sorted(rng.choice(held_idx, n, replace=False).tolist())
        ctx = spec.model.context

        def losses(idx: list[int]) -> np.ndarray:
            units = encode_units(tok, [[t] for t in corpus.texts(idx, scrub)], ctx)
            return scorer.losses(units).numpy()

        out["membership"] = loss_attack(losses(m_idx), losses(h_idx))
    return out
