"""privml.scrub: PERSON detection from the name lists."""

from __future__ import annotations

import pytest

from privml.scrub import make_scrubber
from privml.scrub.names import NameListRecognizer, load_name_lists


@pytest.fixture(scope="module")
def scrubber():
    return make_scrubber(entities=["PERSON"])


@pytest.fixture(scope="module")
def recognizer():
    return NameListRecognizer()


def test_name_lists_are_loaded_from_package():
    first, last = load_name_lists()
    assert len(first) > 8000 and len(last) > 19000
    assert {"Maria", "Anna", "David"} <= first
    assert {"Lopez", "Johnson", "Kim"} <= last
    assert "You" not in last and "Call" not in last  # stop words never act as surnames


@pytest.mark.parametrize(
    "text,expected",
    [
        # the brief's examples
        ("I met Maria Lopez yesterday", "I met <PERSON> yesterday"),
        ("Dear Mr. Johnson", "Dear Mr. <PERSON>"),
        ("Will you join us in May?", "Will you join us in May?"),
        ("Hi Anna, the report is ready", "Hi <PERSON>, the report is ready"),
        # first + surname variants
        ("Maria Lopez Garcia will join us.", "<PERSON> will join us."),
        ("Ask John F. Kennedy about it.", "Ask <PERSON> about it."),
        ("Maria Lopez-Garcia is leading the project.", "<PERSON> is leading the project."),
        ("I read Sarah Connor's notes.", "I read <PERSON>'s notes."),
        ("Jean-Luc Picard signed it.", "<PERSON> signed it."),
        ("Emma Xyzzyqua signed it.", "<PERSON> signed it."),  # unlisted, capitalised surname
        ("Grace Kelly sang.", "<PERSON> sang."),  # ambiguous first name + listed surname
        ("Thanks,\nDavid Kim", "Thanks,\n<PERSON>"),
        # titles
        ("Dr. Maria Lopez will see you.", "Dr. <PERSON> will see you."),
        ("Ms. Xyzzyqua called.", "Ms. <PERSON> called."),
        # lone names after a context word
        ("Thanks, Emily", "Thanks, <PERSON>"),
        ("Best regards,\nJohn", "Best regards,\n<PERSON>"),
        ("I spoke with Sarah about it.", "I spoke with <PERSON> about it."),
        ("We told Maria Thursday.", "We told <PERSON> Thursday."),  # weekday is not a surname
        ("Hello May, good to see you.", "Hello <PERSON>, good to see you."),
        # propagation of a detected name to later bare mentions
        ("I met Maria Lopez. Later Lopez said Maria was right.", None),
    ],
)
def test_names(scrubber, text, expected):
    result = scrubber.scrub(text)
    if expected is None:
        assert result.text == "I met <PERSON>. Later <PERSON> said <PERSON> was right."
        assert result.counts == {"PERSON": 3}
    else:
        assert result.text == expected


@pytest.mark.parametrize(
    "text",
    [
        "Will you join us in May?",
        "Mark the date in your calendar.",
        "Grant access to the folder.",
        "Bill the client for two hours.",
        "Grace Period ends on Friday.",
        "Anna said the report is ready.",  # lone name, no context word: ignored
        "The Summer Sale starts in June.",
        "Happy Monday! See you on Tuesday.",
        "Hi team, thanks all.",
        "Jordan River Project kicks off in April.",
        "maria lopez wrote in lower case",
        "",
    ],
)
def test_not_names(scrubber, text):
    assert scrubber.scrub(text).text == text


def test_spans_cover_exactly_the_name(recognizer):
    text = "Dear Mr. Johnson, I met Maria Lopez."
    found = sorted((text[s:e], score) for s, e, score in recognizer.find_names(text))
    assert [v for v, _ in found] == ["Johnson", "Maria Lopez"]
    assert all(score >= 0.5 for _, score in found)


def test_listed_surname_scores_higher(recognizer):
    (listed,) = recognizer.find_names("Maria Lopez")
    (unlisted,) = recognizer.find_names("Maria Xyzzyqua")
    assert listed[2] > unlisted[2] >= 0.5


def test_name_recognizer_is_consistent_over_many_texts(recognizer):
    # Speed belongs in benchmarks/scrub_compare.py; here: same answer on every repetition.
    texts = [f"Hello team, I met Maria Lopez and Grace in room {i} on Monday." for i in range(2000)]
    found = {tuple(t[s:e] for s, e, _ in recognizer.find_names(t)) for t in texts}
    assert len(found) == 1 and "Maria Lopez" in next(iter(found))
