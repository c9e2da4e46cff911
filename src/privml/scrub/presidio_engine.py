"""The default scrubber: Presidio's ``AnalyzerEngine`` running fully offline.

* NLP engine: ``spacy.blank("en")`` (tokenizer only, no model download). Blank spaCy gives no
  lemmas, so the engine uses the lower-cased token text as the lemma; that is what lets Presidio's
  ``LemmaContextAwareEnhancer`` raise scores (+0.35) when a context word ("ssn", "phone",
  "card", ...) is among the 5 keywords before a match. Context words that spaCy
  lists as stop words ("call") are kept as keywords. No ``SpacyRecognizer`` (needs a NER model).
* Recognizers (and nothing else -- no UK NHS, bank, driver licence, passport, ITIN, date, URL,
  crypto, medical licence ...): e-mail (``tldextract`` restricted to its bundled suffix snapshot:
  no network, no cache writes), phone numbers (``phonenumbers``, a few regions, a NANP format
  pattern, and any 7-15 digit grouped number next to a phone context word), US SSN (SSA
  area/group/serial rules), credit cards (Luhn; bare 12-19 digit numbers need a card context
  word), IPv4/IPv6, IBAN (mod-97 checksum), US street addresses (pattern) and person names
  (``privml.scrub.names``). See ``privml.scrub.patterns``. ``extra_recognizers`` adds more.
* One ``AnalyzerEngine`` is built per scrubber and reused. Per text, recognizers that cannot fire
  are skipped by cheap character checks: phone/SSN/card need 7+ digits close together, address
  a digit and a capital, IBAN two letters then two digits, IP a digit or ``:``, e-mail an ``@``,
  names a capital letter (no shortcuts when extra recognizers are given). A text
  with none of them never reaches Presidio, and when only the name recognizer (which uses no
  context words) can fire, the spaCy pass is skipped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import spacy
import tldextract
from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
from presidio_analyzer.nlp_engine import NlpArtifacts, SpacyNlpEngine
from presidio_analyzer.predefined_recognizers import EmailRecognizer, IbanRecognizer, IpRecognizer
from spacy.tokens import Doc

from privml.scrub.base import (
    DEFAULT_SCORE_THRESHOLD,
    ENTITY_TYPES,
    OVERLAP_CHARS,
    WINDOW_CHARS,
    ScrubResult,
    Span,
    analyze_in_windows,
    apply_spans,
    resolve_overlaps,
)
from privml.scrub.names import NameListRecognizer
from privml.scrub.patterns import (
    ContextCardRecognizer,
    ExtendedCreditCardRecognizer,
    GenericPhoneRecognizer,
    ScoredPhoneRecognizer,
    SsaSsnRecognizer,
    extend_phone_extensions,
    merge_same_type,
    nanp_phone_recognizer,
    street_address_recognizer,
)

LANGUAGE = "en"

# Regions whose national number formats are recognized. Numbers written with a leading "+" are
# found whatever the region. Each region is one more pass of phonenumbers' matcher. Not DE: its
# variable-length numbers make ~7% of random 9-digit codes ("030 437 866") valid phone numbers.
PHONE_REGIONS: tuple[str, ...] = ("US", "GB", "FR")


def offline_tld_extract() -> tldextract.TLDExtract:
    """Public-suffix look-ups from the snapshot bundled with tldextract.

    The default extractor fetches the suffix list over the network on first use and caches it on
    disk; this one never does either.
    """
    return tldextract.TLDExtract(cache_dir=None, suffix_list_urls=())


_OFFLINE_TLD_EXTRACT = offline_tld_extract()


class BlankSpacyNlpEngine(SpacyNlpEngine):
    """``SpacyNlpEngine`` over ``spacy.blank(lang)``: tokens only, lemma = lower-cased text."""

    def __init__(self, language: str = LANGUAGE) -> None:
        super().__init__(models=[{"lang_code": language, "model_name": f"blank:{language}"}])
        self._language = language

    def load(self) -> None:  # noqa: D102 - never calls spacy.load / spacy download
        self.nlp = {self._language: spacy.blank(self._language)}

    def get_supported_entities(self) -> list[str]:  # noqa: D102 - no NER component
        return []

    # Context words that are also spaCy stop words ("call"): Presidio drops stop words from the
    # context window, so "call me on 9472 7916" would never lift a phone score without this.
    context_words: frozenset[str] = frozenset()

    def is_stopword(self, word: str, language: str) -> bool:  # noqa: D102
        return word.lower() not in self.context_words and super().is_stopword(word, language)

    def _doc_to_nlp_artifact(self, doc: Doc, language: str) -> NlpArtifacts:
        indices, lemmas = [], []
        for token in doc:
            indices.append(token.idx)
            lemmas.append(token.lemma_ or token.lower_)
        return NlpArtifacts(
            entities=[],
            tokens=doc,
            tokens_indices=indices,
            lemmas=lemmas,
            nlp_engine=self,
            language=language,
            scores=[],
        )


class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's e-mail recognizer, validating the domain against the offline suffix list."""

    def validate_result(self, pattern_text: str) -> bool:  # noqa: D102
        return _OFFLINE_TLD_EXTRACT(pattern_text).fqdn != ""


