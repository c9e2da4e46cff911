"""Precision, recall and F1 of a scrubber against labeled text (Presidio JSON or CoNLL).

Matching rule: a predicted span matches a gold span when both have the same entity type and
their character intersection-over-union is at least ``iou`` (0.5). Pairs are matched one-to-one,
best IoU first. Matched pairs are true positives, unmatched predictions false positives,
unmatched gold spans false negatives. Per type, P = TP/(TP+FP), R = TP/(TP+FN), F1 their harmonic
mean (0 when undefined); "ALL" is the micro-average over the evaluated types.

Gold labels are mapped to the scrubber's types by ``LABEL_MAP`` (``PER`` -> ``PERSON``, ``GPE``
-> ``LOCATION`` ...). Only types the scrubber looks for are evaluated; other gold spans (unmapped
labels such as ``ORG``, or types outside ``scrubber.entities``) are counted in ``ignored_gold``.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from privml.data.records import DataError
from privml.scrub.base import Scrubber, Span, analyze_many

DEFAULT_IOU = 0.5
EVAL_BATCH = 256  # examples analyzed per batch

LABEL_MAP: dict[str, str] = {
    "PER": "PERSON",
    "PERSON": "PERSON",
    "LOC": "LOCATION",
    "GPE": "LOCATION",
    "LOCATION": "LOCATION",
    "STREET_ADDRESS": "STREET_ADDRESS",
    "ADDRESS": "STREET_ADDRESS",
    "EMAIL_ADDRESS": "EMAIL_ADDRESS",
    "EMAIL": "EMAIL_ADDRESS",
    "PHONE_NUMBER": "PHONE_NUMBER",
    "PHONE": "PHONE_NUMBER",
    "US_SSN": "US_SSN",
    "SSN": "US_SSN",
    "CREDIT_CARD": "CREDIT_CARD",
    "IP_ADDRESS": "IP_ADDRESS",
    "IBAN_CODE": "IBAN_CODE",
    "IBAN": "IBAN_CODE",
    "ORG": "ORGANIZATION",
    "ORGANIZATION": "ORGANIZATION",
    "ORGANISATION": "ORGANIZATION",
}


def map_label(label: str) -> str | None:
    """The scrubber type for a gold label (case-insensitive), or None if unmapped."""
    return LABEL_MAP.get(label.strip().upper())


@dataclass(frozen=True)
class GoldSpan:
    start: int
    end: int
    label: str  # as written in the data set


@dataclass(frozen=True)
class Example:
    text: str
    spans: tuple[GoldSpan, ...]


def read_presidio_json(path: str | Path) -> Iterator[Example]:
    """Presidio-research JSON: a list of ``{"full_text", "spans": [{"entity_type",
    "start_position", "end_position"}]}`` (``start``/``end`` accepted too)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DataError(path, None, f"cannot read labeled JSON ({type(e).__name__})") from None
    if not isinstance(data, list):
        raise DataError(path, None, "expected a JSON list of examples")
    for i, ex in enumerate(data):
        try:
            spans = tuple(
                GoldSpan(
                    int(s.get("start_position", s.get("start"))),
                    int(s.get("end_position", s.get("end"))),
                    str(s["entity_type"]),
                )
                for s in ex.get("spans") or ()
            )
            yield Example(text=str(ex["full_text"]), spans=spans)
        except (KeyError, TypeError, ValueError, AttributeError):
            raise DataError(path, None, f"example {i}: expected full_text and spans") from None


def _bio(label: str) -> tuple[str, str | None]:
    """``(prefix, type)``: ``B-PER`` -> ``("B", "PER")``, ``O`` -> ``("O", None)``, ``PER`` ->
    ``("", "PER")`` (plain labels: consecutive equal labels form one entity)."""
    if label == "O":
        return "O", None
    if len(label) > 2 and label[1] in "-_" and label[0] in "BIES":
        return label[0], label[2:]
    return "", label


def _sentence(tokens: list[tuple[str, str]]) -> Example:
    text_parts: list[str] = []
    spans: list[GoldSpan] = []
    pos = 0
    current: tuple[int, int, str] | None = None  # start, end, type
    for token, label in tokens:
        start, end = pos, pos + len(token)
        text_parts.append(token)
        pos = end + 1
        prefix, typ = _bio(label)
        continues = (
            current is not None and typ == current[2] and prefix in ("I", "E", "")
        )  # IOB1: I- after O or another type starts a new entity
        if continues and current is not None:
            current = (current[0], end, current[2])
        else:
            if current is not None:
                spans.append(GoldSpan(*current))
            current = (start, end, typ) if typ is not None else None
    if current is not None:
        spans.append(GoldSpan(*current))
    return Example(text=" ".join(text_parts), spans=tuple(spans))


