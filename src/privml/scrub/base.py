"""The small, stable scrubber interface: spans, results, overlap resolution and batch helpers.

Everything engine-specific (Presidio, recognizers, name lists) lives in other modules; this
module imports nothing heavy so that code depending only on the interface stays cheap to import.
"""

from __future__ import annotations

import bisect
import itertools
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

ENTITY_TYPES: tuple[str, ...] = (
    "PERSON",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "US_SSN",
    "CREDIT_CARD",
    "IP_ADDRESS",
    "IBAN_CODE",
    "STREET_ADDRESS",
    "LOCATION",
    "ORGANIZATION",
)
# Found by the learned NER model (``ner_recognizer``) rather than by patterns.
NER_ENTITY_TYPES: tuple[str, ...] = ("PERSON", "LOCATION", "ORGANIZATION", "STREET_ADDRESS")

DEFAULT_SCORE_THRESHOLD = 0.5

# spaCy refuses texts over 1,000,000 characters: longer texts are analyzed in overlapping windows.
WINDOW_CHARS = 200_000
OVERLAP_CHARS = 2_000

# Texts per batch (and per progress report) in ``scrub_texts``.
PROGRESS_EVERY = 1000


@dataclass(frozen=True)
class Span:
    """A detected value: ``text[start:end]`` of the original text is an ``entity_type``."""

    start: int
    end: int
    entity_type: str
    score: float


@dataclass(frozen=True)
class ScrubResult:
    """A scrubbed text.

    ``text`` has each detected value replaced by its type tag (``<PERSON>``); ``spans`` are the
    detected values in the ORIGINAL text (non-overlapping, sorted by start); ``counts`` is the
    number of spans per entity type (types with no span are absent).
    """

    text: str
    spans: tuple[Span, ...]
    counts: dict[str, int] = field(default_factory=dict)


@runtime_checkable
class Scrubber(Protocol):
    """Anything that finds PII spans in a text and replaces them by type tags."""

    entities: tuple[str, ...]

    def analyze(self, text: str) -> list[Span]:
        """Non-overlapping spans in ``text``, sorted by start."""
        ...

    def scrub(self, text: str) -> ScrubResult:
        """``text`` with every span replaced by ``tag(span.entity_type)``."""
        ...


def tag(entity_type: str) -> str:
    """The placeholder that replaces a value of ``entity_type`` in scrubbed text."""
    return f"<{entity_type}>"


def resolve_overlaps(spans: Iterable[Span]) -> list[Span]:
    """Drop overlapping spans, keeping the higher score, then the longer span.

    Remaining ties are broken by the earlier start, then the entity type name, so the result is
    deterministic. Empty spans are dropped. Returns the kept spans sorted by start.
    """
    ranked = sorted(
        (s for s in spans if s.end > s.start),
        key=lambda s: (-s.score, -(s.end - s.start), s.start, s.entity_type),
    )
    starts: list[int] = []
    kept: list[Span] = []  # sorted by start, pairwise non-overlapping
    for span in ranked:
        i = bisect.bisect_left(starts, span.start)
        if i > 0 and kept[i - 1].end > span.start:
            continue  # overlaps the kept span that starts before it
        if i < len(kept) and kept[i].start < span.end:
            continue  # overlaps the kept span that starts at/after it
        starts.insert(i, span.start)
        kept.insert(i, span)
    return kept


