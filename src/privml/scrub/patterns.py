"""Validated pattern recognizers for phone numbers, SSNs, credit cards and street addresses.

Every recognizer validates what its regex finds (``phonenumbers`` parsing, SSA rules, Luhn) or
scores it below the 0.5 threshold so that only a context word lifts it over: Presidio's
``LemmaContextAwareEnhancer`` adds 0.35 when a recognizer's context word is among the 5
keywords before (or 2 after, see ``presidio_engine``) a match. Blank spaCy has no lemmatizer;
the NLP engine uses the lower-cased token, and matching is by substring ("phone" matches
"Phone:" and "telephone").
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from presidio_analyzer import Pattern, PatternRecognizer
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    PhoneRecognizer,
    UsSsnRecognizer,
)

from privml.scrub.base import Span
from privml.scrub.prefilter import Prefiltered


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


# Presidio's card context has "cc " (trailing space), which never equals/contains a token.
CARD_CONTEXT = [*(w.strip() for w in CreditCardRecognizer.CONTEXT), "debit"]


class ExtendedCreditCardRecognizer(CreditCardRecognizer):
    """Presidio's Luhn-checked card recognizer plus Mastercard 2-series (2221-2720) numbers."""

    PATTERNS = [
        *CreditCardRecognizer.PATTERNS,
        Pattern("Mastercard 2-series (weak)", r"\b2[2-7]\d{2}([- ]?)\d{4}\1\d{4}\1\d{4}\b", 0.3),
    ]

    def __init__(self) -> None:
        super().__init__(context=CARD_CONTEXT)


def luhn_ok(number: str) -> bool:
    """The Luhn checksum of the digits of ``number``."""
    digits = [int(c) for c in number if c.isdigit()]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


class ContextCardRecognizer(PatternRecognizer):
    """Card numbers Presidio's regex misses: 12-19 digit Maestro, 15-digit JCB (2131/1800),
    13/19-digit Visa ... written without separators.

    Luhn-checked, but a bare Luhn-valid number is common (1 in 10), so these score 0.3 and
    pass only with a card context word ("card", "cc", "visa", ...).
    """

    PATTERNS = [Pattern("Card 12-19 digits (weak)", r"(?<![\w.,-])[1-6]\d{11,18}(?![\w-])", 0.3)]

    def __init__(self) -> None:
        super().__init__(
            supported_entity="CREDIT_CARD",
            name="ContextCardRecognizer",
            patterns=self.PATTERNS,
            context=CARD_CONTEXT,
        )

    def validate_result(self, pattern_text: str) -> bool | None:  # noqa: D102 - keep score
        return None if luhn_ok(pattern_text) else False


# Not "office" (the demo corpus's "the office number is 423 786 326" is a secret, not a phone).
# Any grouped number with 7-15 digits: "+41 (0)96 471 07 95", "(37) 788-063", "9472 7916",
# "0961-7596216", "3660170548", "+1-903-140-4508x769". Possessive groups: no partial matches.
GENERIC_PHONE_REGEX = (
    r"(?<![\w+.,/-])(?:\+\d{1,3}[ .-]?)?+(?:\(0\)[ ]?)?+(?:\(\d{1,5}\)[ .-]?)?+"
    r"\d{1,12}+(?:[ .-]\d{1,12}+)*+(?:[ ]?(?:x|ext\.?|extension)[ ]?\d{1,5})?+"
    r"(?![\w]|[.,/-]\d)"
)
# Numbers that have a phone-like shape but another meaning: dates, dotted quads, SSNs, times.
_NOT_PHONE = re.compile(
    r"\d{4}[./-]\d{1,2}[./-]\d{1,2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}"
    r"|\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|\d{3}([- .])\d{2}\1\d{4}"
)
_EXTENSION = re.compile(r"[ ]?(?:x|ext\.?|extension)[ ]?\d{1,5}(?![\w])", re.IGNORECASE)
PHONE_CONTEXT = [
    "phone", "tel", "mobile", "cell", "fax", "desk", "call", "dial", "reach",
    "contact", "text me", "sms", "whatsapp", "landline", "answering", "message",
]  # fmt: skip


