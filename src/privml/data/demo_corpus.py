"""A seeded synthetic "private" e-mail corpus with planted fake PII and canaries.

Output files in ``out_dir``:

``corpus.jsonl``
    ``{"user_id": "u00042", "text": "..."}`` one message per line. Order: users in id order,
    each user's messages in the order they were generated (canary messages inserted at random
    positions among them). There is no global shuffle: record ``i`` in ``pii_labels.jsonl`` is
    simply line ``i`` (0-based) of this file, and each user's messages are contiguous.
``pii_labels.jsonl``
    one line per planted PII occurrence, in text order within a record:
    ``{"record": <0-based line index>, "type": "PERSON", "value": "Maria Lopez"}``; ``value`` is
    the exact substring of that record's text.
``canaries.json``
    a list of ``{"user_id", "prefix", "secret", "repetitions"}``; the canary user has
    ``repetitions`` extra messages whose whole text is exactly ``f"{prefix} {secret}"``.

Everything comes from ``random.Random`` generators seeded from ``seed``, so the same arguments
give byte-identical files. That includes the canary secrets: this corpus is synthetic test data
whose only purpose is to measure memorisation, the secrets protect nothing, and an auditor must be
able to regenerate the exact corpus. (DP noise elsewhere in privml uses a secure source instead.)

All names, addresses and numbers are fake: names are random pairings from public name lists,
e-mail domains are ``example.*``, card numbers merely pass the Luhn check, and so on. The
value generators live in :mod:`privml.data.fake_pii`.
"""

from __future__ import annotations

import numbers
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from random import Random

from privml import atomic
from privml.data import templates as T
from privml.data.fake_pii import Faker

CANARY_PREFIXES: list[str] = [
    # Every word is in the public tokenizer's vocabulary, so no two prefixes collapse to the
    # same tokens through [UNK] (a canary is then attackable only through its own prefix).
    "my bank pin is",
    "the safe combination is",
    "my account number is",
    "my membership number is",
    "my secret number is",
    "the door number is",
    "the key number is",
    "the office number is",
    "my private number is",
    "the lock combination is",
    "my security number is",
    "my personal number is",
]

PII_TYPES: tuple[str, ...] = (
    "PERSON",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "US_SSN",
    "CREDIT_CARD",
    "STREET_ADDRESS",
    "IP_ADDRESS",
    "IBAN_CODE",
)

# Per-message probabilities of the three ways a message gets PII. Together roughly 35% of
# ordinary messages carry at least one planted value.
P_NAMED_GREETING = 0.05
P_SIGNATURE = 0.10
P_PII_SENTENCE = 0.25
P_SECOND_PII_SENTENCE = 0.2  # given one PII sentence
P_OWN_PREFERENCE = 0.7  # chance a personal slot uses the user's own preferred values
P_KNOWN_CONTACT = 0.75  # chance {PERSON} is one of the user's contacts, not a stranger
MIN_WORDS, MAX_WORDS = 15, 60


@dataclass
class DemoCorpus:
    corpus_path: Path
    labels_path: Path
    canaries_path: Path
    records: int
    users: int
    pii_counts: dict[str, int]
    canaries: list[dict] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Templates
# ---------------------------------------------------------------------------------------------
def _compile(template: str) -> tuple[str, ...]:
    """Split a template into alternating literal / slot-name parts (literal first)."""
    return tuple(re.split(r"\{(\w+)\}", template))


@lru_cache(maxsize=1)
def _compiled() -> dict:
    return {
        "greetings": [_compile(g) for g in T.GREETINGS],
        "named_greetings": [_compile(g) for g in T.NAMED_GREETINGS],
        "categories": list(T.BODY_TEMPLATES),
        "body": {c: [_compile(t) for t in ts] for c, ts in T.BODY_TEMPLATES.items()},
        "pii_groups": list(T.PII_TEMPLATES),
        "pii_cum": _cumulative([T.PII_WEIGHTS[g] for g in T.PII_TEMPLATES]),
        "pii": {g: [_compile(t) for t in ts] for g, ts in T.PII_TEMPLATES.items()},
    }


