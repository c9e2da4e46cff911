import json
import re
from collections import Counter

import phonenumbers
import pytest

from privml.data import CANARY_PREFIXES, generate_demo_corpus, read_records
from privml.data.fake_pii import iban_valid, luhn_valid
from privml.data.fake_pii import public_vocabulary as _public_vocabulary
from privml.data.templates import BODY_TEMPLATES

FILES = ("corpus.jsonl", "pii_labels.jsonl", "canaries.json")
SECRET_RE = re.compile(r"^\d{3} \d{3} \d{3}$")


def _load(out):
    rows = [json.loads(x) for x in (out / "corpus.jsonl").read_text().splitlines()]
    labels = [json.loads(x) for x in (out / "pii_labels.jsonl").read_text().splitlines()]
    canaries = json.loads((out / "canaries.json").read_text())
    return rows, labels, canaries


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo300")
    result = generate_demo_corpus(out, users=300, seed=7)
    rows, labels, canaries = _load(out)
    return result, rows, labels, canaries


def test_determinism(tmp_path):
    a = generate_demo_corpus(tmp_path / "a", users=40, seed=3)
    b = generate_demo_corpus(tmp_path / "b", users=40, seed=3)
    c = generate_demo_corpus(tmp_path / "c", users=40, seed=4)
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (tmp_path / "a" / "corpus.jsonl").read_bytes() != (
        tmp_path / "c" / "corpus.jsonl"
    ).read_bytes()
    assert [x["secret"] for x in a.canaries] == [x["secret"] for x in b.canaries]
    assert [x["secret"] for x in a.canaries] != [x["secret"] for x in c.canaries]
    assert a.pii_counts == b.pii_counts


def test_result_matches_files(demo):
    result, rows, labels, canaries = demo
    assert result.records == len(rows)
    assert result.users == 300
    assert result.canaries == canaries
    assert sum(result.pii_counts.values()) == len(labels)
    types = Counter(x["type"] for x in labels)
    assert set(types) <= set(result.pii_counts)
    for t, n in result.pii_counts.items():
        assert n == types[t], t
    assert result.corpus_path.name == "corpus.jsonl"
    # The corpus is readable by the strict reader, with one record per line.
    assert len(read_records(result.corpus_path).records) == len(rows)


def test_users_and_message_counts(demo):
    _, rows, _, canaries = demo
    per_user = Counter(r["user_id"] for r in rows)
    assert sorted(per_user) == [f"u{i:05d}" for i in range(300)]
    extra = {c["user_id"]: c["repetitions"] for c in canaries}
    for uid, n in per_user.items():
        assert 1 <= n - extra.get(uid, 0) <= 3  # default messages_per_user=(1, 3)
    # users appear in order, each user's messages contiguous
    ids = [r["user_id"] for r in rows]
    assert ids == sorted(ids)


def test_message_length_and_style(demo):
    _, rows, _, canaries = demo
    canary_texts = {f"{c['prefix']} {c['secret']}" for c in canaries}
    lengths = [len(r["text"].split()) for r in rows if r["text"] not in canary_texts]
    assert min(lengths) >= 15 and max(lengths) <= 60
    assert all(r["text"].isascii() for r in rows)


def test_labels_occur_verbatim_in_their_record(demo):
    _, rows, labels, _ = demo
    for lab in labels:
        assert lab["value"] in rows[lab["record"]]["text"], lab["type"]
    assert set(labels[0]) == {"record", "type", "value"}


