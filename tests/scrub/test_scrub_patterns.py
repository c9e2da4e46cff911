"""privml.scrub: pattern-based types, validation, interface, overlap resolution, no network."""

from __future__ import annotations

import socket
from collections import Counter

import pytest
import tldextract
from presidio_analyzer import Pattern, PatternRecognizer
from presidio_analyzer.predefined_recognizers import NhsRecognizer

from privml.scrub import (
    ENTITY_TYPES,
    Scrubber,
    ScrubResult,
    Span,
    make_scrubber,
    patterns,
    presidio_engine,
    resolve_overlaps,
    scrub_texts,
    tag,
)
from privml.scrub import base as scrub_base
from privml.scrub.scrubber import PresidioScrubber


@pytest.fixture(scope="module")
def scrubber():
    return make_scrubber()


def types_of(result: ScrubResult) -> list[str]:
    return [s.entity_type for s in result.spans]


# --------------------------------------------------------------------------------------------
# Each type is detected and replaced by its tag.
# --------------------------------------------------------------------------------------------
PLANTED = [
    ("Please send the bill to maria.lopez@example.com today.", "EMAIL_ADDRESS"),
    ("You can reach me at j_smith+news@mail.example.org while I am away.", "EMAIL_ADDRESS"),
    ("Call me at (415) 555-0132 tomorrow", "PHONE_NUMBER"),
    ("The office number is 415-555-0132 if you need them.", "PHONE_NUMBER"),
    ("The office number is 415.555.0132 if you need them.", "PHONE_NUMBER"),
    ("Reach the hotel on +1 415 555 0132 after nine.", "PHONE_NUMBER"),
    ("The London desk is on +44 20 7946 0958 all week.", "PHONE_NUMBER"),
    ("My social security number is 123-45-6789 for the form.", "US_SSN"),
    ("They need the number 219-09-9999 on the form.", "US_SSN"),
    ("My SSN is 219099999 if the form asks.", "US_SSN"),
    ("My card number is 4111 1111 1111 1111 if you need it.", "CREDIT_CARD"),
    ("Please charge the order to 5500-0000-0000-0004 today.", "CREDIT_CARD"),
    ("You can use 4012888888881881 for the tickets.", "CREDIT_CARD"),
    ("The server at 192.168.1.20 is not responding.", "IP_ADDRESS"),
    ("Please allow access from 2001:db8:85a3::8a2e:370:7334 for the project.", "IP_ADDRESS"),
    ("Please pay into my bank account GB82 WEST 1234 5698 7654 32 by Friday.", "IBAN_CODE"),
    ("The bank details for the rent are DE89370400440532013000.", "IBAN_CODE"),
    ("We moved, our new home is at 123 Maple Street, near the park.", "STREET_ADDRESS"),
    ("The party is at 42 Washington Avenue on Saturday.", "STREET_ADDRESS"),
    ("Send it to 7 W. 5th Ave, Apt 2B, Springfield, IL 62704 please.", "STREET_ADDRESS"),
]


def planted_value(text: str, result: ScrubResult) -> str:
    (span,) = result.spans
    return text[span.start : span.end]


@pytest.mark.parametrize("text,entity", PLANTED)
def test_planted_value_is_tagged(scrubber, text, entity):
    result = scrubber.scrub(text)
    assert types_of(result) == [entity], result
    value = planted_value(text, result)
    assert result.text == text.replace(value, tag(entity))
    assert value not in result.text
    assert result.counts == {entity: 1}
    assert result.spans[0].score >= 0.5


def test_phone_replacement_is_exact(scrubber):
    assert scrubber.scrub("Call me at (415) 555-0132 tomorrow").text == (
        "Call me at <PHONE_NUMBER> tomorrow"
    )


def test_street_address_span_covers_number_and_suffix(scrubber):
    result = scrubber.scrub("The party is at 42 Washington Avenue on Saturday.")
    assert result.text == "The party is at <STREET_ADDRESS> on Saturday."


