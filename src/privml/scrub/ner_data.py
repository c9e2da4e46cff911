"""Training and evaluation data for the learned NER recognizer.

Every source is turned into :class:`NerExample` (text + character spans with the model's labels):

* CoNLL corpora (BTC, WNUT-17, FIN5): one token per line, the tag in the last column, blank
  lines between sentences, IOB1 or IOB2. Tags map to ``PERSON`` / ``LOCATION`` /
  ``ORGANIZATION`` (:data:`CONLL_LABELS`); all others (product, creative-work, MISC) are dropped.
* Presidio-research synthetic sentences: GPE becomes ``LOCATION``, PERSON / ORGANIZATION /
  STREET_ADDRESS are kept, other PII types are not NER targets. The held-out split is the
  project-wide one from :mod:`privml.scrub.synth_data` (sha256 of the sentence index).
* Generated sentences: ``presidio_templates.txt`` slots filled with FakeNameGenerator identities
  and the packaged name lists (the gazetteer enters the model as training data). FakeNameGenerator
  rows are split by the same hash so the generated test set uses unseen identities.
"""

from __future__ import annotations

import csv
import random
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from privml.scrub.synth_data import SHARED_DATA, is_heldout, load_synth, split_synth

DATA_DIR = SHARED_DATA
NER_LABELS = ("PERSON", "LOCATION", "ORGANIZATION", "STREET_ADDRESS")
CONLL_LABELS = {
    "person": "PERSON",
    "per": "PERSON",
    "location": "LOCATION",
    "loc": "LOCATION",
    "geo-loc": "LOCATION",
    "corporation": "ORGANIZATION",
    "org": "ORGANIZATION",
    "group": "ORGANIZATION",
}
SYNTH_LABELS = {
    "PERSON": "PERSON",
    "GPE": "LOCATION",
    "LOCATION": "LOCATION",
    "ORGANIZATION": "ORGANIZATION",
    "STREET_ADDRESS": "STREET_ADDRESS",
}
TRAIN_CONLL = ("wnut17train.conll", *(f"btc_{p}.conll" for p in "abefgh"), "FIN5.txt")
WNUT_DEV = "emerging.dev.conll"  # out-of-domain evaluation only: never trained on


@dataclass(frozen=True)
class NerExample:
    """A text with gold ``(start, end, label)`` character spans (labels from NER_LABELS)."""

    text: str
    spans: tuple[tuple[int, int, str], ...]


def map_conll_label(tag: str) -> str | None:
    """``B-person`` / ``I-PER`` / ``B-geo-loc`` -> the model label, or None (dropped/O)."""
    if tag in ("O", "") or "-" not in tag:
        return None
    return CONLL_LABELS.get(tag.split("-", 1)[1].lower())


def parse_conll(lines: list[str]) -> list[NerExample]:
    """Sentences of a CoNLL file (tag = last column); tokens are joined by single spaces.

    A new entity starts at a ``B-`` tag or when the type changes, so IOB1 and IOB2 both work.
    """
    examples: list[NerExample] = []
    sent: list[tuple[str, str]] = []

    def flush() -> None:
        if sent:
            examples.append(_conll_sentence(sent))
            sent.clear()

    for line in lines:
        parts = line.rstrip("\n").split()
        if not parts:
            flush()
        elif parts[0] == "-DOCSTART-":
            flush()
        else:
            sent.append((parts[0], parts[-1] if len(parts) > 1 else "O"))
    flush()
    return examples


def _conll_sentence(tokens: list[tuple[str, str]]) -> NerExample:
    text_parts: list[str] = []
    spans: list[tuple[int, int, str]] = []
    pos = 0
    cur: list = []  # [start, end, label] of the open entity
    for word, tag in tokens:
        label = map_conll_label(tag)
        start, end = pos, pos + len(word)
        if label is not None and cur and cur[2] == label and not tag.startswith("B-"):
            cur[1] = end
        else:
            if cur:
                spans.append(tuple(cur))
            cur = [start, end, label] if label is not None else []
        text_parts.append(word)
        pos = end + 1
    if cur:
        spans.append(tuple(cur))
    return NerExample(" ".join(text_parts), tuple(spans))


def read_conll(path: str | Path) -> list[NerExample]:
    """Read a CoNLL file with :func:`parse_conll`."""
    with open(path, encoding="utf-8") as fh:
        return parse_conll(fh.readlines())


def synth_examples(seed: int = 0, heldout: float = 0.2) -> tuple[list[NerExample], ...]:
    """``(train, test)`` NER examples from the synthetic PII set, by the shared seeded split."""
    train, test = split_synth(
        load_synth(DATA_DIR / "pii" / "presidio_synth_dataset_v2.json"), seed=seed, heldout=heldout
    )

    def convert(item) -> NerExample:
        spans = tuple(
            (s.start, s.end, SYNTH_LABELS[s.entity_type])
            for s in item.spans
            if s.entity_type in SYNTH_LABELS
        )
        return NerExample(item.text, spans)

    return [convert(i) for i in train], [convert(i) for i in test]


