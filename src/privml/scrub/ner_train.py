"""Train and evaluate the packaged spaCy NER model (PERSON, LOCATION, ORGANIZATION, STREET_ADDRESS).

The model is a blank English pipeline with one ``ner`` component (transition-based parser on a
small hash-embedding CNN: NORM/PREFIX/SUFFIX/SHAPE, width 96, depth 4), trained from scratch with
``nlp.update`` in a plain loop, seeded by ``spacy.util.fix_random_seed``. Data: see
:mod:`privml.scrub.ner_data`. Evaluation is exact character-span match per label; with
``merge_adjacent=True`` neighbouring spans of one label separated only by spaces/commas/newlines
are merged first in gold and prediction (the synthetic set labels an address as several pieces).
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import spacy
from spacy.language import Language
from spacy.training import Example
from spacy.util import filter_spans, minibatch

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

MODEL_CONFIG = {
    "@architectures": "spacy.TransitionBasedParser.v2",
    "state_type": "ner",
    "extra_state_tokens": False,
    "hidden_width": 64,
    "maxout_pieces": 2,
    "use_upper": True,
    "tok2vec": {
        "@architectures": "spacy.HashEmbedCNN.v2",
        "pretrained_vectors": None,
        "width": 96,
        "depth": 4,
        "embed_size": 4000,
        "window_size": 1,
        "maxout_pieces": 3,
        "subword_features": True,
    },
}
META = {
    "name": "privml_ner",
    "description": "PERSON/LOCATION/ORGANIZATION/STREET_ADDRESS NER, see SOURCES.md",
    "license": "CC BY-SA 3.0 (derived from CC BY 4.0/3.0 and CC BY-SA 3.0 US data)",
}
GROUPS = {"LOC+ADDRESS": ("LOCATION", "STREET_ADDRESS")}
_GAP_RE = re.compile(r"[\s,]*")


def blank_ner() -> Language:
    """A blank English pipeline with an untrained ``ner`` component and the four labels."""
    nlp = spacy.blank("en")
    ner = nlp.add_pipe("ner", config={"model": MODEL_CONFIG})
    for label in NER_LABELS:
        ner.add_label(label)
    return nlp


def to_example(nlp: Language, ex: NerExample) -> Example:
    """A spaCy training Example; spans are expanded to token boundaries, overlaps dropped."""
    doc = nlp.make_doc(ex.text)
    spans = []
    for start, end, label in ex.spans:
        span = doc.char_span(start, end, label=label, alignment_mode="expand")
        if span is not None and not span.text.isspace():
            spans.append(span)
    doc.ents = filter_spans(spans)
    return Example(nlp.make_doc(ex.text), doc)


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
    max_minutes: float | None = None,
    progress: Callable[[int, float], None] | None = None,
) -> Language:
    """Train ``nlp`` in place on ``data``; deterministic for a given seed (single process)."""
    spacy.util.fix_random_seed(seed)
    examples = [to_example(nlp, ex) for ex in data]
    optimizer = nlp.initialize(lambda: examples)
    rng = random.Random(seed)
    t0 = time.monotonic()
    for epoch in range(epochs):
        rng.shuffle(examples)
        losses: dict[str, float] = {}
        for batch in minibatch(examples, size=batch_size):
            nlp.update(batch, sgd=optimizer, drop=0.2, losses=losses)
        if progress is not None:
            progress(epoch, losses.get("ner", 0.0))
        if max_minutes is not None and time.monotonic() - t0 > 60 * max_minutes:
            break
    return nlp


def train_ner(
    out_dir: str | Path,
    *,
    seed: int = 0,
    epochs: int = 8,
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
    train_seconds = time.monotonic() - t0
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    nlp.meta.update(META)
    nlp.to_disk(out)
    _, synth_test = synth_examples()
    gen_test = generate_examples(1000, seed=seed + 1000, test=True)
    wnut = read_conll(DATA_DIR / "ner" / WNUT_DEV)
    return {
        "seed": seed,
        "epochs": epochs,
        "epochs_run": len(done),  # < epochs only if max_minutes cut training short
        "train_seconds": round(train_seconds, 1),
        "synth_heldout": evaluate_ner(nlp, synth_test),
        "synth_heldout_merged": evaluate_ner(nlp, synth_test, merge_adjacent=True),
        "generated_test": evaluate_ner(nlp, gen_test),
        "wnut17_dev": evaluate_ner(nlp, wnut),
    }
