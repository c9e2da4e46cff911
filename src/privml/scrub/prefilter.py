"""Cheap pre-checks that let a recognizer skip a text it cannot match.

Presidio runs every recognizer on every text; a pattern recognizer costs tens of microseconds
even when nothing matches, which adds up over millions of short texts. Each pre-check here is a
NECESSARY condition, read off the recognizer's own patterns: every match contains it. So a
text without it has no match, and skipping it changes no result (tests compare with the
recognizers run unconditionally).
"""

from __future__ import annotations

import re

from presidio_analyzer import RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import IpRecognizer


class Prefiltered:
    """Mixin for a Presidio recognizer: ``analyze`` returns nothing, without running the
    recognizer, for a text in which ``requires`` (a regex every match contains) is absent."""

    requires: re.Pattern[str]

    def analyze(  # noqa: D102
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if self.requires.search(text) is None:
            return []
        return super().analyze(text, entities, nlp_artifacts)  # type: ignore[misc]


class IpAddressRecognizer(Prefiltered, IpRecognizer):
    """Presidio's IP recognizer, run only where an address can be: IPv4 needs
    ``digit.digits.digit``; every IPv6 form (full, ``::``-compressed, IPv4-mapped or embedded)
    has ``::`` or a hex digit on both sides of a colon."""

    requires = re.compile(r"\d\.\d{1,3}\.\d|::|[0-9A-Fa-f]:[0-9A-Fa-f]")

    def __init__(self) -> None:
        super().__init__(name="IpRecognizer")