def analyze_in_windows(
    analyze: Callable[[str], list[Span]],
    text: str,
    window: int = WINDOW_CHARS,
    overlap: int = OVERLAP_CHARS,
) -> list[Span]:
    """``analyze`` on a text of any length, in windows of ``window`` characters (cut at a
    whitespace when possible) overlapping by ``overlap``: every value shorter than the overlap
    lies whole in some window. Spans are shifted back and merged by ``resolve_overlaps``."""
    if len(text) <= window:
        return analyze(text)
    spans: list[Span] = []
    start = 0
    while True:
        end = min(start + window, len(text))
        if end < len(text):
            cut = max(
                text.rfind(" ", end - overlap // 2, end),
                text.rfind("\n", end - overlap // 2, end),
            )
            end = cut if cut > end - overlap // 2 else end
        spans.extend(
            Span(s.start + start, s.end + start, s.entity_type, s.score)
            for s in analyze(text[start:end])
        )
        if end >= len(text):
            return resolve_overlaps(spans)
        start = end - overlap


def apply_spans(text: str, spans: Sequence[Span]) -> ScrubResult:
    """Replace each span of ``text`` by its tag. ``spans`` must be sorted and non-overlapping."""
    parts: list[str] = []
    pos = 0
    counts: Counter[str] = Counter()
    for span in spans:
        parts.append(text[pos : span.start])
        parts.append(tag(span.entity_type))
        counts[span.entity_type] += 1
        pos = span.end
    parts.append(text[pos:])
    return ScrubResult(text="".join(parts), spans=tuple(spans), counts=dict(counts))


def analyze_many(scrubber: Scrubber, texts: Sequence[str]) -> list[list[Span]]:
    """``scrubber.analyze`` on each text, through ``scrubber.analyze_batch`` when it has one
    (batched model inference); the results are the same either way."""
    batch = getattr(scrubber, "analyze_batch", None)
    if batch is not None:
        return batch(texts)
    return [scrubber.analyze(t) for t in texts]


def scrub_many(scrubber: Scrubber, texts: Sequence[str]) -> list[ScrubResult]:
    """``scrubber.scrub`` on each text, analyzed as one batch (see :func:`analyze_many`)."""
    return [apply_spans(t, s) for t, s in zip(texts, analyze_many(scrubber, texts), strict=True)]


def scrub_texts(
    texts: Iterable[str],
    scrubber: Scrubber,
    *,
    progress: Callable[[int], None] | None = None,
) -> tuple[list[str], Counter[str]]:
    """Scrub every text; return the scrubbed texts (same order) and the total counts per type.

    Texts are analyzed in batches of ``PROGRESS_EVERY`` (see :func:`analyze_many`);
    ``progress(n_done)`` is called after each batch (and once for no texts).
    """
    out: list[str] = []
    totals: Counter[str] = Counter()
    it = iter(texts)
    while True:
        batch = list(itertools.islice(it, PROGRESS_EVERY))
        for result in scrub_many(scrubber, batch):
            out.append(result.text)
            totals.update(result.counts)
        if progress is not None and (batch or not out):
            progress(len(out))
        if len(batch) < PROGRESS_EVERY:
            return out, totals


def make_scrubber(
    entities: Sequence[str] | None = None,
    score_threshold: float = DEFAULT_SCORE_THRESHOLD,
    ner: bool = False,
) -> Scrubber:
    """The default scrubber: Presidio's analyzer with offline pattern and name-list recognizers
    plus, with ``ner`` and when any of ``NER_ENTITY_TYPES`` is wanted, privml's packaged NER
    model (PERSON, LOCATION, ORGANIZATION, STREET_ADDRESS). ``privml scrub`` and the pipeline
    turn it on; it is off by default here because it costs several times the pattern pass
    (batch texts through ``analyze_many`` to keep that cost down).

    ``entities`` defaults to all of ``ENTITY_TYPES``. Construction loads the name lists and
    compiles the recognizers (and loads the NER model): build one scrubber and reuse it.
    """
    from privml.scrub.scrubber import PresidioScrubber

    wanted = ENTITY_TYPES if entities is None else tuple(entities)
    model = None
    if ner and set(wanted) & set(NER_ENTITY_TYPES):
        from privml.scrub.ner_recognizer import ner_available, ner_model_path

        if ner_available():
            model = ner_model_path()
    return PresidioScrubber(entities=entities, score_threshold=score_threshold, ner_model=model)
