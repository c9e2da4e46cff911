"""privml.scrub.synth_data: the loader and the shared seeded held-out split."""

from __future__ import annotations

import json

import pytest

from privml.scrub import Span
from privml.scrub.synth_data import DEFAULT_SYNTH_PATH, is_heldout, load_synth, split_synth


@pytest.fixture()
def tiny(tmp_path):
    rows = [
        {
            "full_text": "Call Anna at 555-0101.",
            "spans": [
                {"entity_type": "PHONE_NUMBER", "entity_value": "555-0101",
                 "start_position": 13, "end_position": 21},
                {"entity_type": "PERSON", "entity_value": "Anna",
                 "start_position": 5, "end_position": 9},
            ],
            "template_id": 3,
        },
        {"full_text": "Nothing here.", "spans": [], "template_id": None},
        {  # offsets that disagree with the value are re-anchored on the value
            "full_text": "Mail bo@example.com now",
            "spans": [{"entity_type": "EMAIL_ADDRESS", "entity_value": "bo@example.com",
                       "start_position": 0, "end_position": 14}],
        },
    ]  # fmt: skip
    path = tmp_path / "synth.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    return path


def test_loader_parses_spans(tiny):
    items = load_synth(tiny)
    assert [it.index for it in items] == [0, 1, 2]
    first = items[0]
    assert first.text == "Call Anna at 555-0101." and first.template_id == 3
    assert first.spans == (Span(5, 9, "PERSON", 1.0), Span(13, 21, "PHONE_NUMBER", 1.0))
    assert items[1].spans == () and items[1].template_id is None
    (email,) = items[2].spans
    assert items[2].text[email.start : email.end] == "bo@example.com"


def test_split_is_deterministic_disjoint_and_complete(tiny):
    items = load_synth(tiny)  # small; the tests below check the rate
    train, held = split_synth(items, seed=0)
    assert split_synth(items, seed=0) == (train, held)
    assert {i.index for i in train}.isdisjoint(i.index for i in held)
    assert len(train) + len(held) == len(items)


def test_split_depends_only_on_index_and_seed():
    flags = [is_heldout(i) for i in range(5000)]
    assert flags == [is_heldout(i, seed=0, heldout=0.2) for i in range(5000)]
    assert 0.18 < sum(flags) / len(flags) < 0.22
    assert flags != [is_heldout(i, seed=1) for i in range(5000)]
    # Pinned: another module (NER training) relies on exactly this split.
    assert [i for i in range(30) if is_heldout(i)] == PINNED_HELDOUT_0_30
    assert not any(is_heldout(i, heldout=0.0) for i in range(100))
    assert all(is_heldout(i, heldout=1.0) for i in range(100))
    with pytest.raises(ValueError):
        split_synth([], heldout=1.5)


@pytest.mark.skipif(not DEFAULT_SYNTH_PATH.exists(), reason="synthetic PII data not present")
def test_real_data_split():
    items = load_synth()
    train, held = split_synth(items)
    assert len(items) == 1500 and len(held) == 306 and len(train) == 1194
    for it in items[:200]:
        for s in it.spans:
            assert 0 <= s.start < s.end <= len(it.text)


PINNED_HELDOUT_0_30 = [7, 15, 18, 20, 25]
