"""Fast tests for the learned NER recognizer, its data readers, split and scoring."""

from __future__ import annotations

import pytest

from privml.scrub.ner_data import NerExample, map_conll_label, parse_conll
from privml.scrub.ner_recognizer import NerRecognizer, ner_available
from privml.scrub.ner_train import blank_ner, fit, predict_spans, score_spans
from privml.scrub.synth_data import is_heldout

needs_model = pytest.mark.skipif(not ner_available(), reason="packaged NER model missing")


@needs_model
def test_packaged_model_finds_person_and_city() -> None:
    rec = NerRecognizer()
    text = "Yesterday John Smith flew to Berlin for a meeting."
    found = {(text[r.start : r.end], r.entity_type) for r in rec.analyze(text, [], None)}
    assert ("John Smith", "PERSON") in found
    assert ("Berlin", "LOCATION") in found
    only_person = rec.analyze(text, ["PERSON"], None)
    assert {r.entity_type for r in only_person} == {"PERSON"}


def test_conll_reader_and_label_mapping() -> None:
    lines = [
        "-DOCSTART- -X- O O",
        "",
        "Barack\tB-person",
        "Obama\tI-person",
        "visited\tO",
        "New\tB-geo-loc",
        "York\tI-geo-loc",
        "with\tO",
        "Apple\tB-corporation",
        "iPhone\tB-product",
        "",
        "SILICON NNP - I-ORG",
        "VALLEY NNP - I-ORG",
        "BANK NNP - I-ORG",
        "and CC - O",
        "Paris NNP - I-LOC",
    ]
    first, second = parse_conll(lines)
    assert first.text == "Barack Obama visited New York with Apple iPhone"
    got = [(first.text[s:e], lab) for s, e, lab in first.spans]
    assert got == [("Barack Obama", "PERSON"), ("New York", "LOCATION"), ("Apple", "ORGANIZATION")]
    got2 = [(second.text[s:e], lab) for s, e, lab in second.spans]
    assert got2 == [("SILICON VALLEY BANK", "ORGANIZATION"), ("Paris", "LOCATION")]
    assert map_conll_label("B-group") == "ORGANIZATION"
    assert map_conll_label("B-creative-work") is None
    assert map_conll_label("O") is None


def test_split_is_deterministic_and_disjoint() -> None:
    a = [i for i in range(1500) if is_heldout(i, 0, 0.2)]
    b = [i for i in range(1500) if is_heldout(i, 0, 0.2)]
    assert a == b
    train = {i for i in range(1500) if not is_heldout(i, 0, 0.2)}
    assert not train & set(a)
    assert 200 < len(a) < 400


