"""The recognizers of privml's scrubber and the Presidio ``AnalyzerEngine`` that runs them offline.

* Recognizers (and nothing else -- no UK NHS, bank, driver licence, passport, ITIN, date, URL,
  crypto, medical licence ...): e-mail (``tldextract`` restricted to its bundled suffix snapshot:
  no network, no cache writes), phone numbers (``phonenumbers``, a few regions, a NANP format
  pattern, and any 7-15 digit grouped number next to a phone context word), US SSN (SSA
  area/group/serial rules), credit cards (Luhn; bare 12-19 digit numbers need a card context
  word), IPv4/IPv6, IBAN (mod-97 checksum), US street addresses (pattern) and person names
  (``privml.scrub.names``). See ``privml.scrub.patterns``. ``extra_recognizers`` adds more
  (the NER model's ``NerRecognizer``). No ``SpacyRecognizer`` (it needs a downloaded model).
* The NLP engine and the context enhancer are privml's (``privml.scrub.nlp_engine``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

import tldextract
from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerRegistry
from presidio_analyzer.predefined_recognizers import EmailRecognizer, IbanRecognizer
from spacy.language import Language

from privml.scrub.base import DEFAULT_SCORE_THRESHOLD
from privml.scrub.names import NameListRecognizer
from privml.scrub.nlp_engine import LANGUAGE, BlankSpacyNlpEngine, ContextEnhancer
from privml.scrub.patterns import (
    ContextCardRecognizer,
    ExtendedCreditCardRecognizer,
    GenericPhoneRecognizer,
    SsaSsnRecognizer,
    StreetAddressRecognizer,
    nanp_phone_recognizer,
)
from privml.scrub.phone import ScoredPhoneRecognizer
from privml.scrub.prefilter import IpAddressRecognizer

__all__ = ["LANGUAGE", "BlankSpacyNlpEngine", "OfflineEmailRecognizer", "build_analyzer"]

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


class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's e-mail recognizer, validating the domain against the offline suffix list."""

    def validate_result(self, pattern_text: str) -> bool:  # noqa: D102
        return _valid_domain(pattern_text.rpartition("@")[2])


@lru_cache(maxsize=65536)
def _valid_domain(domain: str) -> bool:
    """Whether ``domain`` ends in a known public suffix (cached: a look-up costs ~1 ms and
    mail domains repeat)."""
    return _OFFLINE_TLD_EXTRACT(domain).fqdn != ""


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
        IpAddressRecognizer(),
        # Case-insensitive ("gb42nawi0445..."): the mod-97 checksum keeps precision.
        IbanRecognizer(regex_flags=re.DOTALL | re.MULTILINE | re.IGNORECASE),
        StreetAddressRecognizer(),
    ]


class CachedRecognizerRegistry(RecognizerRegistry):
    """Presidio's registry, remembering ``get_recognizers`` per request (language, entities):
    Presidio rebuilds that list on every call, a measurable cost over millions of short texts.
    The memo is keyed on the recognizer list too, so adding or removing one is seen."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._memo: dict[tuple, list] = {}

    def get_recognizers(  # noqa: D102
        self,
        language: str,
        entities: list[str] | None = None,
        all_fields: bool = False,
        ad_hoc_recognizers: list | None = None,
    ) -> list:
        if ad_hoc_recognizers:
            return super().get_recognizers(language, entities, all_fields, ad_hoc_recognizers)
        key = (language, tuple(entities or ()), all_fields, tuple(map(id, self.recognizers)))
        found = self._memo.get(key)
        if found is None:
            if len(self._memo) >= 1024:
                self._memo.clear()
            found = self._memo[key] = super().get_recognizers(language, entities, all_fields)
        return list(found)


@lru_cache(maxsize=64)
def _own_context_step(types: frozenset[type]) -> bool:
    """Whether any of these recognizer classes overrides ``enhance_using_context``."""
    return any(t.enhance_using_context is not EntityRecognizer.enhance_using_context for t in types)


class ScrubAnalyzerEngine(AnalyzerEngine):
    """Presidio's engine without a pass that does nothing for privml's recognizers: before the
    context enhancer, Presidio splits the results by recognizer and calls each recognizer's own
    ``enhance_using_context``, which none of ours overrides (the base returns its input)."""

    def _enhance_using_context(  # noqa: D102
        self, text, raw_results, nlp_artifacts, recognizers, context=None
    ) -> list:
        if _own_context_step(frozenset(map(type, recognizers))):
            return super()._enhance_using_context(
                text, raw_results, nlp_artifacts, recognizers, context
            )
        return self.context_aware_enhancer.enhance_using_context(
            text=text,
            raw_results=raw_results,
            nlp_artifacts=nlp_artifacts,
            recognizers=recognizers,
            context=context,
        )


# Context words count among the 5 keywords (non-stop-word tokens) before a match: Presidio's
# default. Its "after" window counts from the match's FIRST token, so a multi-token number uses
# it up on itself ("416 60 039 office" gets nothing from 2) -- left at Presidio's 0.
CONTEXT_PREFIX_WORDS = 5
CONTEXT_SUFFIX_WORDS = 0


def build_analyzer(
    phone_regions: Sequence[str] = PHONE_REGIONS,
    extra_recognizers: Sequence = (),
    pipeline: Language | None = None,
) -> AnalyzerEngine:
    """An ``AnalyzerEngine`` with the blank-spaCy NLP engine and only our recognizers.

    ``extra_recognizers`` (Presidio ``EntityRecognizer`` instances, e.g. a learned NER model)
    are added to the registry; their entity types must be in ``ENTITY_TYPES`` to be reported.
    ``pipeline``: the spaCy pipeline the NLP engine runs instead of a blank one.
    """
    recognizers = [*build_recognizers(phone_regions), *extra_recognizers]
    nlp_engine = BlankSpacyNlpEngine(LANGUAGE, pipeline)
    nlp_engine.load()
    nlp_engine.context_words = frozenset(
        w.lower() for r in recognizers for w in (getattr(r, "context", None) or ())
    )
    registry = CachedRecognizerRegistry(recognizers=recognizers, supported_languages=[LANGUAGE])
    return ScrubAnalyzerEngine(
        registry=registry,
        nlp_engine=nlp_engine,
        supported_languages=[LANGUAGE],
        default_score_threshold=DEFAULT_SCORE_THRESHOLD,
        context_aware_enhancer=ContextEnhancer(
            context_prefix_count=CONTEXT_PREFIX_WORDS, context_suffix_count=CONTEXT_SUFFIX_WORDS
        ),
    )
