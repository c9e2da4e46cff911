"""Train and evaluate the packaged NER model (PERSON, LOCATION, ORGANIZATION, STREET_ADDRESS).

The model is a blank English spaCy pipeline (tokenizer) with privml's tagger component
(:mod:`privml.scrub.ner_tagger`: hash embeddings + name-list flags + a small CNN, BILUO tags),
trained from scratch with PyTorch's Adam on cross-entropy, seeded (``torch.manual_seed`` and a
seeded shuffle). Data: see :mod:`privml.scrub.ner_data`. Evaluation is exact character-span
match per label; with
``merge_adjacent=True`` neighbouring spans of one label separated only by spaces/commas/newlines
are merged first in gold and prediction (the synthetic set labels an address as several pieces).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
import spacy
import torch
import torch.nn.functional as F
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training.iob_utils import doc_to_biluo_tags
from spacy.util import filter_spans

from privml.atomic import atomic_dir
from privml.scrub.ner_data import (
    DATA_DIR,
    NER_LABELS,
    WNUT_DEV,
    NerExample,
    conll_examples,
    generate_examples,
    read_conll,
    synth_examples,
)
from privml.scrub.ner_tagger import COMPONENT, NerTagger, TaggerConfig, tag_names

META = {
    "name": "privml_ner",
    "description": "PERSON/LOCATION/ORGANIZATION/STREET_ADDRESS NER, see SOURCES.md",
    "license": "CC BY-SA 3.0 (derived from CC BY 4.0/3.0 and CC BY-SA 3.0 US data)",
}
GROUPS = {"LOC+ADDRESS": ("LOCATION", "STREET_ADDRESS")}
_GAP_RE = re.compile(r"[\s,]*")


_TAG_INDEX = {t: i for i, t in enumerate(tag_names())}


def blank_ner(cfg: TaggerConfig | None = None) -> Language:
    """A blank English pipeline with an untrained tagger component (sizes from ``cfg``)."""
    nlp = spacy.blank("en")
    tagger: NerTagger = nlp.add_pipe(COMPONENT)
    if cfg is not None:
        tagger.reset(cfg)
    return nlp


def gold_tags(nlp: Language, ex: NerExample) -> tuple[Doc, np.ndarray]:
    """The tokenized text and its BILUO tag indices; spans are expanded to token boundaries and
    overlaps dropped."""
    doc = nlp.make_doc(ex.text)
    spans = []
    for start, end, label in ex.spans:
        span = doc.char_span(start, end, label=label, alignment_mode="expand")
        if span is not None and not span.text.isspace():
            spans.append(span)
    doc.ents = filter_spans(spans)  # the tagger reads only the tokens, never these entities
    return doc, np.array([_TAG_INDEX[t] for t in doc_to_biluo_tags(doc)])


def predict_spans(nlp: Language, texts: Iterable[str]) -> list[list[tuple[int, int, str]]]:
    """Predicted ``(start, end, label)`` character spans for each text."""
    return [
        [(e.start_char, e.end_char, e.label_) for e in doc.ents]
        for doc in nlp.pipe(texts, batch_size=64)
    ]


def _merge(text: str, spans: Iterable[tuple[int, int, str]]) -> set[tuple[int, int, str]]:
    out: list[list] = []
    for start, end, label in sorted(spans):
        if out and out[-1][2] == label and _GAP_RE.fullmatch(text[out[-1][1] : start]):
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end, label])
    return {tuple(s) for s in out}


def score_spans(
    texts: Sequence[str],
    gold: Sequence[Iterable[tuple[int, int, str]]],
    pred: Sequence[Iterable[tuple[int, int, str]]],
    merge_adjacent: bool = False,
) -> dict[str, dict[str, float]]:
    """Per-label (and per :data:`GROUPS`) precision/recall/F1 by exact span match.

    A group counts a predicted span as correct when a gold span has the same offsets and a label
    in the same group. Precision of a label with no predictions is 0.
    """
    counts: dict[str, list[int]] = {}  # label -> [tp, n_pred, n_gold]
    for text, g, p in zip(texts, gold, pred, strict=True):
        gs = _merge(text, g) if merge_adjacent else set(map(tuple, g))
        ps = _merge(text, p) if merge_adjacent else set(map(tuple, p))
        for name, members in [(lab, (lab,)) for lab in NER_LABELS] + list(GROUPS.items()):
            gk = {(s, e) for s, e, lab in gs if lab in members}
            pk = {(s, e) for s, e, lab in ps if lab in members}
            c = counts.setdefault(name, [0, 0, 0])
            c[0] += len(gk & pk)
            c[1] += len(pk)
            c[2] += len(gk)
    result: dict[str, dict[str, float]] = {}
    for name, (tp, n_pred, n_gold) in counts.items():
        p = tp / n_pred if n_pred else 0.0
        r = tp / n_gold if n_gold else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        result[name] = {
            "precision": round(p, 4),
            "recall": round(r, 4),
            "f1": round(f, 4),
            "support": n_gold,
        }
    return result


def evaluate_ner(
    nlp: Language, examples: Sequence[NerExample], merge_adjacent: bool = False
) -> dict[str, dict[str, float]]:
    """Score ``nlp`` on ``examples`` with :func:`score_spans`."""
    texts = [ex.text for ex in examples]
    return score_spans(
        texts, [ex.spans for ex in examples], predict_spans(nlp, texts), merge_adjacent
    )


def train_examples(seed: int = 0, n_generated: int = 3000) -> list[NerExample]:
    """The training set: CoNLL corpora + synthetic train split (x2) + generated sentences."""
    synth_train, _ = synth_examples()
    return conll_examples() + synth_train * 2 + generate_examples(n_generated, seed=seed)


def fit(
    nlp: Language,
    data: Sequence[NerExample],
    *,
    seed: int = 0,
    epochs: int = 10,
    batch_size: int = 32,
    lr: float = 2e-3,
    max_minutes: float | None = None,
    progress: Callable[[int, float], None] | None = None,
) -> Language:
    """Train the tagger of ``nlp`` from scratch on ``data``; deterministic for a given seed
    (the weights are re-initialised from the seed first)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)  # shuffling only: no privacy or secrecy depends on it
    tagger: NerTagger = nlp.get_pipe(COMPONENT)
    tagger.reset(tagger.cfg)
    model = tagger.model
    examples = [gold_tags(nlp, ex) for ex in data]
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    t0 = time.monotonic()
    for epoch in range(epochs):
        total = 0.0
        order = rng.permutation(len(examples))
        for lo in range(0, len(examples), batch_size):
            batch = [examples[i] for i in order[lo : lo + batch_size]]
            (ids, gaz, mask), starts = tagger.featurize([doc for doc, _ in batch])
            target = torch.full((len(mask),), -100, dtype=torch.long)
            for (_, tags), s in zip(batch, starts, strict=True):
                target[s : s + len(tags)] = torch.from_numpy(tags)
            loss = F.cross_entropy(model(ids, gaz, mask), target, ignore_index=-100)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item()
        if progress is not None:
            progress(epoch, total)
        if max_minutes is not None and time.monotonic() - t0 > 60 * max_minutes:
            break
    model.eval()
    return nlp


