"""``PresidioScrubber``: privml's default ``Scrubber``, one reused Presidio analyzer.

* Per text, recognizers that cannot fire are skipped by cheap character checks: phone/SSN/card
  need 7+ digits close together, address a digit and a capital, IBAN two letters then two
  digits, IP a digit or ``:``, e-mail an ``@``, names a capital letter (no shortcuts when extra
  recognizers are given). A text with none of them never reaches Presidio, and when only the
  name recognizer (which uses no context words) can fire, the spaCy pass is skipped.
* With ``ner_model`` (privml's NER model), the NLP engine runs that model instead of the blank
  pipeline: one pass gives both the tokens for context words and the entities that
  ``NerRecognizer`` reports. ``analyze_batch`` runs it over many texts at once with
  ``nlp.pipe``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import spacy
from presidio_analyzer.nlp_engine import NlpArtifacts
from spacy.language import Language
from spacy.tokens import Doc

from privml.scrub.base import (
    DEFAULT_SCORE_THRESHOLD,
    ENTITY_TYPES,
    NER_ENTITY_TYPES,
    OVERLAP_CHARS,
    WINDOW_CHARS,
    ScrubResult,
    Span,
    analyze_in_windows,
    apply_spans,
    resolve_overlaps,
)
from privml.scrub.nlp_engine import LANGUAGE
from privml.scrub.patterns import extend_phone_extensions, merge_same_type
from privml.scrub.presidio_engine import PHONE_REGIONS, build_analyzer

# spaCy's vocabulary is renewed past this many strings (about 100 MB), checked every RENEW_CHECK
# texts (see PresidioScrubber).
MAX_VOCAB_STRINGS = 500_000
RENEW_CHECK = 10_000

_LONG_NUMBER_TYPES = ("PHONE_NUMBER", "US_SSN", "CREDIT_CARD")
_HAS_DIGIT = re.compile(r"\d").search
_HAS_UPPER = re.compile(r"[A-Z]").search
_HAS_IBAN_START = re.compile(r"[A-Za-z]{2}\d{2}").search
# 7+ digits, each at most 4 characters (no newline) from the next: every phone number, SSN or
# card number has that; times, amounts, dates and short order numbers mostly do not.
_HAS_LONG_NUMBER = re.compile(r"\d(?:[^\d\n]{0,4}\d){6}").search
# Recognizers that use no context words: their texts need no NLP pass (spaCy tokenization).
_NO_CONTEXT_TYPES = frozenset({"PERSON"})
# Texts per ``nlp.pipe`` batch in ``analyze_batch``.
PIPE_BATCH = 128  # 64 and 256 measured slower (benchmarks/scrub_compare.py)


class PresidioScrubber:
    """``Scrubber`` backed by one reused Presidio ``AnalyzerEngine``.

    ``ner_model``: the directory of a privml NER model (``ner_recognizer.ner_model_path()``);
    the scrubber loads its own copy, the engine runs it and a ``NerRecognizer`` reports its
    PERSON / LOCATION / ORGANIZATION / STREET_ADDRESS entities.

    spaCy keeps every word it has ever seen in its vocabulary, so a long stream of new words
    (names, numbers, e-mail addresses) would grow memory without bound. Every ``RENEW_CHECK``
    texts the scrubber looks at the vocabulary's size and past ``MAX_VOCAB_STRINGS`` strings
    starts again from a freshly loaded pipeline. (spaCy's memory zones do this too, but switch
    off the tokenizer's cache: a third of the throughput.)
    """

    def __init__(
        self,
        entities: Sequence[str] | None = None,
        score_threshold: float = DEFAULT_SCORE_THRESHOLD,
        phone_regions: Sequence[str] = PHONE_REGIONS,
        extra_recognizers: Sequence = (),
        ner_model: str | Path | None = None,
    ) -> None:
        wanted = tuple(ENTITY_TYPES if entities is None else dict.fromkeys(entities))
        unknown = [e for e in wanted if e not in ENTITY_TYPES]
        if unknown:
            raise ValueError(f"unknown entity types {unknown}; known: {list(ENTITY_TYPES)}")
        if not 0.0 <= score_threshold <= 1.0:
            raise ValueError(f"score_threshold must be in [0, 1], got {score_threshold}")
        self.entities: tuple[str, ...] = wanted
        self.window_chars, self.overlap_chars = WINDOW_CHARS, OVERLAP_CHARS
        self.score_threshold = float(score_threshold)
        self._wanted = frozenset(wanted)
        self._model_path = ner_model
        pipeline = self._new_pipeline()
        recognizers = list(extra_recognizers)
        self._ner = None
        if ner_model is not None:
            from privml.scrub.ner_recognizer import NerRecognizer

            self._ner = NerRecognizer(pipeline=pipeline)
            recognizers.append(self._ner)
        self.analyzer = build_analyzer(phone_regions, recognizers, pipeline)
        # Types no recognizer serves (LOCATION, ORGANIZATION without the NER model) are simply
        # not detected; Presidio would otherwise refuse the whole request.
        supported = set(self.analyzer.get_supported_entities(LANGUAGE))
        self._requested = tuple(e for e in wanted if e in supported)
        # An extra recognizer may find anything anywhere: no character-check shortcuts.
        self._prefilter = not extra_recognizers
        # Types the NER model serves: every non-blank text may hold them.
        self._ner_types = frozenset(NER_ENTITY_TYPES if ner_model is not None else ())
        self._texts_since_check = 0
        self._use_pipeline(pipeline)

    def _new_pipeline(self) -> Language:
        """A fresh spaCy pipeline: the NER model read from disk, or a blank English one."""
        if self._model_path is None:
            return spacy.blank(LANGUAGE)
        from privml.scrub.ner_recognizer import read_ner_model

        return read_ner_model(self._model_path)

    def _use_pipeline(self, pipeline: Language) -> None:
        nlp_engine = self.analyzer.nlp_engine
        nlp_engine.nlp[LANGUAGE] = pipeline
        if self._ner is not None:
            self._ner.use_pipeline(pipeline)
        self._no_nlp = NlpArtifacts(
            entities=[],
            tokens=Doc(pipeline.vocab, words=[]),
            tokens_indices=[],
            lemmas=[],
            nlp_engine=nlp_engine,
            language=LANGUAGE,
        )

    def _count_texts(self, n_texts: int) -> None:
        """Start from a fresh pipeline when the vocabulary has outgrown MAX_VOCAB_STRINGS
        (checked every RENEW_CHECK texts; no Doc of an earlier call is in use by then)."""
        self._texts_since_check += n_texts
        if self._texts_since_check >= RENEW_CHECK:
            self._texts_since_check = 0
            if len(self.analyzer.nlp_engine.get_nlp(LANGUAGE).vocab.strings) > MAX_VOCAB_STRINGS:
                self._use_pipeline(self._new_pipeline())

    def _candidate_entities(self, text: str) -> list[str]:
        """Entity types that could possibly occur in ``text`` (cheap character checks)."""
        if not self._prefilter:
            return list(self._requested)
        has_digit = _HAS_DIGIT(text) is not None
        has_upper = _HAS_UPPER(text) is not None
        has_long_number = has_digit and _HAS_LONG_NUMBER(text) is not None
        out = []
        for entity in self._requested:
            if entity in self._ner_types:
                ok = not text.isspace()
            elif entity in _LONG_NUMBER_TYPES:
                ok = has_long_number
            elif entity == "STREET_ADDRESS":
                ok = has_digit and has_upper
            elif entity == "EMAIL_ADDRESS":
                ok = "@" in text
            elif entity == "PERSON":
                ok = has_upper
            elif entity == "IBAN_CODE":
                ok = _HAS_IBAN_START(text) is not None
            elif entity == "IP_ADDRESS":
                ok = has_digit or ":" in text
            else:  # pragma: no cover - every ENTITY_TYPES member is handled above
                ok = True
            if ok:
                out.append(entity)
        return out

    def _needs_nlp(self, entities: list[str]) -> bool:
        """Whether the spaCy pass is needed (context words or NER) for these candidate types."""
        return not (self._prefilter and _NO_CONTEXT_TYPES.issuperset(entities)) or bool(
            self._ner_types.intersection(entities)
        )

    def analyze(self, text: str) -> list[Span]:
        """Non-overlapping spans (higher score, then longer span wins), sorted by start.

        Texts longer than ``window_chars`` are analyzed in overlapping windows (spaCy's limit).
        """
        self._count_texts(1)
        return analyze_in_windows(self._analyze, text, self.window_chars, self.overlap_chars)

    def analyze_batch(self, texts: Sequence[str]) -> list[list[Span]]:
        """``[self.analyze(t) for t in texts]``, with one batched spaCy pass (``nlp.pipe``) for
        the texts that need one. Same results as ``analyze`` text by text."""
        self._count_texts(len(texts))
        out: list[list[Span]] = [[] for _ in texts]
        entities = [
            self._candidate_entities(t) if t and len(t) <= self.window_chars else [] for t in texts
        ]
        piped = [i for i, e in enumerate(entities) if e and self._needs_nlp(e)]
        artifacts = self.analyzer.nlp_engine.artifacts([texts[i] for i in piped], PIPE_BATCH)
        for i, art in zip(piped, artifacts, strict=True):
            out[i] = self._analyze(texts[i], entities[i], art)
        for i, text in enumerate(texts):
            if len(text) > self.window_chars:
                out[i] = self.analyze(text)
            elif entities[i] and not self._needs_nlp(entities[i]):
                out[i] = self._analyze(text, entities[i], self._no_nlp)
        return out

    def _analyze(
        self,
        text: str,
        entities: list[str] | None = None,
        nlp_artifacts: NlpArtifacts | None = None,
    ) -> list[Span]:
        if not text:
            return []
        if entities is None:
            entities = self._candidate_entities(text)
            if entities and not self._needs_nlp(entities):
                nlp_artifacts = self._no_nlp
        if not entities:
            return []
        results = self.analyzer.analyze(
            text=text,
            language=LANGUAGE,
            entities=entities,
            score_threshold=self.score_threshold,
            nlp_artifacts=nlp_artifacts,
        )
        spans = [
            Span(start=r.start, end=r.end, entity_type=r.entity_type, score=float(r.score))
            for r in results
            if r.entity_type in self._wanted and r.score >= self.score_threshold
        ]
        return resolve_overlaps(merge_same_type(extend_phone_extensions(text, spans)))

    def scrub(self, text: str) -> ScrubResult:
        """``text`` with each detected value replaced by its tag, e.g. ``<PERSON>``."""
        return apply_spans(text, self.analyze(text))