@lru_cache(maxsize=1)
def _templates() -> tuple[str, ...]:
    path = DATA_DIR / "pii" / "presidio_templates.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    return tuple(t.replace("\\n", "\n") for t in (line.strip() for line in lines) if t)


@lru_cache(maxsize=1)
def _identities() -> tuple[dict[str, str], ...]:
    path = DATA_DIR / "pii" / "FakeNameGenerator.com_3000.csv"
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return tuple(csv.DictReader(fh))


@lru_cache(maxsize=1)
def _name_lists() -> tuple[tuple[str, ...], tuple[str, ...]]:
    base = files("privml") / "resources" / "names"

    def read(name: str) -> tuple[str, ...]:
        words = base.joinpath(name).read_text(encoding="utf-8").split()
        return tuple(w.title() if w.isupper() or w.islower() else w for w in words)

    return read("first_names.txt"), read("last_names.txt")


_SLOT_RE = re.compile(r"\{\{(\w+)\}\}")
_NATIONS = ("French", "German", "Mexican", "Nigerian", "Japanese", "Brazilian", "Polish", "Thai")


def _fill(slot: str, who: dict[str, str], rng: random.Random) -> tuple[str, str | None]:
    """The value and model label (or None) for one template slot."""
    firsts, lasts = _name_lists()
    if rng.random() < 0.5:  # gazetteer names or a FakeNameGenerator identity
        first, last = rng.choice(firsts), rng.choice(lasts)
    else:
        first, last = who["GivenName"], who["Surname"]
    street = who["StreetAddress"]
    number, _, street_name = street.partition(" ")
    if not number[:1].isdigit():  # "Søndergade 52": no leading building number
        number, street_name = "", street
    if slot in ("person", "name", "name_female", "name_male"):
        mid = f" {who['MiddleInitial']}." if rng.random() < 0.15 else ""
        return f"{first}{mid} {last}", "PERSON"
    if slot.startswith("first_name"):
        return first, "PERSON"
    if slot.startswith("last_name"):
        return last, "PERSON"
    table: dict[str, tuple[str, str | None]] = {
        "organization": (who["Company"], "ORGANIZATION"),
        "city": (who["City"], "LOCATION"),
        "country": (who["CountryFull"], "LOCATION"),
        "state_abbr": (who["State"], "LOCATION"),
        "address": (f"{street}, {who['City']}, {who['State']} {who['ZipCode']}", "STREET_ADDRESS"),
        "street_name": (street_name, "STREET_ADDRESS"),
        "building_number": (number or str(rng.randint(1, 9999)), "STREET_ADDRESS"),
        "secondary_address": (
            f"{rng.choice(['Apt.', 'Suite'])} {rng.randint(1, 999)}",
            "STREET_ADDRESS",
        ),
        "postcode": (who["ZipCode"], None),
        "zipcode": (who["ZipCode"], None),
        "prefix_male": ("Mr.", None),
        "prefix_female": (rng.choice(["Mrs.", "Ms."]), None),
        "prefix": (who["Title"], None),
        "phone_number": (who["TelephoneNumber"], None),
        "email": (who["EmailAddress"], None),
        "age": (who["Age"], None),
        "job": (who["Occupation"], None),
        "url": (who["Domain"], None),
        "date_of_birth": (who["Birthday"], None),
        "date_time": (who["Birthday"], None),
        "nationality": (rng.choice(_NATIONS), None),
        "nation_woman": (f"{rng.choice(_NATIONS)} woman", None),
        "nation_plural": (f"{rng.choice(_NATIONS)}s", None),
        "day_of_week": (rng.choice(["Monday", "Friday", "Sunday"]), None),
        "year": (str(rng.randint(1950, 2024)), None),
    }
    if slot in table:
        return table[slot]
    return "".join(str(rng.randint(0, 9)) for _ in range(rng.randint(6, 16))), None


def generate_examples(n: int, seed: int, test: bool = False) -> list[NerExample]:
    """``n`` template sentences with train (``test=False``) or held-out FakeNameGenerator rows."""
    rng = random.Random(seed)
    people = [w for i, w in enumerate(_identities()) if is_heldout(i, 0, 0.2) == test]
    templates = _templates()
    out: list[NerExample] = []
    for _ in range(n):
        template, who = rng.choice(templates), rng.choice(people)
        parts: list[str] = []
        spans: list[tuple[int, int, str]] = []
        pos, last = 0, 0
        for m in _SLOT_RE.finditer(template):
            parts.append(template[last : m.start()])
            pos += m.start() - last
            value, label = _fill(m.group(1), who, rng)
            if label is not None and value:
                spans.append((pos, pos + len(value), label))
            parts.append(value)
            pos += len(value)
            last = m.end()
        parts.append(template[last:])
        out.append(NerExample("".join(parts), tuple(spans)))
    return out


def conll_examples(names: tuple[str, ...] = TRAIN_CONLL) -> list[NerExample]:
    """All training CoNLL corpora (never the WNUT-17 dev set unless asked by name)."""
    return [ex for name in names for ex in read_conll(DATA_DIR / "ner" / name)]