class GenericPhoneRecognizer(PatternRecognizer):
    """Phone numbers of any country plan, by shape: 7-15 digits in groups, optional ``+cc``,
    ``(0)``, ``(area)`` and extension. Scores 0.3: passes only next to a phone context word
    (not "number", which would also lift order and reference numbers).
    """

    def __init__(self) -> None:
        super().__init__(
            supported_entity="PHONE_NUMBER",
            name="GenericPhoneRecognizer",
            patterns=[Pattern("Phone by shape (weak)", GENERIC_PHONE_REGEX, 0.3)],
            context=PHONE_CONTEXT,
        )

    def invalidate_result(self, pattern_text: str) -> bool:  # noqa: D102
        core = _EXTENSION.sub("", pattern_text)
        n_digits = sum(c.isdigit() for c in core)
        return not 7 <= n_digits <= 15 or _NOT_PHONE.fullmatch(core) is not None


def merge_same_type(spans: Iterable[Span]) -> list[Span]:
    """Union of overlapping spans of one type, with the best score.

    Recognizers see different extents of one value ("(0)96 471 07 95" by ``phonenumbers`` at
    0.95, "+41 (0)96 471 07 95" by shape at 0.65): redaction must cover the union.
    """
    out: list[Span] = []
    for s in sorted(spans, key=lambda s: (s.entity_type, s.start, s.end)):
        last = out[-1] if out else None
        if last is not None and last.entity_type == s.entity_type and s.start < last.end:
            end, score = max(last.end, s.end), max(last.score, s.score)
            out[-1] = Span(last.start, end, s.entity_type, score)
        else:
            out.append(s)
    return out


def extend_phone_extensions(text: str, spans: Iterable[Span]) -> list[Span]:
    """Grow each phone span over an extension right after it (``x123``, ``ext. 12``)."""
    out = []
    for s in spans:
        if s.entity_type == "PHONE_NUMBER":
            m = _EXTENSION.match(text, s.end)
            if m:
                s = Span(s.start, m.end(), s.entity_type, s.score)
        out.append(s)
    return out


NANP_PHONE_REGEX = (
    r"(?<![\w+])(?:\+?1[ .-]?)?(?:\(\d{3}\)[ ]?|\d{3}([ .-]))\d{3}[ .-]\d{4}(?![\w-]|\.\d)"
)


def nanp_phone_recognizer() -> PatternRecognizer:
    """Formatted North-American numbers, whether or not the area code is assigned."""
    return PatternRecognizer(
        supported_entity="PHONE_NUMBER",
        name="NanpPhoneRecognizer",
        patterns=[Pattern("NANP formatted", NANP_PHONE_REGEX, 0.5)],
        context=PhoneRecognizer.CONTEXT,
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


class StreetAddressRecognizer(Prefiltered, PatternRecognizer):
    """US street addresses: ``123 Main Street``, ``45 W. 5th Ave, Apt 2, Town, ST 12345``.

    Run only where one can start: a house number, blanks, then a capital or a digit (a
    direction, a capitalised word or an ordinal, as ``STREET_ADDRESS_REGEX`` requires).
    """

    requires = re.compile(r"\d[A-Z]?[ \t]+[A-Z\d]")

    def __init__(self) -> None:
        super().__init__(
            supported_entity="STREET_ADDRESS",
            name="StreetAddressRecognizer",
            patterns=[Pattern("US street address", STREET_ADDRESS_REGEX, 0.85)],
            context=["address", "street", "live", "home", "deliver", "ship", "mail", "moved"],
            # Case-sensitive: "[A-Z]" must mean capitalised (Presidio's default adds IGNORECASE).
            global_regex_flags=re.MULTILINE,
        )


__all__ = [
    "ContextCardRecognizer",
    "ExtendedCreditCardRecognizer",
    "GenericPhoneRecognizer",
    "StreetAddressRecognizer",
    "SsaSsnRecognizer",
    "extend_phone_extensions",
    "merge_same_type",
    "luhn_ok",
    "nanp_phone_recognizer",
]