@pytest.mark.parametrize(
    "card", ["4111 1111 1111 1111", "4111-1111-1111-1111", "4111111111111111", "2223003122003222"]
)
def test_credit_card_formats(scrubber, card):
    assert scrubber.scrub(f"Card: {card}.").text == "Card: <CREDIT_CARD>."


# --------------------------------------------------------------------------------------------
# Validation: checksums and number rules.
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("number", ["4111111111111112", "4111 1111 1111 1112", "1234567812345678"])
def test_luhn_failure_is_not_a_card(scrubber, number):
    assert "CREDIT_CARD" not in types_of(scrubber.scrub(f"My card number is {number} ok."))


@pytest.mark.parametrize(
    "ssn",
    ["000-12-3456", "666-12-3456", "912-34-5678", "219-00-1234", "219-09-0000", "111-11-1111"],
)
def test_invalid_ssn_is_not_tagged(scrubber, ssn):
    result = scrubber.scrub(f"My social security number is {ssn} for the form.")
    assert "US_SSN" not in types_of(result)


def test_bare_nine_digits_need_ssn_context(scrubber):
    assert types_of(scrubber.scrub("My SSN is 219099999.")) == ["US_SSN"]
    assert "US_SSN" not in types_of(scrubber.scrub("Tracking code 219099999 arrived."))


@pytest.mark.parametrize(
    "iban", ["GB82 WEST 1234 5698 7654 33", "GB83WEST12345698765432", "DE89370400440532013001"]
)
def test_invalid_iban_checksum_is_not_tagged(scrubber, iban):
    assert "IBAN_CODE" not in types_of(scrubber.scrub(f"Please pay into {iban} by Friday."))


@pytest.mark.parametrize(
    "text",
    [
        "my door code is 030 437 866",  # a valid German number format: DE is not a region
        "the alarm code is 075 648 841",
        "my badge number is 027 322 286",
        "my locker number is 123 456 789",
        "order 48392 and 77120, ref 2024 0001 2345, total 1,234,567",
    ],
)
def test_digit_codes_are_not_phone_numbers(scrubber, text):
    assert scrubber.scrub(text).text == text


def test_us_phone_is_never_uk_nhs(scrubber):
    text = "Call me at 415-555-0105 tomorrow"
    # Presidio's own NHS recognizer would tag this US number (its checksum passes) ...
    assert any(r.score >= 0.5 for r in NhsRecognizer().analyze(text, ["UK_NHS"]))
    # ... ours tags it as a phone number.
    result = scrubber.scrub(text)
    assert result.text == "Call me at <PHONE_NUMBER> tomorrow"
    names = {type(r).__name__ for r in scrubber.analyzer.registry.recognizers}
    assert "NhsRecognizer" not in names
    assert "SpacyRecognizer" not in names
    # without the learned NER, every type but the NER-only ones has a recognizer
    assert set(scrubber.analyzer.get_supported_entities()) == set(ENTITY_TYPES) - {
        "LOCATION",
        "ORGANIZATION",
    }


def test_no_entity_outside_entity_types(scrubber):
    texts = [t for t, _ in PLANTED] + ["Numbers 415 555 0105, 943 476 5919, 401 023 2137 here."]
    for text in texts:
        assert set(types_of(scrubber.scrub(text))) <= set(ENTITY_TYPES)


# --------------------------------------------------------------------------------------------
# Whole-text behaviour and the interface.
# --------------------------------------------------------------------------------------------
MULTI = (
    "Hi Anna,\nI met Maria Lopez and Mr. Johnson at 123 Maple Street. Call (415) 555-0132 or "
    "write to maria.lopez@example.com. My SSN is 123-45-6789, card 4111 1111 1111 1111, "
    "IBAN GB82 WEST 1234 5698 7654 32, server 10.0.0.7.\nThanks,\nDavid Kim"
)
MULTI_VALUES = {
    "PERSON": ["Anna", "Maria Lopez", "Johnson", "David Kim"],
    "STREET_ADDRESS": ["123 Maple Street"],
    "PHONE_NUMBER": ["(415) 555-0132"],
    "EMAIL_ADDRESS": ["maria.lopez@example.com"],
    "US_SSN": ["123-45-6789"],
    "CREDIT_CARD": ["4111 1111 1111 1111"],
    "IBAN_CODE": ["GB82 WEST 1234 5698 7654 32"],
    "IP_ADDRESS": ["10.0.0.7"],
}


