"""The NER tagger component: BILUO decoding, exact packing, gazetteer flags, save/load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import spacy
import torch

from privml.scrub.ner_tagger import COMPONENT, Featurizer, TaggerConfig, decode, tag_names
from privml.scrub.ner_train import blank_ner

TAGS = tag_names()


def _idx(*names: str) -> list[int]:
    return [TAGS.index(n) for n in names]


def test_tag_names_are_biluo_with_o_first() -> None:
    assert TAGS[0] == "O" and len(TAGS) == 1 + 4 * 4
    assert TAGS[1:5] == ("B-PERSON", "I-PERSON", "L-PERSON", "U-PERSON")


def test_decode_hand_made_sequences() -> None:
    tags = _idx("B-PERSON", "L-PERSON", "O", "U-LOCATION", "U-LOCATION", "O")
    assert decode(tags, TAGS) == [(0, 2, "PERSON"), (3, 4, "LOCATION"), (4, 5, "LOCATION")]
    # tolerant: an I without B opens an entity; a change of label closes one; an open
    # entity at the end is closed
    tags = _idx("I-PERSON", "I-PERSON", "I-ORGANIZATION", "O", "B-LOCATION", "I-LOCATION")
    assert decode(tags, TAGS) == [(0, 2, "PERSON"), (2, 3, "ORGANIZATION"), (4, 6, "LOCATION")]
    assert decode(_idx("O", "O"), TAGS) == []


def test_packing_tags_each_document_as_if_alone() -> None:
    """Docs packed into one sequence get exactly the scores they get one at a time."""
    torch.manual_seed(0)
    nlp = blank_ner(TaggerConfig(width=16, embed=8, depth=3))
    tagger = nlp.get_pipe(COMPONENT)
    docs = [nlp.make_doc(t) for t in ["Anna Berg lives in Oslo.", "", "Call Bob", "x " * 40]]
    (ids, gaz, mask), starts = tagger.featurize(docs)
    with torch.inference_mode():
        packed = tagger.model(ids, gaz, mask)
        for doc, s in zip(docs, starts, strict=True):
            (i1, g1, m1), (s1,) = tagger.featurize([doc])
            alone = tagger.model(i1, g1, m1)[s1 : s1 + len(doc)]
            assert torch.allclose(packed[s : s + len(doc)], alone, atol=1e-5)
    assert mask.sum() == sum(len(d) for d in docs)


def test_gazetteer_flags_mark_listed_names() -> None:
    nlp = spacy.blank("en")
    (ids, gaz, mask), (start,) = Featurizer(TaggerConfig())([nlp.make_doc("maria said hello")])
    flags = gaz[start : start + 3].numpy()
    assert flags[0, 0] == 1.0  # "maria" is a listed first name (case-insensitive)
    assert flags[2].tolist() == [0.0, 0.0]  # "hello" is not a name
    assert ids.shape[1] == 4 and np.all(ids.numpy() >= 0)


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    import privml.scrub.ner_tagger  # noqa: F401 - registers the factory

    torch.manual_seed(1)
    nlp = blank_ner(TaggerConfig(width=16, embed=8, depth=2))
    nlp.to_disk(tmp_path / "m")
    again = spacy.load(tmp_path / "m")
    text = "Anna Berg met Tom Hale in Paris."
    a = nlp.get_pipe(COMPONENT).predict([nlp.make_doc(text)])[0]
    b = again.get_pipe(COMPONENT).predict([again.make_doc(text)])[0]
    assert again.get_pipe(COMPONENT).cfg == TaggerConfig(width=16, embed=8, depth=2)
    assert a.tolist() == b.tolist()


def test_a_broken_tagger_config_names_the_file(tmp_path: Path) -> None:
    import pytest

    import privml.scrub.ner_tagger  # noqa: F401 - registers the factory

    blank_ner(TaggerConfig(width=16, embed=8, depth=2)).to_disk(tmp_path / "m")
    config = tmp_path / "m" / COMPONENT / "tagger.json"
    config.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="tagger.json: not a privml tagger configuration"):
        spacy.load(tmp_path / "m")
