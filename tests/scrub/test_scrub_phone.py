"""The phone recognizer's shortcuts change no result: windows around digit runs, and trunk-0
regions (GB, FR) only where a national number of them can be."""

from __future__ import annotations

import random

import pytest
from presidio_analyzer import EntityRecognizer

from privml.scrub import phone, presidio_engine

REGIONS = presidio_engine.PHONE_REGIONS


class _PlainPhoneRecognizer(phone.ScoredPhoneRecognizer):
    """Presidio's way: the matcher over the whole text, once per region, no shortcut."""

    def analyze(self, text, entities, nlp_artifacts=None):  # noqa: D102
        results = self._analyze_window(text, nlp_artifacts, regions=list(self.supported_regions))
        results = EntityRecognizer.remove_duplicates(results)
        return [r for r in results if not phone.SSN_SHAPE.fullmatch(text, r.start, r.end)]


def _random_numbers(n: int, seed: int) -> list[str]:
    """Number-like strings in every grouping: leading 0, 00, 44, 33, 1, "+", "(", extensions."""
    rng = random.Random(seed)  # test data only: nothing secret depends on it
    out = []
    for _ in range(n):
        digits = rng.choice(["0", "00", "44", "33", "1", "", "", ""])
        digits += "".join(rng.choice("0123456789") for _ in range(rng.randint(4, 12)))
        text, i = "", 0
        while i < len(digits):
            g = rng.randint(1, 4)
            text += digits[i : i + g]
            i += g
            if i < len(digits):
                text += rng.choice([" ", "-", ".", "", " ", "/", ") "])
        lead = rng.choice(["call ", "tel: ", "(", "+", "", "at ", "room 12, "])
        out.append(lead + text + rng.choice([" now", ".", "", " x12", " ext. 7", ", 10:30"]))
    return out


@pytest.fixture(scope="module")
def recognizers():
    return phone.ScoredPhoneRecognizer(supported_regions=REGIONS), _PlainPhoneRecognizer(
        supported_regions=REGIONS
    )


def _same(recognizers, texts: list[str]) -> int:
    fast, plain = recognizers
    found = 0
    for text in texts:
        a = sorted((r.start, r.end, r.score) for r in fast.analyze(text, ["PHONE_NUMBER"]))
        b = sorted((r.start, r.end, r.score) for r in plain.analyze(text, ["PHONE_NUMBER"]))
        assert a == b, text
        found += len(a)
    return found


def test_same_numbers_as_the_plain_matcher_on_a_corpus(recognizers, demo_texts):
    texts = demo_texts + [
        "call +43 1234 now",  # 6 digits with the country code: the shortest valid numbers
        "tel 313-534-3383 extension 1234, thanks",
        "line one\n+44 20 7946 0958\nline three 020 7946 0958",
        "98765 was the order; 313-534-3383, or 313-534-3384 (office)",
        "room 12, +33 1 42 68 53 00 ext. 7 or 01 42 68 53 01 at 10:30",
        "a" * 40 + " 212 555 0142 " + "b" * 40 + " 415 555 0199",
        "UK office 44 20 7946 0958, Paris 33 1 42 68 53 00, (0 1397) 331 392",
    ]
    assert _same(recognizers, texts) > 30  # the corpus does hold phone numbers


def test_same_numbers_as_the_plain_matcher_on_random_number_shapes(recognizers):
    texts = _random_numbers(3000, seed=11)
    found = _same(recognizers, texts)
    assert found > 100  # many of them are valid numbers of some region


def test_trunk_zero_regions_are_skipped_only_without_a_possible_number():
    assert phone.national_rule("US") is None  # trunk prefix 1: always run
    assert phone.national_rule("GB") == (8, "44", 9)  # 0800 1111 is a valid 7-digit number
    assert not phone.national_number_possible("call 212-555-0142 now", "GB")  # "0142": too short
    assert phone.national_number_possible("call 020 7946 0958", "GB")
    assert phone.national_number_possible("UK 44 20 7946 0958", "GB")  # country code, no "+"
    assert not phone.national_number_possible("UK 44 20 7946 0958", "FR")


def test_digit_windows_cover_each_long_digit_run_with_margins():
    text = "ab 12 345 6789 cd" + " " * 60 + "ef 98 76 54 3 gh 1234"
    windows = phone.digit_windows(text, margin=(2, 3))
    assert windows == [(1, 17), (78, 98)]  # " gh " is 4 characters: 1234 joins the run
    assert phone.digit_windows("no digits, or 12345 only") == []
    # windows whose margins overlap merge into one
    assert phone.digit_windows("123456 x 654321", margin=(0, 5)) == [(0, 15)]