def _cumulative(weights: list[float]) -> list[float]:
    out, total = [], 0.0
    for w in weights:
        total += w
        out.append(total)
    return out


# ---------------------------------------------------------------------------------------------
# Users
# ---------------------------------------------------------------------------------------------
@dataclass
class _Contact:
    name: str
    email: str
    phone: str


@dataclass
class _User:
    user_id: str
    name: str
    email: str
    phone: str
    address: str
    ssn: str
    card: str
    iban: str
    contacts: list[_Contact]
    prefs: dict[str, list[str]]
    greeting: tuple[str, ...]
    closing: str
    category_cum: list[float]


def _make_contact(fake: Faker) -> _Contact:
    name = fake.name()
    return _Contact(name, fake.email(name), fake.phone())


def _make_user(uid: str, rng: Random, fake: Faker) -> _User:
    comp = _compiled()
    name = fake.name()
    favourite = set(rng.sample(comp["categories"], 3))
    weights = [4.0 if c in favourite else 1.0 for c in comp["categories"]]
    return _User(
        user_id=uid,
        name=name,
        email=fake.email(name),
        phone=fake.phone(),
        address=fake.address(),
        ssn=fake.ssn(),
        card=fake.card(),
        iban=fake.iban(),
        contacts=[_make_contact(fake) for _ in range(rng.randint(2, 5))],
        prefs={s: rng.sample(T.SLOTS[s], k) for s, k in T.PERSONAL_SLOTS.items()},
        greeting=rng.choice(comp["greetings"]),
        closing=rng.choice(T.CLOSINGS),
        category_cum=_cumulative(weights),
    )


# Which attribute (of the slot's contact, of the user, or which Faker method) fills a PII slot.
_CONTACT_FIELDS = {"PERSON": "name", "PERSON_EMAIL": "email", "PERSON_PHONE": "phone"}
_USER_FIELDS = {
    "MY_NAME": "name",
    "MY_EMAIL": "email",
    "MY_PHONE": "phone",
    "MY_ADDRESS": "address",
    "MY_SSN": "ssn",
    "MY_CARD": "card",
    "MY_IBAN": "iban",
}
_FAKE_VALUES = {"PHONE": "phone", "ADDRESS": "address", "IP": "ip"}


class _Renderer:
    """Fills compiled templates for one user, collecting (type, value) labels."""

    def __init__(self, user: _User, rng: Random, fake: Faker):
        self.user, self.rng, self.fake = user, rng, fake

    def contact(self) -> _Contact:
        if self.rng.random() < P_KNOWN_CONTACT:
            return self.rng.choice(self.user.contacts)
        return _make_contact(self.fake)

    def render(self, parts: tuple[str, ...], labels: list[tuple[str, str]]) -> str:
        rng, user = self.rng, self.user
        out = [parts[0]]
        person: _Contact | None = None
        for i in range(1, len(parts), 2):
            slot = parts[i]
            if slot in T.SLOT_TYPES:
                if slot in _CONTACT_FIELDS and person is None:
                    person = self.contact()
                value = self._pii(slot, person)
                labels.append((T.SLOT_TYPES[slot], value))
            elif slot == "amount":
                value = self._amount()
            elif slot == "order":
                value = str(
                    rng.randrange(10 ** (T.ORDER_NUMBER_DIGITS - 1), 10**T.ORDER_NUMBER_DIGITS)
                )
            elif slot in user.prefs and rng.random() < P_OWN_PREFERENCE:
                value = rng.choice(user.prefs[slot])
            else:
                value = rng.choice(T.SLOTS[slot])
            out.append(value)
            out.append(parts[i + 1])
        return "".join(out)

    def _pii(self, slot: str, person: _Contact | None) -> str:
        if slot in _CONTACT_FIELDS:
            return getattr(person, _CONTACT_FIELDS[slot])
        if slot in _USER_FIELDS:
            return getattr(self.user, _USER_FIELDS[slot])
        fake = self.fake
        if slot == "EMAIL":
            return self.contact().email if self.rng.random() < 0.5 else fake.email(fake.name())
        if slot in _FAKE_VALUES:
            return getattr(fake, _FAKE_VALUES[slot])()
        raise KeyError(slot)  # pragma: no cover

    def _amount(self) -> str:
        r = self.rng
        if r.random() < 0.6:
            return str(r.randrange(2, 100) * 5)
        return f"{r.randrange(1, 10)},{r.randrange(0, 20) * 50:03d}"


