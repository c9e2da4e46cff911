"""Recognizer pre-checks: skipping texts without the necessary characters changes no result."""

from __future__ import annotations

from presidio_analyzer import Pattern, PatternRecognizer
from presidio_analyzer.predefined_recognizers import IpRecognizer

from privml.scrub.patterns import STREET_ADDRESS_REGEX, StreetAddressRecognizer
from privml.scrub.prefilter import IpAddressRecognizer

IP_TEXTS = [
    "1.2.3.4",
    "host 255.255.255.255/24 up",
    "::",
    "::1",
    "fe80::1",
    "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
    "2001:db8::8a2e:370:7334 and ::ffff:10.0.0.1",
    "64:ff9b::192.0.2.33",
    "1:2:3:4:5:6:7:8",
    "version 1.2 and 3.4, at 10.30",
]


def _results(recognizer, text: str, entity: str) -> list[tuple]:
    return sorted((r.start, r.end, r.score) for r in recognizer.analyze(text, [entity], None))


def test_ip_prefilter_changes_no_result(demo_texts):
    plain, filtered = IpRecognizer(), IpAddressRecognizer()
    found = 0
    for text in demo_texts + IP_TEXTS:
        expected = _results(plain, text, "IP_ADDRESS")
        assert _results(filtered, text, "IP_ADDRESS") == expected, text
        found += len(expected)
    assert found > 10 and filtered.name == "IpRecognizer"


def test_street_address_prefilter_changes_no_result(demo_texts):
    plain = PatternRecognizer(
        supported_entity="STREET_ADDRESS",
        patterns=[Pattern("US street address", STREET_ADDRESS_REGEX, 0.85)],
        global_regex_flags=StreetAddressRecognizer().global_regex_flags,
    )
    filtered = StreetAddressRecognizer()
    extra = ["12 N Main St", "7 5th Avenue", "1600\tPennsylvania Avenue NW", "12 main street"]
    found = 0
    for text in demo_texts + extra:
        expected = _results(plain, text, "STREET_ADDRESS")
        assert _results(filtered, text, "STREET_ADDRESS") == expected, text
        found += len(expected)
    assert found > 10


def test_the_recognizer_is_not_run_without_the_necessary_characters(monkeypatch):
    calls = []
    original = IpRecognizer.analyze

    def counting(self, text, entities, nlp_artifacts=None):
        calls.append(text)
        return original(self, text, entities, nlp_artifacts)

    monkeypatch.setattr(IpRecognizer, "analyze", counting)
    recognizer = IpAddressRecognizer()
    assert recognizer.analyze("order 12 at 10 am", ["IP_ADDRESS"]) == []
    assert calls == []
    assert len(recognizer.analyze("from 10.1.2.3", ["IP_ADDRESS"])) == 1
    assert calls == ["from 10.1.2.3"]