def test_pii_fraction_and_all_types_present(demo):
    _, rows, labels, _ = demo
    types = Counter(x["type"] for x in labels)
    for t in ("PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "US_SSN", "CREDIT_CARD"):
        assert types[t] > 0, t
    assert types["STREET_ADDRESS"] > 0
    frac = len({x["record"] for x in labels}) / len(rows)
    assert 0.25 <= frac <= 0.45


def test_pii_values_are_well_formed(demo):
    _, _, labels, _ = demo
    by_type = {}
    for lab in labels:
        by_type.setdefault(lab["type"], []).append(lab["value"])
    public_words, public_pairs = _public_vocabulary()
    assert "will" in public_words and "New York" in public_pairs
    for v in by_type["PERSON"]:
        assert re.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+", v), v
        assert v not in public_pairs
        assert not any(part.lower() in public_words for part in v.split()), v
    for v in by_type["CREDIT_CARD"]:
        digits = re.sub(r"[ -]", "", v)
        assert re.fullmatch(r"(4\d{15}|5[1-5]\d{14})", digits) and luhn_valid(v)
    for v in by_type["US_SSN"]:
        m = re.fullmatch(r"(\d{3})-(\d{2})-(\d{4})", v)
        assert m, v
        area, group, serial = m.groups()
        assert area not in ("000", "666") and not area.startswith("9")
        assert group != "00" and serial != "0000"
    for v in by_type["PHONE_NUMBER"]:
        assert re.fullmatch(r"\(\d{3}\) \d{3}-\d{4}|\d{3}-\d{3}-\d{4}|\d{3}\.\d{3}\.\d{4}", v)
        num = phonenumbers.parse(v, "US")
        assert phonenumbers.is_possible_number(num) and phonenumbers.is_valid_number(num), v
    assert len({v[-8:] for v in by_type["PHONE_NUMBER"]}) > 1  # not one fixed exchange
    for v in by_type["EMAIL_ADDRESS"]:
        assert re.fullmatch(r"[a-z0-9._]+@([a-z]+\.)?example\.(com|org|net)", v), v
    for v in by_type["STREET_ADDRESS"]:
        assert re.fullmatch(r"\d{1,4} [A-Z][a-z]+ [A-Z][a-z]+(, [A-Z][a-z]+)?", v), v
    for v in by_type.get("IBAN_CODE", []):
        assert iban_valid(v), v
    for v in by_type.get("IP_ADDRESS", []):
        assert all(0 <= int(x) <= 255 for x in v.split(".")) and v.count(".") == 3


def test_canaries(demo):
    _, rows, _, canaries = demo
    assert Counter(c["repetitions"] for c in canaries) == {1: 3, 4: 3, 16: 3}
    assert len({c["user_id"] for c in canaries}) == len(canaries)
    assert len({c["prefix"] for c in canaries}) == len(canaries)
    assert {c["prefix"] for c in canaries} <= set(CANARY_PREFIXES)
    texts = Counter((r["user_id"], r["text"]) for r in rows)
    all_texts = Counter(r["text"] for r in rows)
    for c in canaries:
        assert SECRET_RE.match(c["secret"]), c["secret"]
        msg = f"{c['prefix']} {c['secret']}"
        assert texts[(c["user_id"], msg)] == c["repetitions"]
        assert all_texts[msg] == c["repetitions"]  # nobody else wrote it
    # canary messages are interleaved, not all appended at the end of the user's messages
    for c in (c for c in canaries if c["repetitions"] == 16):
        texts_u = [r["text"] for r in rows if r["user_id"] == c["user_id"]]
        idx = [i for i, t in enumerate(texts_u) if t == f"{c['prefix']} {c['secret']}"]
        n = len(texts_u)
        assert idx != list(range(16)) and idx != list(range(n - 16, n))
    # no ordinary message contains a canary prefix
    canary_texts = {f"{c['prefix']} {c['secret']}" for c in canaries}
    for r in rows:
        if r["text"] not in canary_texts:
            low = r["text"].lower()
            assert not any(p in low for p in CANARY_PREFIXES)


def test_templates_never_contain_canary_prefixes():
    from privml.data import templates as T

    every = [*T.GREETINGS, *T.CLOSINGS, *sum(BODY_TEMPLATES.values(), [])]
    every += sum(T.PII_TEMPLATES.values(), [])
    assert len(sum(BODY_TEMPLATES.values(), [])) >= 60
    for t in every:
        assert not any(p in t.lower() for p in CANARY_PREFIXES), t


def test_argument_checks(tmp_path):
    with pytest.raises(ValueError, match="users"):
        generate_demo_corpus(tmp_path, users=0)
    with pytest.raises(ValueError, match="prefixes"):
        generate_demo_corpus(tmp_path, users=100, canaries_per_level=5, repetitions=(1, 2, 3))
    with pytest.raises(ValueError, match="only 2 users"):
        generate_demo_corpus(tmp_path, users=2, canaries_per_level=1, repetitions=(1, 2, 3))
    with pytest.raises(ValueError, match="messages_per_user"):
        generate_demo_corpus(tmp_path, users=5, messages_per_user=(4, 2))
    assert not (tmp_path / "corpus.jsonl").exists()


def test_no_canaries_and_single_user(tmp_path):
    r = generate_demo_corpus(tmp_path, users=1, canaries_per_level=0, messages_per_user=(2, 2))
    assert r.records == 2 and r.canaries == []
    assert json.loads((tmp_path / "canaries.json").read_text()) == []