def _message(user: _User, rng: Random, rend: _Renderer) -> tuple[str, list[tuple[str, str]]]:
    comp = _compiled()
    labels: list[tuple[str, str]] = []

    if rng.random() < P_NAMED_GREETING:
        greeting = rend.render(rng.choice(comp["named_greetings"]), labels)
    elif rng.random() < P_OWN_PREFERENCE:
        greeting = rend.render(user.greeting, labels)
    else:
        greeting = rend.render(rng.choice(comp["greetings"]), labels)

    category = rng.choices(comp["categories"], cum_weights=user.category_cum)[0]
    pool = comp["body"][category]
    n_body = rng.randint(1, 4)
    order = rng.sample(range(len(pool)), len(pool))
    chosen = order[:n_body]
    spare = order[n_body:]

    pii_parts: list[tuple[str, ...]] = []
    if rng.random() < P_PII_SENTENCE:
        n_pii = 2 if rng.random() < P_SECOND_PII_SENTENCE else 1
        groups = rng.choices(comp["pii_groups"], cum_weights=comp["pii_cum"], k=n_pii)
        pii_parts = [rng.choice(comp["pii"][g]) for g in groups]

    def sentence(parts: tuple[str, ...], is_pii: bool) -> tuple[bool, str, list]:
        labs: list[tuple[str, str]] = []
        s = rend.render(parts, labs)
        return is_pii, s[0].upper() + s[1:], labs

    # Body: ordinary sentences with the PII sentences inserted at random positions.
    body = [sentence(pool[i], False) for i in chosen]
    for p in pii_parts:
        body.insert(rng.randint(0, len(body)), sentence(p, True))

    closing = rng.choice(T.CLOSINGS) if rng.random() >= P_OWN_PREFERENCE else user.closing
    if rng.random() < P_SIGNATURE:
        closing_labels = [("PERSON", user.name)]
        closing = f"{closing} {user.name}"
    else:
        closing_labels = []

    def n_words() -> int:
        return sum(len(x.split()) for x in (greeting, closing, *(t for _, t, _ in body)))

    while n_words() < MIN_WORDS and spare:
        body.append(sentence(pool[spare.pop()], False))
    while n_words() > MAX_WORDS and sum(not is_pii for is_pii, _, _ in body) > 1:
        del body[max(i for i, (is_pii, _, _) in enumerate(body) if not is_pii)]

    text = " ".join([greeting, *(t for _, t, _ in body), closing])
    for _, _, labs in body:
        labels.extend(labs)
    labels.extend(closing_labels)
    return text, labels


