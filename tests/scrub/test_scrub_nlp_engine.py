"""The context enhancer reads only the tokens near a match and finds the words Presidio finds."""

from __future__ import annotations

import pytest

from privml.scrub import analyze_many
from privml.scrub.scrubber import PresidioScrubber


@pytest.fixture(scope="module")
def scrubber() -> PresidioScrubber:
    return PresidioScrubber()


def _spans(scrubber: PresidioScrubber, texts: list[str], scores: bool) -> list:
    return [
        [(s.start, s.end, s.entity_type) + ((s.score,) if scores else ()) for s in spans]
        for spans in analyze_many(scrubber, texts)
    ]


def test_local_keywords_equal_presidios_surrounding_words(scrubber, demo_texts, monkeypatch):
    texts = [*demo_texts, "Phone 212 555 0142", "my ssn is 078051120", "ssn: 078051120"]
    fast = _spans(scrubber, texts, scores=True)
    enhancer = scrubber.analyzer.context_aware_enhancer
    calls = []

    def presidio(artifacts, start):
        calls.append(start)
        return enhancer._extract_surrounding_words(artifacts, "", start)

    monkeypatch.setattr(enhancer, "_keywords_near", presidio)
    assert _spans(scrubber, texts, scores=True) == fast
    assert len(calls) > 50  # the local path was in use
    # a bare 9-digit number passes only with its context word ("ssn"), either way
    assert [s[2] for s in fast[-2]] == ["US_SSN"] and [s[2] for s in fast[-1]] == ["US_SSN"]
