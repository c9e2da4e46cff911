"""Run the spec's attacks on one trained variant and summarise them for results.json."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from privml.attacks import TorchLMScorer, canary_exposure, loss_attack, tab_attack
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


def attack_variant(model, tok, corpus, scrub: bool, canaries, spec, held_idx, rep) -> dict:
    """Exposure, tab extraction and loss-based membership inference on one model."""
    pad = tok.token_to_id(PAD)
    scorer = TorchLMScorer(model, pad)
    out = _canary_attacks(scorer, tok, canaries, spec) if canaries else {}
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