# ---------------------------------------------------------------------------------------------
# Public entry point
# ---------------------------------------------------------------------------------------------
def _check_args(users, canaries_per_level, repetitions, messages_per_user) -> None:
    if isinstance(users, bool) or not isinstance(users, numbers.Integral) or users < 1:
        raise ValueError(f"users must be an integer >= 1, got {users!r}")
    if (
        isinstance(canaries_per_level, bool)
        or not isinstance(canaries_per_level, int)
        or canaries_per_level < 0
    ):
        raise ValueError(f"canaries_per_level must be an integer >= 0, got {canaries_per_level!r}")
    for r in repetitions:
        if isinstance(r, bool) or not isinstance(r, int) or r < 1:
            raise ValueError(f"every repetition level must be an integer >= 1, got {r!r}")
    lo, hi = messages_per_user
    if not (isinstance(lo, int) and isinstance(hi, int) and 1 <= lo <= hi):
        raise ValueError(f"messages_per_user must be (lo, hi) with 1 <= lo <= hi, got {lo, hi}")
    total = canaries_per_level * len(repetitions)
    if total > len(CANARY_PREFIXES):
        raise ValueError(
            f"{total} canaries requested but only {len(CANARY_PREFIXES)} distinct prefixes exist"
        )
    if total > users:
        raise ValueError(f"{total} canaries requested but there are only {users} users")


def generate_demo_corpus(
    out_dir: str | Path,
    users: int = 2000,
    seed: int = 0,
    canaries_per_level: int = 3,
    repetitions: tuple[int, ...] = (1, 4, 16),
    messages_per_user: tuple[int, int] = (1, 3),
) -> DemoCorpus:
    """Write the synthetic corpus, its PII labels and its canaries to ``out_dir``.

    Same arguments -> byte-identical files. Nothing private is printed or logged.
    """
    repetitions = tuple(repetitions)
    _check_args(users, canaries_per_level, repetitions, messages_per_user)
    users = int(users)
    out = Path(out_dir)

    # Separate streams, so that e.g. changing messages_per_user does not move the canaries.
    rng = Random(f"privml-demo-corpus:{seed}:messages")
    canary_rng = Random(f"privml-demo-corpus:{seed}:canaries")
    fake = Faker(Random(f"privml-demo-corpus:{seed}:pii"))

    total = canaries_per_level * len(repetitions)
    canary_users = canary_rng.sample(range(users), total)
    prefixes = canary_rng.sample(CANARY_PREFIXES, total)
    secrets_seen: set[int] = set()
    canaries: list[dict] = []
    for k in range(total):
        while True:
            n = canary_rng.randrange(10**9)
            if n not in secrets_seen:
                secrets_seen.add(n)
                break
        digits = f"{n:09d}"
        canaries.append(
            {
                "user_id": _uid(canary_users[k]),
                "prefix": prefixes[k],
                "secret": f"{digits[:3]} {digits[3:6]} {digits[6:]}",
                "repetitions": repetitions[k // canaries_per_level],
            }
        )
    canaries_by_user = {c["user_id"]: c for c in canaries}

    rows: list[dict] = []
    label_rows: list[dict] = []
    pii_counts = dict.fromkeys(PII_TYPES, 0)
    lo, hi = messages_per_user
    for u in range(users):
        uid = _uid(u)
        user = _make_user(uid, rng, fake)
        rend = _Renderer(user, rng, fake)
        msgs = [_message(user, rng, rend) for _ in range(rng.randint(lo, hi))]
        canary = canaries_by_user.get(uid)
        if canary is not None:
            text = f"{canary['prefix']} {canary['secret']}"
            for _ in range(canary["repetitions"]):
                msgs.insert(canary_rng.randint(0, len(msgs)), (text, []))
        for text, labs in msgs:
            idx = len(rows)
            rows.append({"user_id": uid, "text": text})
            for typ, value in labs:
                label_rows.append({"record": idx, "type": typ, "value": value})
                pii_counts[typ] += 1

    corpus_path = atomic.write_jsonl(out / "corpus.jsonl", rows)
    labels_path = atomic.write_jsonl(out / "pii_labels.jsonl", label_rows)
    canaries_path = atomic.write_json(out / "canaries.json", canaries)
    return DemoCorpus(
        corpus_path=corpus_path,
        labels_path=labels_path,
        canaries_path=canaries_path,
        records=len(rows),
        users=users,
        pii_counts=pii_counts,
        canaries=canaries,
    )


def _uid(i: int) -> str:
    return f"u{i:05d}"
