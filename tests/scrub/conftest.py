"""Shared fixtures of the scrubber tests."""

from __future__ import annotations

import json

import pytest

from privml.data.demo_corpus import generate_demo_corpus

EDGE_TEXTS = [
    "Server 10.0.0.12 and fe80::1ff:fe23:4567:890a, also ::ffff:192.0.2.128 and 2001:db8::/32.",
    "Meet at 10:30 at 12 Oak Street; my SSN is 123-45-6789, phone: 212-555-0142.",
    "Ship to 45 W. 5th Ave, Apt 2, Springfield, IL 62704 (call +1 415 555 0199 x12).",
    "card 4111 1111 1111 1111, iban GB82 WEST 1234 5698 7654 32, mail anna.berg@example.com",
    "no digits here at all, Anna Berg",
    "",
]


@pytest.fixture(scope="session")
def demo_texts(tmp_path_factory) -> list[str]:
    """The texts of a small seeded demo corpus (names, phones, SSNs, cards, IPs, addresses ...)
    plus hand-made edge cases."""
    out = tmp_path_factory.mktemp("demo")
    generate_demo_corpus(out, users=300, seed=4)
    with open(out / "corpus.jsonl", encoding="utf-8") as fh:
        return [json.loads(line)["text"] for line in fh] + EDGE_TEXTS