O_BIAS_GRID = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0)


def choose_o_bias(
    nlp: Language, examples: Sequence[NerExample], grid: Sequence[float] = O_BIAS_GRID
) -> tuple[float, dict[float, float]]:
    """The O bias (see ``TaggerConfig.o_bias``) with the best recall-weighted F2 over all labels
    (exact spans, address pieces merged) on ``examples``; sets it on ``nlp``'s tagger and returns
    it with the F2 of every candidate. A scrubber should rather over-redact: hence F2, not F1."""
    tagger: NerTagger = nlp.get_pipe(COMPONENT)
    texts = [ex.text for ex in examples]
    f2: dict[float, float] = {}
    for bias in grid:
        tagger.set_o_bias(bias)
        pred = predict_spans(nlp, texts)
        tp = n_pred = n_gold = 0
        for text, ex, p in zip(texts, examples, pred, strict=True):
            g, q = _merge(text, ex.spans), _merge(text, p)
            tp, n_pred, n_gold = tp + len(g & q), n_pred + len(q), n_gold + len(g)
        prec, rec = tp / max(n_pred, 1), tp / max(n_gold, 1)
        f2[bias] = round(5 * prec * rec / (4 * prec + rec), 4) if prec + rec else 0.0
    best = max(grid, key=lambda b: (f2[b], -b))
    tagger.set_o_bias(best)
    return best, f2


def train_ner(
    out_dir: str | Path,
    *,
    seed: int = 0,
    epochs: int = 25,
    n_generated: int = 3000,
    max_minutes: float | None = 18.0,
    progress: Callable[[int, float], None] | None = None,
) -> dict:
    """Train, save to ``out_dir`` and return metrics on every evaluation set.

    Sets: ``synth_heldout`` (the shared 20% split, never trained on), ``generated_test``
    (templates filled with held-out identities, seed+1000), ``wnut17_dev`` (out of domain).
    """
    t0 = time.monotonic()
    done: list[int] = []

    def on_epoch(epoch: int, loss: float) -> None:
        done.append(epoch)
        if progress is not None:
            progress(epoch, loss)

    nlp = fit(
        blank_ner(),
        train_examples(seed, n_generated),
        seed=seed,
        epochs=epochs,
        max_minutes=max_minutes,
        progress=on_epoch,
    )
    # Validation: generated sentences with TRAINING identities (another seed), never test data.
    o_bias, f2_by_bias = choose_o_bias(nlp, generate_examples(1000, seed=seed + 500))
    train_seconds = time.monotonic() - t0
    nlp.meta.update(META)
    with atomic_dir(out_dir) as tmp:  # an interrupted save leaves the old model whole
        nlp.to_disk(tmp, exclude=["vocab"])  # the tagger needs no strings: ship none
    _, synth_test = synth_examples()
    gen_test = generate_examples(1000, seed=seed + 1000, test=True)
    wnut = read_conll(DATA_DIR / "ner" / WNUT_DEV)
    return {
        "seed": seed,
        "epochs": epochs,
        "epochs_run": len(done),  # < epochs only if max_minutes cut training short
        "train_seconds": round(train_seconds, 1),
        "o_bias": o_bias,
        "validation_f2_by_o_bias": f2_by_bias,
        "synth_heldout": evaluate_ner(nlp, synth_test),
        "synth_heldout_merged": evaluate_ner(nlp, synth_test, merge_adjacent=True),
        "generated_test": evaluate_ner(nlp, gen_test),
        "wnut17_dev": evaluate_ner(nlp, wnut),
    }