def test_multi_pii_counts_spans_and_output(scrubber):
    result = scrubber.scrub(MULTI)
    assert result.counts == {k: len(v) for k, v in MULTI_VALUES.items()}
    found = Counter((s.entity_type, MULTI[s.start : s.end]) for s in result.spans)
    assert found == Counter((k, v) for k, vs in MULTI_VALUES.items() for v in vs)
    for values in MULTI_VALUES.values():
        for value in values:
            assert value not in result.text
    assert result.text.startswith("Hi <PERSON>,\nI met <PERSON> and Mr. <PERSON> at <STREET_")
    assert result.text.endswith("server <IP_ADDRESS>.\nThanks,\n<PERSON>")
    # Spans: sorted, non-overlapping, within the original text.
    spans = result.spans
    assert all(a.end <= b.start for a, b in zip(spans, spans[1:], strict=False))
    assert all(0 <= s.start < s.end <= len(MULTI) for s in spans)
    assert list(spans) == scrubber.analyze(MULTI)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello",
        "The meeting has been moved to Thursday afternoon.",
        "Will you join us in May for the trip to the coast?",
        "The total came to 45 dollars, order 48392, see you at 3pm on 2024-01-15.",
        "Mark the date: Grant access to the folder before Bill gets the invoice.",
        "The North Star project with the Blue River team in Boston.",
    ],
)
def test_text_without_pii_is_unchanged(scrubber, text):
    result = scrubber.scrub(text)
    assert result == ScrubResult(text=text, spans=(), counts={})


def test_scrubber_satisfies_protocol(scrubber):
    assert isinstance(scrubber, Scrubber)
    assert scrubber.entities == ENTITY_TYPES


def test_entity_subset_and_validation():
    only_email = make_scrubber(entities=["EMAIL_ADDRESS"])
    result = only_email.scrub("Maria Lopez, maria@example.com, (415) 555-0132")
    assert result.text == "Maria Lopez, <EMAIL_ADDRESS>, (415) 555-0132"
    with pytest.raises(ValueError, match="unknown entity"):
        make_scrubber(entities=["UK_NHS"])


def test_score_threshold_is_applied():
    strict = make_scrubber(entities=["PHONE_NUMBER", "US_SSN"], score_threshold=0.9)
    # validated phone without a context word scores 0.6 -> dropped at 0.9
    assert strict.scrub("It is (415) 555-0132.").spans == ()
    # a context word ("phone") raises it above 0.9 (lemma fallback on blank spaCy works)
    assert strict.scrub("My phone is (415) 555-0132.").text == "My phone is <PHONE_NUMBER>."


def test_resolve_overlaps_prefers_score_then_length():
    a = Span(0, 10, "PHONE_NUMBER", 0.6)
    b = Span(5, 15, "US_SSN", 0.9)  # overlaps a, higher score
    c = Span(20, 30, "PERSON", 0.7)
    d = Span(20, 25, "IP_ADDRESS", 0.7)  # same score as c, shorter
    e = Span(30, 31, "PERSON", 0.1)  # touches c but does not overlap
    assert resolve_overlaps([a, b, c, d, e]) == [b, c, e]
    assert resolve_overlaps([]) == []
    assert resolve_overlaps([Span(3, 3, "PERSON", 1.0)]) == []


class _FakeScrubber:
    entities = ("PERSON",)

    def analyze(self, text: str) -> list[Span]:
        return [Span(0, 1, "PERSON", 1.0)] if text.startswith("X") else []

    def scrub(self, text: str) -> ScrubResult:
        return scrub_base.apply_spans(text, self.analyze(text))


def test_scrub_texts_counts_order_and_progress():
    texts = (("X" if i % 3 == 0 else "y") + f" {i}" for i in range(2500))  # a generator
    calls: list[int] = []
    out, counts = scrub_texts(texts, _FakeScrubber(), progress=calls.append)
    assert len(out) == 2500
    assert out[0] == "<PERSON> 0" and out[1] == "y 1" and out[2498] == "y 2498"
    assert counts == Counter({"PERSON": 834})
    assert calls == [1000, 2000, 2500]