def test_score_spans_hand_computed() -> None:
    text = "Ann Lee met Bob in Rome at 5 Main St, Springfield"

    def sp(value: str, label: str) -> tuple[int, int, str]:
        start = text.index(value)
        return start, start + len(value), label

    address = "5 Main St, Springfield"
    gold = [sp("Ann Lee", "PERSON"), sp("Bob", "PERSON"), sp("Rome", "LOCATION")]
    gold.append(sp(address, "STREET_ADDRESS"))
    pred = [sp("Ann Lee", "PERSON"), sp("Bob", "LOCATION"), sp("Rome", "LOCATION")]
    pred.append(sp("5 Main", "PERSON"))
    m = score_spans([text], [gold], [pred])
    # PERSON: tp 1 (Ann Lee), pred 2, gold 2 -> P = R = F1 = 0.5
    assert m["PERSON"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    # LOCATION: tp 1 (Rome), pred 2 (Bob, Rome), gold 1 -> P 0.5, R 1, F1 2/3
    assert m["LOCATION"] == {"precision": 0.5, "recall": 1.0, "f1": 0.6667, "support": 1}
    # STREET_ADDRESS: nothing predicted -> P 0, R 0
    assert m["STREET_ADDRESS"]["recall"] == 0.0
    # LOC+ADDRESS group: gold {Rome, address}, pred {Bob, Rome} -> tp 1, P 0.5, R 0.5
    assert m["LOC+ADDRESS"]["f1"] == 0.5
    # merging adjacent same-label pieces: "5 Main St" + "Springfield" -> one address span
    pieces = [sp("5 Main St", "STREET_ADDRESS"), sp("Springfield", "STREET_ADDRESS")]
    merged = score_spans([text], [[sp(address, "STREET_ADDRESS")]], [pieces], True)
    assert merged["STREET_ADDRESS"]["f1"] == 1.0


def test_tiny_training_is_reproducible() -> None:
    names = ["Anna Berg", "Tom Hale", "Maria Lopez", "Ken Ito", "Sara Novak", "Li Wei"]
    cities = ["Paris", "Oslo", "Lima", "Cairo", "Quito"]
    data = []
    for i in range(30):
        name, city = names[i % len(names)], cities[i % len(cities)]
        text = f"{name} lives in {city} now."
        data.append(
            NerExample(
                text,
                (
                    (0, len(name), "PERSON"),
                    (len(name) + 10, len(name) + 10 + len(city), "LOCATION"),
                ),
            )
        )
    texts = ["Tom Hale lives in Oslo now.", "Where is Lima?"]
    runs = [predict_spans(fit(blank_ner(), data, seed=3, epochs=1), texts) for _ in range(2)]
    assert runs[0] == runs[1]


@needs_model
def test_make_scrubber_with_ner_finds_names_places_and_organisations():
    """``ner=True`` (the `privml scrub` default) adds the learned types on top of the patterns."""
    from privml.scrub import make_scrubber

    text = "Hi, I'm John Smith from Acme Corp. Mail john@acme.com, card 4111 1111 1111 1111."
    out = make_scrubber(ner=True).scrub(text)
    assert {"PERSON", "ORGANIZATION", "EMAIL_ADDRESS", "CREDIT_CARD"} <= set(out.counts)
    assert "John Smith" not in out.text and "4111" not in out.text
    plain = make_scrubber(ner=False)
    assert "ORGANIZATION" not in plain.scrub(text).counts  # only the model finds organisations


BATCH_TEXTS = [
    "Hi Maria,\n\nCould you call me on (415) 555-0132? I'm at 42 Oak Street, Springfield.",
    "",
    "   ",
    "no capitals or digits here",
    "Warm regards,\nDaniel Okafor",
    "Mail john@acme.com about the Acme Corp contract with Anna Berg in Oslo.",
]


@needs_model
@pytest.mark.parametrize("ner", [False, True])
def test_analyze_batch_matches_one_text_at_a_time(ner: bool) -> None:
    from privml.scrub import analyze_many, make_scrubber

    scrubber = make_scrubber(ner=ner)
    long_text = " ".join(BATCH_TEXTS) * 3
    scrubber.window_chars, scrubber.overlap_chars = 200, 60  # force the windowed path too
    texts = [*BATCH_TEXTS, long_text]
    one_by_one = [scrubber.analyze(t) for t in texts]
    assert analyze_many(scrubber, texts) == one_by_one
    assert sum(map(len, one_by_one)) > 5  # something was found
    if ner:
        assert any(s.entity_type == "ORGANIZATION" for s in one_by_one[5])  # only NER finds it


@needs_model
def test_recognizer_reuses_the_engines_doc_and_ignores_a_foreign_one(monkeypatch) -> None:
    from presidio_analyzer.nlp_engine import NlpArtifacts

    rec = NerRecognizer()
    text = "Yesterday John Smith flew to Berlin."
    doc = rec.nlp(text)
    art = NlpArtifacts([], doc, [], [], None, "en")
    expected = rec.analyze(text, [], None)

    def no_model_call(*args, **kwargs):
        raise AssertionError("the model ran again although the engine's Doc was given")

    monkeypatch.setattr(type(rec.nlp), "__call__", no_model_call)
    assert [(r.start, r.end, r.entity_type) for r in rec.analyze(text, [], art)] == [
        (r.start, r.end, r.entity_type) for r in expected
    ]
    other = NlpArtifacts([], doc, [], [], None, "en")
    with pytest.raises(AssertionError, match="ran again"):
        rec.analyze("Tomorrow Jane Doe flies to Rome.", [], other)  # Doc of another text


@needs_model
def test_salutations_are_not_names() -> None:
    from privml.scrub.ner_recognizer import _strip_salutations

    for text, kept in [
        ("Warm regards", ""),
        ("Dear Maria Lopez", "Maria Lopez"),
        ("Bob, thanks", "Bob"),
        ("Maria Lopez", "Maria Lopez"),
    ]:
        a, b = _strip_salutations(text, 0, len(text))
        assert text[a:b] == kept
    rec = NerRecognizer()
    text = "Kind regards,\nDaniel Okafor"
    names = [text[r.start : r.end] for r in rec.analyze(text, ["PERSON"], None)]
    assert "Kind" not in " ".join(names)


@needs_model
def test_function_words_and_letterless_spans_are_not_entities() -> None:
    """Spans the model can mislabel: all-lowercase function words, IP addresses as names."""
    from spacy.tokens import Span as SpacySpan

    rec = NerRecognizer()
    text = "thanks for the report from 10.0.0.1 and Anna Berg"
    doc = rec.nlp.make_doc(text)
    doc.set_ents(
        [
            SpacySpan(doc, 1, 3, "ORGANIZATION"),  # "for the"
            SpacySpan(doc, 5, 6, "PERSON"),  # "10.0.0.1"
            SpacySpan(doc, 7, 9, "PERSON"),  # "Anna Berg"
        ]
    )
    assert [(text[a:b], label) for a, b, label, _ in rec.find(text, doc)] == [
        ("Anna Berg", "PERSON")
    ]
