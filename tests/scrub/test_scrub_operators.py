"""Operators: tag, redact, pseudonymize (keyed, stable) and fake (seeded, realistic)."""

from __future__ import annotations

import pytest

from privml.scrub.base import Span, apply_spans
from privml.scrub.operators import (
    REDACTION_MASK,
    FakeOperator,
    PseudonymizeOperator,
    apply_operators,
    make_operator,
    make_operators,
)

KEY = b"k3y-for-tests-0123456789abcdef"
OTHER_KEY = b"another-key-0123456789abcdefgh"
TEXT = "Mail John Smith at john@example.com"
SPANS = [Span(5, 15, "PERSON", 0.9), Span(19, 35, "EMAIL_ADDRESS", 1.0)]


def luhn_ok(number: str) -> bool:
    digits = [int(c) for c in number if c.isdigit()][::-1]
    total = sum(
        d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(digits)
    )
    return total % 10 == 0


def test_tag_matches_apply_spans() -> None:
    assert apply_operators(TEXT, SPANS, make_operator("tag")) == apply_spans(TEXT, SPANS)
    assert apply_operators(TEXT, SPANS, make_operator("tag")).text == (
        "Mail <PERSON> at <EMAIL_ADDRESS>"
    )


def test_redact_is_a_fixed_mask() -> None:
    r = apply_operators(TEXT, SPANS, make_operator("redact"))
    assert r.text == f"Mail {REDACTION_MASK} at {REDACTION_MASK}"
    assert r.counts == {"PERSON": 1, "EMAIL_ADDRESS": 1}


def test_pseudonymize_is_keyed_and_stable() -> None:
    a = make_operator("pseudonymize", key=KEY)
    b = make_operator("pseudonymize", key=KEY)
    c = make_operator("pseudonymize", key=OTHER_KEY)
    p = a.replace("John Smith", "PERSON")
    assert p.startswith("<PERSON_") and len(p) == len("<PERSON_12345678>")
    assert b.replace("John Smith", "PERSON") == p
    assert a.replace("john  smith", "PERSON") == p  # normalised spelling
    assert c.replace("John Smith", "PERSON") != p
    assert a.replace("Jane Doe", "PERSON") != p
    assert a.replace("4111 1111 1111 1111", "CREDIT_CARD") == a.replace(
        "4111-1111-1111-1111", "CREDIT_CARD"
    )
    assert KEY.decode() not in repr(a) and KEY.hex() not in repr(a)


@pytest.mark.parametrize("key", [None, b"short"])
def test_pseudonymize_needs_a_real_key(key: bytes | None) -> None:
    with pytest.raises(ValueError, match="key"):
        make_operator("pseudonymize", key=key)


def test_unknown_operator() -> None:
    with pytest.raises(ValueError, match="unknown operator"):
        make_operator("shred")


def test_fake_is_seeded_and_consistent() -> None:
    a, b, c = FakeOperator(seed=1), FakeOperator(seed=1), FakeOperator(seed=2)
    name = a.replace("John Smith", "PERSON")
    assert name != "John Smith" and " " in name
    assert b.replace("John Smith", "PERSON") == name  # same seed, other instance
    assert a.replace("Jane Doe", "PERSON") != name
    assert c.replace("John Smith", "PERSON") != name
    # order of first appearance does not matter (seed derived per value)
    d = FakeOperator(seed=1)
    d.replace("Someone Else", "PERSON")
    assert d.replace("John Smith", "PERSON") == name


def test_fake_is_realistic() -> None:
    f = make_operator("fake", seed=0)
    for i in range(20):
        card = f.replace(f"4111 1111 1111 {1000 + i}", "CREDIT_CARD")
        assert card.isdigit() and luhn_ok(card)
        email = f.replace(f"user{i}@corp.com", "EMAIL_ADDRESS")
        assert "@" in email and "." in email.split("@")[1]
    ssn = f.replace("123-45-6789", "US_SSN")
    assert len(ssn) == 11 and ssn[3] == "-" and ssn != "123-45-6789"
    assert f.replace("10.0.0.1", "IP_ADDRESS").count(".") == 3
    assert ":" in f.replace("fe80::1", "IP_ADDRESS")
    iban = f.replace("DE89370400440532013000", "IBAN_CODE")
    assert iban[:2].isalpha() and iban[2:4].isdigit()
    assert f.replace("555-0199", "PHONE_NUMBER")
    assert f.replace("12 Main Street", "STREET_ADDRESS")[0].isdigit()
    assert f.replace("x", "SOMETHING_ELSE") == "<SOMETHING_ELSE>"  # no faker: tagged


def test_fake_with_key_differs_from_unkeyed() -> None:
    assert FakeOperator(seed=0, key=KEY).replace("John Smith", "PERSON") != FakeOperator(
        seed=0, key=OTHER_KEY
    ).replace("John Smith", "PERSON")
    assert "key" not in repr(FakeOperator(seed=0, key=KEY)).lower()


def test_per_type_operators_and_fallback() -> None:
    ops = make_operators("redact", {"PERSON": "pseudonymize"}, entities=["EMAIL_ADDRESS"], key=KEY)
    r = apply_operators(TEXT, SPANS, ops)
    assert r.text.startswith("Mail <PERSON_") and r.text.endswith(f"at {REDACTION_MASK}")
    r = apply_operators(TEXT, SPANS, {"PERSON": PseudonymizeOperator(KEY)})
    assert r.text.endswith("at <EMAIL_ADDRESS>")  # a type without operator is tagged
