"""The default scrubber: Presidio's ``AnalyzerEngine`` running fully offline.

* NLP engine: ``spacy.blank("en")`` (tokenizer only, no model download). Blank spaCy gives no
  lemmas, so the engine uses the lower-cased token text as the lemma; that is what lets Presidio's
  ``LemmaContextAwareEnhancer`` raise scores when a context word ("ssn", "phone", "card", ...)
  appears in the 5 tokens before a match. There is no ``SpacyRecognizer`` (it needs a NER model).
* Recognizers (and nothing else -- no UK NHS, bank, driver licence, passport, ITIN, date, URL,
  crypto, medical licence ...): e-mail (``tldextract`` restricted to its bundled suffix snapshot:
  no network, no cache writes), phone numbers (``phonenumbers``, a few regions, plus a NANP
  format pattern), US SSN (SSA area/group/serial rules), credit cards (Luhn), IP addresses, IBAN
  (checksum), US street addresses (pattern) and person names (``privml.scrub.names``).
* One ``AnalyzerEngine`` is built per scrubber and reused. Per text, recognizers that cannot fire
  are skipped by cheap character checks: phone/SSN/card need 7+ digits close together, address/
  IBAN a digit and a capital, IP a digit or ``:``, e-mail an ``@``, names a capital letter. A text
  with none of them never reaches Presidio, and when only the name recognizer (which uses no
  context words) can fire, the spaCy pass is skipped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import spacy
import tldextract
from presidio_analyzer import (
    AnalyzerEngine,
    Pattern,
    PatternRecognizer,
    RecognizerRegistry,
    RecognizerResult,
)
from presidio_analyzer.nlp_engine import NlpArtifacts, SpacyNlpEngine
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    EmailRecognizer,
    IbanRecognizer,
    IpRecognizer,
    PhoneRecognizer,
    UsSsnRecognizer,
)
from spacy.tokens import Doc

from privml.scrub.base import (
    DEFAULT_SCORE_THRESHOLD,
    ENTITY_TYPES,
    ScrubResult,
    Span,
    apply_spans,
    resolve_overlaps,
)
from privml.scrub.names import NameListRecognizer

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


_SSN_SHAPE = re.compile(r"\d{3}([- .])\d{2}\1\d{4}")


class ScoredPhoneRecognizer(PhoneRecognizer):
    """``phonenumbers``-validated numbers, scored above the default threshold (Presidio: 0.4).

    Matches shaped like an SSN (``ddd-dd-dddd``, valid national numbers in some regions) are
    left to the SSN recognizer.
    """

    SCORE = 0.6

    def analyze(  # noqa: D102
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        results = super().analyze(text, entities, nlp_artifacts)
        return [r for r in results if not _SSN_SHAPE.fullmatch(text, r.start, r.end)]


class SsaSsnRecognizer(UsSsnRecognizer):
    """US SSNs that obey the SSA rules: area not 000/666/9xx, group not 00, serial not 0000.

    Unlike Presidio's recognizer, the published sample numbers (``123-45-6789``) are NOT exempt:
    a scrubber should rather over-redact. Delimited numbers (same delimiter twice) score 0.6;
    bare 9-digit numbers score 0.3 and need a context word ("ssn", "social security") to pass.
    """

    PATTERNS = [
        Pattern("SSN delimited", r"(?<![\w.-])\d{3}([- .])\d{2}\1\d{4}(?![\w-]|\.\d)", 0.6),
        Pattern("SSN bare (weak)", r"\b\d{9}\b", 0.3),
    ]

    def invalidate_result(self, pattern_text: str) -> bool:  # noqa: D102
        digits = "".join(c for c in pattern_text if c.isdigit())
        if len(digits) != 9 or len(set(digits)) == 1:
            return True
        area, group, serial = digits[:3], digits[3:5], digits[5:]
        return area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000"


class ExtendedCreditCardRecognizer(CreditCardRecognizer):
    """Presidio's Luhn-checked card recognizer plus Mastercard 2-series (2221-2720) numbers."""

    PATTERNS = [
        *CreditCardRecognizer.PATTERNS,
        Pattern("Mastercard 2-series (weak)", r"\b2[2-7]\d{2}([- ]?)\d{4}\1\d{4}\1\d{4}\b", 0.3),
    ]


NANP_PHONE_REGEX = (
    r"(?<![\w+])(?:\+?1[ .-]?)?(?:\(\d{3}\)[ ]?|\d{3}([ .-]))\d{3}[ .-]\d{4}(?![\w-]|\.\d)"
)

_STREET_SUFFIX = (
    r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl"
    r"|Terrace|Ter|Circle|Cir|Parkway|Pkwy|Highway|Hwy|Square|Sq|Trail|Trl|Plaza|Alley|Loop"
    r"|Crescent|Row|Pike|Close|Crossing|Path|Walk|Expressway|Freeway)"
)
_DIRECTION = r"(?:N|S|E|W|NE|NW|SE|SW|North|South|East|West)\.?"
# house number, optional direction, 1-3 capitalised words or ordinals ("5th"), a street suffix,
# optionally a unit ("Apt 4B", "Suite 200", "#12") and ", Town[, ST 12345]".
STREET_ADDRESS_REGEX = (
    r"\b\d{1,5}[A-Z]?[ \t]+"
    rf"(?:{_DIRECTION}[ \t]+)?"
    r"(?:(?:[A-Z][a-z'\u2019]+|\d{1,3}(?:st|nd|rd|th))[ \t]+){1,3}"
    rf"{_STREET_SUFFIX}\b"
    rf"(?:\.?[ \t]+{_DIRECTION}(?![\w]))?"
    r"(?:,?[ \t]*(?:Apt|Apartment|Suite|Ste|Unit|Fl|Floor|Rm|Room)\.?[ \t]*#?[ \t]*\w{1,5}"
    r"|,?[ \t]*#[ \t]*\w{1,5})?"
    r"(?:,[ \t]*[A-Z][a-z]+(?:[ \t][A-Z][a-z]+)?(?:,?[ \t]*[A-Z]{2}(?:[ \t]+\d{5}(?:-\d{4})?)?)?"
    r"(?![\w]))?"
)


