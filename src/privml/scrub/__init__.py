"""privml.scrub: replace PII in texts by type tags (``<PERSON>``, ``<EMAIL_ADDRESS>``, ...).

The interface (``Span``, ``ScrubResult``, ``Scrubber``, ``scrub_texts``, ``make_scrubber``) lives
in ``privml.scrub.base`` and is cheap to import; the Presidio engine is imported on first use.
"""

from privml.scrub.base import (
    DEFAULT_SCORE_THRESHOLD,
    ENTITY_TYPES,
    Scrubber,
    ScrubResult,
    Span,
    analyze_many,
    apply_spans,
    make_scrubber,
    resolve_overlaps,
    scrub_many,
    scrub_texts,
    tag,
)

__all__ = [
    "DEFAULT_SCORE_THRESHOLD",
    "ENTITY_TYPES",
    "ScrubResult",
    "Scrubber",
    "Span",
    "analyze_many",
    "apply_spans",
    "make_scrubber",
    "resolve_overlaps",
    "scrub_many",
    "scrub_texts",
    "tag",
]
