"""The private corpus as the text-prediction pipeline holds it: records, the user split, and
the scrubbed texts with what the scrubber found."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from privml.data.records import Record
from privml.pipeline.progress import Reporter
from privml.pipeline.spec import RunSpec

SCRUB_BATCH = 512  # records analyzed per batch (one batched NER pass; one progress update)


@dataclass
class Corpus:
    """The private corpus after reading and splitting (texts kept in memory only)."""

    records: list[Record]
    train_users: list[str]
    heldout_users: list[str]
    by_user: dict[str, list[int]]
    scrubbed: list[str] | None = None
    pii_found: dict[str, int] = field(default_factory=dict)
    detected_values: set[str] = field(default_factory=set)
    skipped: int = 0

    def texts(self, idx: list[int], scrub: bool) -> list[str]:
        src = self.scrubbed if scrub else None
        return [src[i] if src is not None else self.records[i].text for i in idx]


def split_users(by_user: dict, fraction: float, keep: set[str], seed: int) -> tuple[list, list]:
    users = sorted(by_user)
    candidates = [u for u in users if u not in keep]
    rng = np.random.default_rng(seed)
    n_held = max(1, round(fraction * len(users))) if len(candidates) > 1 else 0
    held = set(rng.choice(candidates, size=min(n_held, len(candidates) - 1), replace=False))
    return [u for u in users if u not in held], sorted(held)


def scrub_corpus(corpus: Corpus, spec: RunSpec, rep: Reporter) -> None:
    from privml.scrub import make_scrubber, scrub_many

    scrubber = make_scrubber(spec.scrub.entities, spec.scrub.score_threshold, ner=spec.scrub.ner)
    out, counts = [], Counter()
    n = len(corpus.records)
    with rep.stage("Scrubbing PII", n) as update:
        for lo in range(0, n, SCRUB_BATCH):
            texts = [rec.text for rec in corpus.records[lo : lo + SCRUB_BATCH]]
            for text, res in zip(texts, scrub_many(scrubber, texts), strict=True):
                out.append(res.text)
                counts.update(res.counts)
                for s in res.spans:
                    value = text[s.start : s.end]
                    if len(value) >= 6 and any(c.isdigit() or c in " @" for c in value):
                        corpus.detected_values.add(value)
            update(len(out), n)
    corpus.scrubbed, corpus.pii_found = out, dict(sorted(counts.items()))


def scrubber_recall(corpus: Corpus, labels: Path | None) -> tuple[dict, dict]:
    """Planted counts and the share of planted values the scrubber removed, per type."""
    if not labels or not labels.exists() or corpus.scrubbed is None:
        return {}, {}
    line_to_idx = {r.line - 1: i for i, r in enumerate(corpus.records)}
    planted, caught = Counter(), Counter()
    with labels.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                rec, typ, value = int(row["record"]), str(row["type"]), str(row["value"])
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{labels}:{n}: bad label row ({type(exc).__name__})") from None
            if rec not in line_to_idx:
                continue
            planted[typ] += 1
            caught[typ] += value not in corpus.scrubbed[line_to_idx[rec]]
    recall = {t: round(caught[t] / planted[t], 4) for t in sorted(planted)}
    return dict(sorted(planted.items())), recall


def scrubber_facts(spec: RunSpec) -> dict:
    """Which scrubber ran, and its recall per type measured on labelled held-out data."""
    from privml.scrub.evaluate import packaged_recall
    from privml.scrub.ner_recognizer import ner_available

    ner = spec.scrub.ner and ner_available()
    return {
        "ner": ner,
        "evaluated_recall": packaged_recall(ner),
        "evaluated_on": "held-out synthetic PII sentences, the NER test sentences and a "
        "generated demo corpus (BENCHMARKS.md, Scrubbing)",
    }
