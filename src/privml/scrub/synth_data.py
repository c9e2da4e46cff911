"""Presidio-research synthetic PII data: loader and the shared, seeded held-out split.

The split is by sentence index through a stable hash (sha256 of ``f"{seed}:{index}"``), so it
does not depend on Python's hash randomisation, on the order items are processed in, or on
the other items: every consumer (pattern evaluation, NER training) gets the same held-out set.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from privml.scrub.base import Span

# Build-time data (never shipped): the repo's sibling ``../shared/data``, or $PRIVML_SHARED_DATA.
SHARED_DATA = Path(
    os.environ.get("PRIVML_SHARED_DATA")
    or Path(__file__).resolve().parents[3].parent / "shared" / "data"
)
DEFAULT_SYNTH_PATH = SHARED_DATA / "pii" / "presidio_synth_dataset_v2.json"


@dataclass(frozen=True)
class LabeledText:
    """One synthetic sentence with its gold spans (``score`` is 1.0), sorted by start.

    ``index`` is the sentence's position in the source file: the key of the split.
    Gold spans keep the dataset's own types (PERSON, GPE, ORGANIZATION, DATE_TIME, ...).
    """

    index: int
    text: str
    spans: tuple[Span, ...]
    template_id: int | None = None


def _gold_span(text: str, raw: dict) -> Span | None:
    """The span of one raw annotation; offsets are re-anchored on the value if they disagree."""
    start, end = int(raw["start_position"]), int(raw["end_position"])
    value = raw.get("entity_value")
    if value is not None and text[start:end] != value:
        found = text.find(value)
        if found < 0:
            return None
        start, end = found, found + len(value)
    if end <= start:
        return None
    return Span(start=start, end=end, entity_type=str(raw["entity_type"]), score=1.0)


def load_synth(path: str | Path = DEFAULT_SYNTH_PATH) -> list[LabeledText]:
    """Parse the dataset JSON (a list of ``{full_text, spans, template_id, ...}``)."""
    with open(path, encoding="utf-8") as fh:
        raw_items = json.load(fh)
    items: list[LabeledText] = []
    for index, raw in enumerate(raw_items):
        text = raw["full_text"]
        spans = (_gold_span(text, s) for s in raw.get("spans") or ())
        kept = sorted((s for s in spans if s is not None), key=lambda s: (s.start, s.end))
        template_id = raw.get("template_id")
        items.append(
            LabeledText(
                index=index,
                text=text,
                spans=tuple(kept),
                template_id=None if template_id is None else int(template_id),
            )
        )
    return items


def is_heldout(index: int, seed: int = 0, heldout: float = 0.2) -> bool:
    """Whether sentence ``index`` is held out: sha256 of ``f"{seed}:{index}"`` below the rate."""
    digest = hashlib.sha256(f"{seed}:{index}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64 < heldout


def split_synth(
    items: Sequence[LabeledText], seed: int = 0, heldout: float = 0.2
) -> tuple[list[LabeledText], list[LabeledText]]:
    """``(train, heldout)``: ``heldout`` of the items on average, by ``is_heldout(item.index)``."""
    if not 0.0 <= heldout <= 1.0:
        raise ValueError(f"heldout must be in [0, 1], got {heldout}")
    train: list[LabeledText] = []
    test: list[LabeledText] = []
    for item in items:
        (test if is_heldout(item.index, seed, heldout) else train).append(item)
    return train, test
