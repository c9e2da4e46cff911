"""What replaces a detected value: a type tag, a mask, a keyed pseudonym or a seeded fake.

* ``tag``: ``<PERSON>`` (what ``base.apply_spans`` does).
* ``redact``: the fixed mask ``REDACTION_MASK`` (``█████``) whatever the type and length of the
  value: neither the type nor the length of the value survives, but the reader still sees that
  something was removed (an empty string would silently glue words together).
* ``pseudonymize``: ``<PERSON_3f9a1c2b>``, the first 8 hex digits of HMAC-SHA256 under a key the
  user supplies, over the entity type and the normalised value. The same value gets the same
  pseudonym across files and runs with the same key; without the key it cannot be reversed, even
  for small value spaces (SSNs). 32 bits: distinct values collide with probability ~n²/2³³.
* ``fake``: a realistic value from Faker (``en_US``), seeded per value from ``seed`` and the
  value's HMAC, so the same value gets the same fake across files and runs (same Faker version).
  Without a key, the HMAC is keyed by the seed only: whoever knows the seed can test guesses of
  the original values, so pass a key when that matters.

Operators never store, log or print the key. Values are normalised before hashing (NFKC,
case-folded, whitespace collapsed; separators dropped for numbers), so ``4111 1111 1111 1111``
and ``4111-1111-1111-1111`` map to the same replacement.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any, Protocol, runtime_checkable

from privml.scrub.base import ScrubResult, Span, tag

OPERATOR_NAMES: tuple[str, ...] = ("tag", "redact", "pseudonymize", "fake")
REDACTION_MASK = "\u2588" * 5  # █████
PSEUDONYM_HEX_CHARS = 8
MIN_KEY_BYTES = 16
FAKER_LOCALE = "en_US"

_NUMBER_TYPES = frozenset({"PHONE_NUMBER", "US_SSN", "CREDIT_CARD", "IBAN_CODE"})
_SPACES = re.compile(r"\s+")
_NOT_ALNUM = re.compile(r"[\W_]+")


@runtime_checkable
class Operator(Protocol):
    """Replaces one detected value of a given entity type."""

    name: str

    def replace(self, value: str, entity_type: str) -> str:
        """The text that stands in for ``value`` in the output."""
        ...


def normalize(value: str, entity_type: str) -> str:
    """The form of ``value`` that is hashed: equal for trivially different spellings."""
    v = _SPACES.sub(" ", unicodedata.normalize("NFKC", value)).strip().casefold()
    return _NOT_ALNUM.sub("", v) if entity_type in _NUMBER_TYPES else v


def _digest(key: bytes, value: str, entity_type: str) -> bytes:
    msg = entity_type.encode() + b"\x00" + normalize(value, entity_type).encode()
    return hmac.new(key, msg, hashlib.sha256).digest()


def check_key(key: bytes | None) -> bytes:
    """``key`` if usable as an HMAC key; the message never contains the key."""
    if key is None:
        raise ValueError("this operator needs a key (--key-file PATH or PRIVML_SCRUB_KEY)")
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"the key is too short: use at least {MIN_KEY_BYTES} bytes")
    return key


class TagOperator:
    """``<PERSON>``: the type survives, the value does not."""

    name = "tag"

    def replace(self, value: str, entity_type: str) -> str:  # noqa: D102
        return tag(entity_type)


class RedactOperator:
    """``█████``: neither the type nor the length of the value survives."""

    name = "redact"

    def replace(self, value: str, entity_type: str) -> str:  # noqa: D102
        return REDACTION_MASK


class PseudonymizeOperator:
    """``<PERSON_3f9a1c2b>``: keyed HMAC-SHA256, stable for a given key."""

    name = "pseudonymize"

    def __init__(self, key: bytes, hex_chars: int = PSEUDONYM_HEX_CHARS) -> None:
        self._key = check_key(key)
        self._hex_chars = hex_chars

    def __repr__(self) -> str:  # never show the key
        return "PseudonymizeOperator(key=<hidden>)"

    def replace(self, value: str, entity_type: str) -> str:  # noqa: D102
        digest = _digest(self._key, value, entity_type).hex()[: self._hex_chars]
        return f"<{entity_type}_{digest}>"


def _ip(fake: Any, value: str) -> str:
    return fake.ipv6() if ":" in value else fake.ipv4_public()


# One Faker provider call per entity type; types not listed fall back to the tag.
FAKERS: dict[str, Callable[[Any, str], str]] = {
    "PERSON": lambda f, v: f.name(),
    "STREET_ADDRESS": lambda f, v: f.street_address(),
    "PHONE_NUMBER": lambda f, v: f.phone_number(),
    "EMAIL_ADDRESS": lambda f, v: f.email(),  # safe=True: example.com/.net/.org domains
    "US_SSN": lambda f, v: f.ssn(),
    "CREDIT_CARD": lambda f, v: f.credit_card_number(),  # Luhn-valid
    "IBAN_CODE": lambda f, v: f.iban(),  # valid checksum
    "IP_ADDRESS": _ip,
    "LOCATION": lambda f, v: f.city(),
}


class FakeOperator:
    """A realistic Faker value, the same for the same (seed, key, value)."""

    name = "fake"

    def __init__(self, seed: int = 0, key: bytes | None = None, cache_size: int = 65536) -> None:
        from faker import Faker

        self._fake = Faker(FAKER_LOCALE)
        self._key = check_key(key) if key is not None else f"privml-fake:{seed}".encode()
        self._seed = seed
        self._cached = lru_cache(maxsize=cache_size)(self._generate)

    def __repr__(self) -> str:  # never show the key
        return f"FakeOperator(seed={self._seed})"

    def _generate(self, value: str, entity_type: str) -> str:
        make = FAKERS.get(entity_type)
        if make is None:
            return tag(entity_type)
        digest = _digest(self._key, value, entity_type)
        self._fake.seed_instance(self._seed ^ int.from_bytes(digest[:8], "big"))
        return make(self._fake, value)

    def replace(self, value: str, entity_type: str) -> str:  # noqa: D102
        return self._cached(value, entity_type)


def make_operator(name: str, *, key: bytes | None = None, seed: int = 0) -> Operator:
    """The operator called ``name`` (one of ``OPERATOR_NAMES``)."""
    if name == "tag":
        return TagOperator()
    if name == "redact":
        return RedactOperator()
    if name == "pseudonymize":
        return PseudonymizeOperator(check_key(key))
    if name == "fake":
        return FakeOperator(seed=seed, key=key)
    raise ValueError(f"unknown operator {name!r}; known: {', '.join(OPERATOR_NAMES)}")


def make_operators(
    default: str,
    per_type: Mapping[str, str] | None = None,
    *,
    entities: Sequence[str] = (),
    key: bytes | None = None,
    seed: int = 0,
) -> dict[str, Operator]:
    """``{entity_type: operator}`` for ``entities`` (and every type in ``per_type``).

    Each operator is built once and shared between the types that use it.
    """
    per_type = dict(per_type or {})
    built: dict[str, Operator] = {}
    out: dict[str, Operator] = {}
    for entity in dict.fromkeys([*entities, *per_type]):
        name = per_type.get(entity, default)
        if name not in built:
            built[name] = make_operator(name, key=key, seed=seed)
        out[entity] = built[name]
    return out


def apply_operators(
    text: str, spans: Sequence[Span], operators: Mapping[str, Operator] | Operator
) -> ScrubResult:
    """Replace each span of ``text`` by its operator's output.

    ``spans`` must be sorted and non-overlapping (as ``Scrubber.analyze`` returns them). With a
    mapping, a type without an operator is tagged (``<TYPE>``): never left in clear.
    """
    parts: list[str] = []
    pos = 0
    counts: Counter[str] = Counter()
    fallback = TagOperator()
    for span in spans:
        if isinstance(operators, Mapping):
            op = operators.get(span.entity_type, fallback)
        else:
            op = operators
        parts.append(text[pos : span.start])
        parts.append(op.replace(text[span.start : span.end], span.entity_type))
        counts[span.entity_type] += 1
        pos = span.end
    parts.append(text[pos:])
    return ScrubResult(text="".join(parts), spans=tuple(spans), counts=dict(counts))