def test_scrub_texts_with_real_scrubber(scrubber):
    texts = ["Call (415) 555-0132.", "", "Mail a@example.com or b@example.org"]
    out, counts = scrub_texts(texts, scrubber)
    assert out == ["Call <PHONE_NUMBER>.", "", "Mail <EMAIL_ADDRESS> or <EMAIL_ADDRESS>"]
    assert counts == Counter({"EMAIL_ADDRESS": 2, "PHONE_NUMBER": 1})


def test_engine_is_built_once_not_per_text(scrubber, monkeypatch):
    # Speed is measured in benchmarks/scrub_compare.py, not here. What the old timing bound
    # guarded against was per-text engine construction (~0.5 s a text): check that directly.
    import privml.scrub.scrubber as engine

    def no_rebuild(*args, **kwargs):
        raise AssertionError("the analyzer was rebuilt while scrubbing")

    monkeypatch.setattr(engine, "build_analyzer", no_rebuild)
    texts = [t for t, _ in PLANTED] * 10 + [MULTI] * 20
    assert all(scrubber.scrub(text).text is not None for text in texts)


# --------------------------------------------------------------------------------------------
# No network.
# --------------------------------------------------------------------------------------------
def test_no_network_is_used(monkeypatch):
    attempts: list[tuple] = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    # A fresh (not yet loaded) offline suffix extractor, so its first use happens right here.
    fresh_extract = presidio_engine.offline_tld_extract()
    monkeypatch.setattr(presidio_engine, "_OFFLINE_TLD_EXTRACT", fresh_extract)

    fresh = make_scrubber()
    result = fresh.scrub("Write to maria.lopez@example.co.uk or call (415) 555-0132.")
    assert result.text == "Write to <EMAIL_ADDRESS> or call <PHONE_NUMBER>."
    assert attempts == []

    # Positive control: tldextract's default configuration does try the network, and the
    # guard above sees it.
    tldextract.TLDExtract(cache_dir=None)("maria.lopez@example.com")
    assert attempts


# --------------------------------------------------------------------------------------------
# Pattern side: validation, context words, default-off recognizers, the extra-recognizer hook.
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "iban", ["GB82WEST12345698765432", "gb82 west 1234 5698 7654 32", "DE89 3704 0044 0532 0130 00"]
)
def test_valid_iban_any_case_or_grouping(scrubber, iban):
    assert scrubber.scrub(f"Please pay into {iban} by Friday.").text == (
        "Please pay into <IBAN_CODE> by Friday."
    )


@pytest.mark.parametrize(
    "ip", ["2001:0db8:85a3:0000:0000:8a2e:0370:7334", "fe80::1ff:fe23:4567:890a", "10.20.30.40"]
)
def test_ipv4_and_ipv6(scrubber, ip):
    assert scrubber.scrub(f"Blocked {ip} at noon.").text == "Blocked <IP_ADDRESS> at noon."


def test_invalid_ipv4_is_not_tagged(scrubber):
    assert "IP_ADDRESS" not in types_of(scrubber.scrub("Version 300.1.2.999 shipped."))


@pytest.mark.parametrize("ssn", ["219-09-9999", "078-05-1120", "001 01 0001"])
def test_valid_ssn_areas_are_tagged(scrubber, ssn):
    assert types_of(scrubber.scrub(f"SSN on file: {ssn}.")) == ["US_SSN"]


def test_luhn_helper():
    assert patterns.luhn_ok("4111 1111 1111 1111") and patterns.luhn_ok("4131034282458809939")
    assert not patterns.luhn_ok("4111 1111 1111 1112")