def street_address_recognizer() -> PatternRecognizer:
    """US street addresses: ``123 Main Street``, ``45 W. 5th Ave, Apt 2, Town, ST 12345``."""
    return PatternRecognizer(
        supported_entity="STREET_ADDRESS",
        name="StreetAddressRecognizer",
        patterns=[Pattern("US street address", STREET_ADDRESS_REGEX, 0.85)],
        context=["address", "street", "live", "home", "deliver", "ship", "mail", "moved"],
        # Case-sensitive: "[A-Z]" must mean capitalised (Presidio's default adds IGNORECASE).
        global_regex_flags=re.MULTILINE,
    )


def nanp_phone_recognizer() -> PatternRecognizer:
    """Formatted North-American numbers, whether or not the area code is assigned."""
    return PatternRecognizer(
        supported_entity="PHONE_NUMBER",
        name="NanpPhoneRecognizer",
        patterns=[Pattern("NANP formatted", NANP_PHONE_REGEX, 0.5)],
        context=PhoneRecognizer.CONTEXT,
    )


def build_recognizers(phone_regions: Sequence[str] = PHONE_REGIONS) -> list:
    """The recognizers of the default scrubber (one or more per entity type in ENTITY_TYPES)."""
    return [
        NameListRecognizer(),
        OfflineEmailRecognizer(),
        ScoredPhoneRecognizer(supported_regions=tuple(phone_regions)),
        nanp_phone_recognizer(),
        SsaSsnRecognizer(),
        ExtendedCreditCardRecognizer(),
        IpRecognizer(),
        IbanRecognizer(),
        street_address_recognizer(),
    ]


def build_analyzer(phone_regions: Sequence[str] = PHONE_REGIONS) -> AnalyzerEngine:
    """An ``AnalyzerEngine`` with the blank-spaCy NLP engine and only our recognizers."""
    nlp_engine = BlankSpacyNlpEngine(LANGUAGE)
    nlp_engine.load()
    registry = RecognizerRegistry(
        recognizers=build_recognizers(phone_regions), supported_languages=[LANGUAGE]
    )
    return AnalyzerEngine(
        registry=registry,
        nlp_engine=nlp_engine,
        supported_languages=[LANGUAGE],
        default_score_threshold=DEFAULT_SCORE_THRESHOLD,
    )


_LONG_NUMBER_TYPES = ("PHONE_NUMBER", "US_SSN", "CREDIT_CARD")
_HAS_DIGIT = re.compile(r"\d").search
_HAS_UPPER = re.compile(r"[A-Z]").search
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
    ) -> None:
        wanted = tuple(ENTITY_TYPES if entities is None else dict.fromkeys(entities))
        unknown = [e for e in wanted if e not in ENTITY_TYPES]
        if unknown:
            raise ValueError(f"unknown entity types {unknown}; known: {list(ENTITY_TYPES)}")
        if not 0.0 <= score_threshold <= 1.0:
            raise ValueError(f"score_threshold must be in [0, 1], got {score_threshold}")
        self.entities: tuple[str, ...] = wanted
        self.score_threshold = float(score_threshold)
        self._wanted = frozenset(wanted)
        self.analyzer = build_analyzer(phone_regions)
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
        for entity in self.entities:
            if entity in _LONG_NUMBER_TYPES:
                ok = has_long_number
            elif entity == "STREET_ADDRESS":
                ok = has_digit and has_upper
            elif entity == "EMAIL_ADDRESS":
                ok = "@" in text
            elif entity == "PERSON":
                ok = has_upper
            elif entity == "IBAN_CODE":
                ok = has_digit and has_upper
            elif entity == "IP_ADDRESS":
                ok = has_digit or ":" in text
            else:  # pragma: no cover - every ENTITY_TYPES member is handled above
                ok = True
            if ok:
                out.append(entity)
        return out

    def analyze(self, text: str) -> list[Span]:
        """Non-overlapping spans (higher score, then longer span wins), sorted by start."""
        if not text:
            return []
        entities = self._candidate_entities(text)
        if not entities:
            return []
        results = self.analyzer.analyze(
            text=text,
            language=LANGUAGE,
            entities=entities,
            score_threshold=self.score_threshold,
            # Skip the spaCy pass when only context-free recognizers can fire.
            nlp_artifacts=self._no_nlp if _NO_CONTEXT_TYPES.issuperset(entities) else None,
        )
        spans = [
            Span(start=r.start, end=r.end, entity_type=r.entity_type, score=float(r.score))
            for r in results
            if r.entity_type in self._wanted and r.score >= self.score_threshold
        ]
        return resolve_overlaps(spans)

    def scrub(self, text: str) -> ScrubResult:
        """``text`` with each detected value replaced by its tag, e.g. ``<PERSON>``."""
        return apply_spans(text, self.analyze(text))