def build_recognizers(phone_regions: Sequence[str] = PHONE_REGIONS) -> list:
    """The recognizers of the default scrubber (one or more per entity type in ENTITY_TYPES)."""
    return [
        NameListRecognizer(),
        OfflineEmailRecognizer(),
        ScoredPhoneRecognizer(supported_regions=tuple(phone_regions)),
        nanp_phone_recognizer(),
        GenericPhoneRecognizer(),
        SsaSsnRecognizer(),
        ExtendedCreditCardRecognizer(),
        ContextCardRecognizer(),
        IpRecognizer(),
        # Case-insensitive ("gb42nawi0445..."): the mod-97 checksum keeps precision.
        IbanRecognizer(regex_flags=re.DOTALL | re.MULTILINE | re.IGNORECASE),
        street_address_recognizer(),
    ]


# Context words count among the 5 keywords (non-stop-word tokens) before a match: Presidio's
# default. Its "after" window counts from the match's FIRST token, so a multi-token number uses
# it up on itself ("416 60 039 office" gets nothing from 2) -- left at Presidio's 0.
CONTEXT_PREFIX_WORDS = 5
CONTEXT_SUFFIX_WORDS = 0


def build_analyzer(
    phone_regions: Sequence[str] = PHONE_REGIONS, extra_recognizers: Sequence = ()
) -> AnalyzerEngine:
    """An ``AnalyzerEngine`` with the blank-spaCy NLP engine and only our recognizers.

    ``extra_recognizers`` (Presidio ``EntityRecognizer`` instances, e.g. a learned NER model)
    are added to the registry; their entity types must be in ``ENTITY_TYPES`` to be reported.
    """
    recognizers = [*build_recognizers(phone_regions), *extra_recognizers]
    nlp_engine = BlankSpacyNlpEngine(LANGUAGE)
    nlp_engine.load()
    nlp_engine.context_words = frozenset(
        w.lower() for r in recognizers for w in (getattr(r, "context", None) or ())
    )
    registry = RecognizerRegistry(recognizers=recognizers, supported_languages=[LANGUAGE])
    return AnalyzerEngine(
        registry=registry,
        nlp_engine=nlp_engine,
        supported_languages=[LANGUAGE],
        default_score_threshold=DEFAULT_SCORE_THRESHOLD,
        context_aware_enhancer=LemmaContextAwareEnhancer(
            context_prefix_count=CONTEXT_PREFIX_WORDS, context_suffix_count=CONTEXT_SUFFIX_WORDS
        ),
    )


_LONG_NUMBER_TYPES = ("PHONE_NUMBER", "US_SSN", "CREDIT_CARD")
_HAS_DIGIT = re.compile(r"\d").search
_HAS_UPPER = re.compile(r"[A-Z]").search
_HAS_IBAN_START = re.compile(r"[A-Za-z]{2}\d{2}").search
# 7+ digits, each at most 4 characters (no newline) from the next: every phone number, SSN or
# card number has that; times, amounts, dates and short order numbers mostly do not.
_HAS_LONG_NUMBER = re.compile(r"\d(?:[^\d\n]{0,4}\d){6}").search
# Recognizers that use no context words: their texts need no NLP pass (spaCy tokenization).
_NO_CONTEXT_TYPES = frozenset({"PERSON"})


class PresidioScrubber:
    """``Scrubber`` backed by one reused Presidio ``AnalyzerEngine``."""

    def __init__(
        self,
        entities: Sequence[str] | None = None,
        score_threshold: float = DEFAULT_SCORE_THRESHOLD,
        phone_regions: Sequence[str] = PHONE_REGIONS,
        extra_recognizers: Sequence = (),
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
        self.analyzer = build_analyzer(phone_regions, extra_recognizers)
        # Types no recognizer serves (LOCATION, ORGANIZATION without the NER model) are simply
        # not detected; Presidio would otherwise refuse the whole request.
        supported = set(self.analyzer.get_supported_entities(LANGUAGE))
        self._requested = tuple(e for e in wanted if e in supported)
        # An extra recognizer may find anything anywhere: no character-check shortcuts.
        self._prefilter = not extra_recognizers
        nlp_engine = self.analyzer.nlp_engine
        self._no_nlp = NlpArtifacts(
            entities=[],
            tokens=Doc(nlp_engine.get_nlp(LANGUAGE).vocab, words=[]),
            tokens_indices=[],
            lemmas=[],
            nlp_engine=nlp_engine,
            language=LANGUAGE,
        )

    def _candidate_entities(self, text: str) -> list[str]:
        """Entity types that could possibly occur in ``text`` (cheap character checks)."""
        has_digit = _HAS_DIGIT(text) is not None
        has_upper = _HAS_UPPER(text) is not None
        has_long_number = has_digit and _HAS_LONG_NUMBER(text) is not None
        out = []
        for entity in self._requested:
            if entity in _LONG_NUMBER_TYPES:
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

    def analyze(self, text: str) -> list[Span]:
        """Non-overlapping spans (higher score, then longer span wins), sorted by start.

        Texts longer than ``window_chars`` are analyzed in overlapping windows (spaCy's limit).
        """
        return analyze_in_windows(self._analyze, text, self.window_chars, self.overlap_chars)

    def _analyze(self, text: str) -> list[Span]:
        if not text:
            return []
        entities = self._candidate_entities(text) if self._prefilter else list(self._requested)
        if not entities:
            return []
        results = self.analyzer.analyze(
            text=text,
            language=LANGUAGE,
            entities=entities,
            score_threshold=self.score_threshold,
            # Skip the spaCy pass when only context-free recognizers can fire.
            nlp_artifacts=self._no_nlp
            if self._prefilter and _NO_CONTEXT_TYPES.issuperset(entities)
            else None,
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