def read_conll(path: str | Path) -> Iterator[Example]:
    """CoNLL: ``token<TAB or spaces>...label`` per line (label = last column), a blank line
    between sentences, ``-DOCSTART-`` lines ignored. Tokens are joined by single spaces."""
    tokens: list[tuple[str, str]] = []
    try:
        with open(path, encoding="utf-8") as fh:
            for line_no, line in enumerate(fh, start=1):
                cols = line.split()
                if not cols:
                    if tokens:
                        yield _sentence(tokens)
                    tokens = []
                elif cols[0] == "-DOCSTART-":
                    continue
                elif len(cols) < 2:
                    raise DataError(path, line_no, "expected a token and a label")
                else:
                    tokens.append((cols[0], cols[-1]))
    except UnicodeDecodeError:
        raise DataError(path, None, "not UTF-8") from None
    except OSError as e:
        raise DataError(path, None, f"cannot open file ({e.strerror})") from None
    if tokens:
        yield _sentence(tokens)


def read_labeled(path: str | Path, fmt: str | None = None) -> Iterator[Example]:
    """Examples from ``path``; ``fmt`` is ``json`` or ``conll`` (default: from the extension)."""
    fmt = fmt or ("json" if Path(path).suffix.lower() == ".json" else "conll")
    if fmt == "json":
        return read_presidio_json(path)
    if fmt == "conll":
        return read_conll(path)
    raise ValueError(f"unknown labeled format {fmt!r}; known: json, conll")


def iou(a: tuple[int, int], b: tuple[int, int]) -> float:
    """Character intersection over union of two half-open spans."""
    inter = max(0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union > 0 else 0.0


def match(
    gold: list[tuple[int, int]], pred: list[tuple[int, int]], threshold: float = DEFAULT_IOU
) -> int:
    """Number of one-to-one matches with IoU >= threshold (greedy, best IoU first)."""
    pairs = sorted(
        ((iou(g, p), i, j) for i, g in enumerate(gold) for j, p in enumerate(pred)),
        reverse=True,
    )
    used_g: set[int] = set()
    used_p: set[int] = set()
    for score, i, j in pairs:
        if score < threshold or score == 0:
            break
        if i not in used_g and j not in used_p:
            used_g.add(i)
            used_p.add(j)
    return len(used_g)


@dataclass
class TypeScore:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "support": self.tp + self.fn,
        }


@dataclass
class EvalReport:
    per_type: dict[str, TypeScore]
    examples: int = 0
    iou: float = DEFAULT_IOU
    ignored_gold: dict[str, int] = field(default_factory=dict)

    @property
    def micro(self) -> TypeScore:
        s = self.per_type.values()
        return TypeScore(sum(x.tp for x in s), sum(x.fp for x in s), sum(x.fn for x in s))

    def to_dict(self) -> dict[str, Any]:
        return {
            "examples": self.examples,
            "matching": f"same type and character IoU >= {self.iou}",
            "per_type": {t: s.to_dict() for t, s in sorted(self.per_type.items())},
            "ALL": self.micro.to_dict(),
            "ignored_gold": dict(sorted(self.ignored_gold.items())),
        }


def evaluate(
    examples: Iterable[Example],
    scrubber: Scrubber,
    *,
    iou_threshold: float = DEFAULT_IOU,
    limit: int | None = None,
) -> EvalReport:
    """Run ``scrubber.analyze`` on each example (in batches, see ``analyze_many``) and score it
    against the gold spans."""
    wanted = set(scrubber.entities)
    per_type: dict[str, TypeScore] = {}
    ignored: Counter[str] = Counter()
    n = 0
    stream = iter(examples if limit is None else itertools.islice(examples, limit))
    while batch := list(itertools.islice(stream, EVAL_BATCH)):
        n += len(batch)
        for ex, found in zip(batch, analyze_many(scrubber, [ex.text for ex in batch]), strict=True):
            _score_example(ex, found, wanted, iou_threshold, per_type, ignored)
    return EvalReport(per_type=per_type, examples=n, iou=iou_threshold, ignored_gold=dict(ignored))


def _score_example(
    ex: Example,
    found: Iterable[Span],
    wanted: set[str],
    iou_threshold: float,
    per_type: dict[str, TypeScore],
    ignored: Counter[str],
) -> None:
    """Add one example's matches to ``per_type`` (and its out-of-scope gold to ``ignored``)."""
    gold: dict[str, list[tuple[int, int]]] = {}
    for g in ex.spans:
        typ = map_label(g.label)
        if typ in wanted:
            gold.setdefault(typ, []).append((g.start, g.end))
        else:
            ignored[g.label] += 1
    pred: dict[str, list[tuple[int, int]]] = {}
    for s in found:
        pred.setdefault(s.entity_type, []).append((s.start, s.end))
    for typ in set(gold) | set(pred):
        g, p = gold.get(typ, []), pred.get(typ, [])
        tp = match(g, p, iou_threshold)
        score = per_type.setdefault(typ, TypeScore())
        score.tp += tp
        score.fp += len(p) - tp
        score.fn += len(g) - tp


def packaged_recall(ner: bool) -> dict[str, float]:
    """The shipped scrubber's measured recall per type (``resources/scrub_eval.json``, written by
    ``benchmarks/scrub_compare.py --write-eval``) for the NER or patterns-only configuration;
    empty if the file is missing."""
    resource = files("privml") / "resources" / "scrub_eval.json"
    try:
        data = json.loads(resource.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    config = data.get("configs", {}).get("ner" if ner else "patterns", {})
    return {t: float(v["recall"]) for t, v in config.items()}
