"""The engine's shortcuts: a remembered recognizer list, and no per-recognizer no-op pass."""

from __future__ import annotations

from presidio_analyzer import Pattern, PatternRecognizer, RecognizerRegistry

from privml.scrub.nlp_engine import LANGUAGE
from privml.scrub.presidio_engine import (
    CachedRecognizerRegistry,
    build_analyzer,
    build_recognizers,
)


def _names(recognizers) -> list[str]:
    return sorted(r.name for r in recognizers)


def test_cached_registry_returns_what_presidio_returns_and_sees_changes() -> None:
    cached = CachedRecognizerRegistry(recognizers=build_recognizers(), supported_languages=["en"])
    plain = RecognizerRegistry(recognizers=build_recognizers(), supported_languages=["en"])
    for entities in (["PHONE_NUMBER"], ["PERSON", "US_SSN"], ["IP_ADDRESS", "IBAN_CODE"]):
        for _ in range(2):  # the second call comes from the memo
            assert _names(cached.get_recognizers("en", entities)) == _names(
                plain.get_recognizers("en", entities)
            )
    cached.remove_recognizer("GenericPhoneRecognizer")
    assert "GenericPhoneRecognizer" not in _names(cached.get_recognizers("en", ["PHONE_NUMBER"]))


class _Shouting(PatternRecognizer):
    """A recognizer with its own ``enhance_using_context``: always raises its score to 1."""

    def enhance_using_context(self, text, raw_recognizer_results, *args, **kwargs):  # noqa: D102
        for r in raw_recognizer_results:
            r.score = 1.0
        return raw_recognizer_results


def test_a_recognizers_own_context_step_still_runs() -> None:
    shouting = _Shouting(
        supported_entity="PERSON", name="Shouting", patterns=[Pattern("x", r"\bZorblax\b", 0.1)]
    )
    engine = build_analyzer(extra_recognizers=[shouting])
    results = engine.analyze("hello Zorblax", language=LANGUAGE, entities=["PERSON"])
    assert [(r.start, r.end, r.score) for r in results] == [(6, 13, 1.0)]
