"""Scoring a scrubber on labeled data: readers, the IoU matching rule, hand-computed metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from privml.cli import app
from privml.scrub.base import Span
from privml.scrub.evaluate import evaluate, iou, match, read_conll, read_presidio_json

JSON_EXAMPLES = [
    {
        "full_text": "John Smith met Jane Doe in Paris at Acme",
        "spans": [
            {"entity_type": "PERSON", "start_position": 0, "end_position": 10},
            {"entity_type": "PERSON", "start_position": 15, "end_position": 23},
            {"entity_type": "GPE", "start_position": 27, "end_position": 32},
            {"entity_type": "ORGANIZATION", "start_position": 36, "end_position": 40},
        ],
    },
    {
        "full_text": "mail bob@x.org",
        "spans": [{"entity_type": "EMAIL_ADDRESS", "start": 5, "end": 14}],
    },
]


class StubScrubber:
    """Fixed predictions per text, so the expected metrics can be computed by hand."""

    entities = ("PERSON", "LOCATION", "EMAIL_ADDRESS")

    def __init__(self, predictions: dict[str, list[Span]]) -> None:
        self.predictions = predictions

    def analyze(self, text: str) -> list[Span]:
        return self.predictions.get(text, [])

    def scrub(self, text: str):  # pragma: no cover - not used by evaluate
        raise NotImplementedError


def test_iou_and_one_to_one_matching() -> None:
    assert iou((0, 10), (0, 4)) == 0.4
    assert iou((5, 14), (5, 12)) == pytest.approx(7 / 9)
    assert iou((0, 2), (5, 6)) == 0.0
    assert match([(0, 10)], [(0, 5), (0, 10)]) == 1  # one gold span matches at most once
    assert match([(0, 10)], [(0, 4)]) == 0  # IoU 0.4 < 0.5


def test_presidio_json_hand_computed(tmp_path: Path) -> None:
    path = tmp_path / "labeled.json"
    path.write_text(json.dumps(JSON_EXAMPLES))
    examples = list(read_presidio_json(path))
    stub = StubScrubber(
        {
            examples[0].text: [
                Span(0, 4, "PERSON", 1.0),  # IoU 0.4 with "John Smith": FP and FN
                Span(15, 23, "PERSON", 1.0),  # exact: TP
                Span(27, 32, "LOCATION", 1.0),  # GPE -> LOCATION: TP
            ],
            examples[1].text: [
                Span(0, 4, "PERSON", 1.0),  # FP
                Span(5, 12, "EMAIL_ADDRESS", 1.0),  # IoU 7/9: TP
            ],
        }
    )
    report = evaluate(examples, stub).to_dict()
    person = report["per_type"]["PERSON"]
    assert (person["tp"], person["fp"], person["fn"]) == (1, 2, 1)
    assert person["precision"] == pytest.approx(1 / 3)
    assert person["recall"] == pytest.approx(1 / 2)
    assert person["f1"] == pytest.approx(0.4)
    for typ in ("LOCATION", "EMAIL_ADDRESS"):
        assert report["per_type"][typ]["f1"] == 1.0
    assert report["ALL"]["precision"] == pytest.approx(0.6)
    assert report["ALL"]["recall"] == pytest.approx(0.75)
    assert report["ALL"]["f1"] == pytest.approx(2 / 3)
    assert report["ignored_gold"] == {"ORGANIZATION": 1}
    assert report["examples"] == 2


CONLL = """-DOCSTART- -X- O O

John\tB-PER
Smith\tI-PER
visited\tO
Paris\tB-LOC
.\tO

Mary PER
Ann PER
and O
Bob I-PER
met O
at O
Acme B-ORG
"""


def test_conll_hand_computed(tmp_path: Path) -> None:
    path = tmp_path / "labeled.conll"
    path.write_text(CONLL)
    examples = list(read_conll(path))
    assert [e.text for e in examples] == [
        "John Smith visited Paris .",
        "Mary Ann and Bob met at Acme",
    ]
    spans = [[(s.start, s.end, s.label) for s in e.spans] for e in examples]
    assert spans == [
        [(0, 10, "PER"), (19, 24, "LOC")],
        [(0, 8, "PER"), (13, 16, "PER"), (24, 28, "ORG")],
    ]
    stub = StubScrubber(
        {
            examples[0].text: [Span(0, 10, "PERSON", 1.0)],  # TP; Paris missed: FN
            examples[1].text: [
                Span(0, 4, "PERSON", 1.0),  # IoU 4/8 = 0.5: TP (threshold inclusive)
                Span(18, 21, "PERSON", 1.0),  # "met": FP; Bob missed: FN
            ],
        }
    )
    report = evaluate(examples, stub).to_dict()
    person, location = report["per_type"]["PERSON"], report["per_type"]["LOCATION"]
    assert (person["tp"], person["fp"], person["fn"]) == (2, 1, 1)
    assert person["precision"] == pytest.approx(2 / 3) and person["recall"] == pytest.approx(2 / 3)
    assert (location["tp"], location["fn"], location["precision"], location["f1"]) == (0, 1, 0, 0)
    assert report["ALL"]["recall"] == pytest.approx(2 / 4)
    assert report["ALL"]["precision"] == pytest.approx(2 / 3)
    assert report["ALL"]["f1"] == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))
    assert report["ignored_gold"] == {"ORG": 1}


def test_cli_eval_default_scrubber(tmp_path: Path) -> None:
    """Unambiguous values, so the default scrubber's output is known: 2 TP, 1 FP, 1 FN."""
    texts = [
        ("write to alice.walker@example.com now.", [("EMAIL_ADDRESS", 9, 33)]),
        ("my ssn is 123-45-6789.", [("US_SSN", 10, 21)]),
        ("call me tomorrow.", [("PHONE_NUMBER", 8, 16)]),  # nothing to find: FN
        ("card 4111 1111 1111 1111 please", []),  # unlabeled card: FP
    ]
    data = [
        {
            "full_text": t,
            "spans": [{"entity_type": e, "start_position": s, "end_position": x} for e, s, x in sp],
        }
        for t, sp in texts
    ]
    path = tmp_path / "labeled.json"
    path.write_text(json.dumps(data))
    ents = ["--entities", "EMAIL_ADDRESS,US_SSN,CREDIT_CARD,PHONE_NUMBER"]
    result = CliRunner().invoke(app, ["scrub", "eval", str(path), "--json", *ents])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["per_type"]["EMAIL_ADDRESS"]["f1"] == 1.0
    assert report["per_type"]["US_SSN"]["f1"] == 1.0
    assert report["per_type"]["CREDIT_CARD"]["fp"] == 1
    assert report["per_type"]["PHONE_NUMBER"]["fn"] == 1
    assert report["ALL"]["precision"] == pytest.approx(2 / 3)
    assert report["ALL"]["recall"] == pytest.approx(2 / 3)
    table = CliRunner().invoke(app, ["scrub", "eval", str(path), *ents])
    assert table.exit_code == 0 and "EMAIL_ADDRESS" in table.output and "ALL" in table.output
    missing = CliRunner().invoke(app, ["scrub", "eval", str(tmp_path / "nope.conll")])
    assert missing.exit_code == 2 and "nope.conll" in missing.output