@pytest.mark.parametrize("card", ["4131034282458809939", "630427373398", "213176828496175"])
def test_bare_card_numbers_need_luhn_and_card_context(scrubber, card):
    assert scrubber.scrub(f"Please block card {card} today.").text == (
        "Please block card <CREDIT_CARD> today."
    )
    assert scrubber.scrub(f"for cc {card} on").text == "for cc <CREDIT_CARD> on"
    # Same Luhn-valid number without a card word: an order number, not tagged.
    assert "CREDIT_CARD" not in types_of(scrubber.scrub(f"Shipment {card} left the depot."))
    broken = card[:-1] + str((int(card[-1]) + 1) % 10)
    assert "CREDIT_CARD" not in types_of(scrubber.scrub(f"Please block card {broken} today."))


@pytest.mark.parametrize(
    "text,value",
    [
        ("Phone: 467 3395", "467 3395"),
        ("Can someone call me on 9472 7916? Thanks", "9472 7916"),  # "call" is a stop word
        ("Mobile: 0490 39 07 81", "0490 39 07 81"),
        ("Desk: +41 (0)96 471 07 95", "+41 (0)96 471 07 95"),
        ("Desk: +1-903-140-4508x769", "+1-903-140-4508x769"),  # extension covered
        ("Fax: (898)666-3621 ext. 135", "(898)666-3621 ext. 135"),
        ("Call me at 415-555-0132 x12 later", "415-555-0132 x12"),
    ],
)
def test_phone_numbers_of_any_plan_next_to_context(scrubber, text, value):
    assert scrubber.scrub(text).text == text.replace(value, "<PHONE_NUMBER>")


@pytest.mark.parametrize(
    "text",
    [
        "Reference 467 3395 was closed.",
        "Invoice 9472 7916 is paid.",
        "Date: 2003-08-28 12:13:52",
        "Phone logs from 28.08.2003 and 10.0.0.7 are attached.",
        "the office number is 423 786 326",  # a demo-corpus canary prefix: not a phone
    ],
)
def test_grouped_numbers_without_phone_context_are_not_phones(scrubber, text):
    assert "PHONE_NUMBER" not in types_of(scrubber.scrub(text))


def test_context_word_raises_a_weak_score_over_the_threshold(scrubber):
    # Without a context word the shape-only phone scores 0.3 (below 0.5, dropped) ...
    raw = scrubber.analyzer.analyze("Reference 467 3395.", language="en", score_threshold=0.0)
    assert [r.score for r in raw if r.entity_type == "PHONE_NUMBER"] == [0.3]
    # ... a context word adds 0.35; a validated number gets the same boost.
    assert [s.score for s in scrubber.analyze("Phone: 467 3395.")] == [pytest.approx(0.65)]
    assert scrubber.analyze("It is (415) 555-0132.")[0].score == pytest.approx(0.6)
    assert scrubber.analyze("My phone is (415) 555-0132.")[0].score == pytest.approx(0.95)


def test_misfiring_presidio_recognizers_are_off_by_default(scrubber):
    names = {type(r).__name__ for r in scrubber.analyzer.registry.recognizers}
    off = {
        "NhsRecognizer", "UsBankRecognizer", "UsLicenseRecognizer", "UsItinRecognizer",
        "UsPassportRecognizer", "DateRecognizer", "UrlRecognizer", "MedicalLicenseRecognizer",
    }  # fmt: skip
    assert not names & off


def test_merge_same_type_takes_the_union():
    a = Span(5, 20, "PHONE_NUMBER", 0.95)
    b = Span(0, 20, "PHONE_NUMBER", 0.65)
    c = Span(18, 25, "US_SSN", 0.6)
    merged = patterns.merge_same_type([a, b, c])
    assert Span(0, 20, "PHONE_NUMBER", 0.95) in merged and c in merged
    assert resolve_overlaps(merged) == [Span(0, 20, "PHONE_NUMBER", 0.95)]


def test_extra_recognizers_hook():
    extra = PatternRecognizer(
        supported_entity="PERSON", name="Fixed", patterns=[Pattern("z", r"\bzorblax\b", 0.9)]
    )
    scrub = PresidioScrubber(extra_recognizers=[extra])
    assert scrub.scrub("ask zorblax at a@example.com").text == "ask <PERSON> at <EMAIL_ADDRESS>"
