"""Fake identity values for the demo corpus: names, e-mail addresses, phone numbers, SSNs,
card numbers, IBANs, street addresses and private IP addresses, plus the Luhn and IBAN checks.

Every value is fake: names are random pairings from public name lists (never a "Capitalised
Capitalised" pair that occurs in the public corpus), e-mail domains are ``example.*``, card
numbers merely pass the Luhn check, phone exchanges and SSNs avoid reserved or famous ones, and
IP addresses are in private ranges. ``Faker`` draws each value from one seeded ``random.Random``,
never repeating a value, so a given seed always yields the same sequence.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from random import Random

from privml.data import templates as T

# ---------------------------------------------------------------------------------------------
# Name pools and the public vocabulary
# ---------------------------------------------------------------------------------------------
_NAME_RE = re.compile(r"^[A-Z][a-z]+$")


def _resource(*parts: str):
    node = resources.files("privml") / "resources"
    for p in parts:
        node = node / p
    return node


def _public_texts() -> list[str]:
    public = _resource("public")
    entries = sorted((e for e in public.iterdir() if e.name.endswith(".txt")), key=lambda e: e.name)
    return [e.read_text(encoding="utf-8") for e in entries]


@lru_cache(maxsize=1)
def public_vocabulary() -> tuple[frozenset[str], frozenset[str]]:
    """(lower-case words, "Capitalised Capitalised" word pairs) of the public corpus."""
    lower = re.compile(r"\b[a-z]+\b")
    pair = re.compile(r"\b([A-Z][a-z]+) (?=([A-Z][a-z]+)\b)")
    words: set[str] = set()
    pairs: set[str] = set()
    for text in _public_texts():
        words.update(lower.findall(text))
        pairs.update(f"{a} {b}" for a, b in pair.findall(text))
    return frozenset(words), frozenset(pairs)


@lru_cache(maxsize=1)
def name_pools() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Capitalised alphabetic first and last names (``Maria``, ``Lopez``).

    Names that the public corpus also uses as ordinary lower-case words ("Will", "May", "Hill",
    "Young") are left out: the artifact-hygiene scan looks for planted values case-insensitively,
    and "will hill" could otherwise turn up by chance in generated or public text.
    """
    common_words, _ = public_vocabulary()
    pools = []
    for fname in ("first_names.txt", "last_names.txt"):
        text = _resource("names", fname).read_text(encoding="utf-8")
        names = {n.strip() for n in text.splitlines()}
        pools.append(
            tuple(sorted(n for n in names if _NAME_RE.match(n) and n.lower() not in common_words))
        )
    return pools[0], pools[1]


def public_name_pairs() -> frozenset[str]:
    """Every "Capitalised Capitalised" word pair in the public corpus.

    Planted full names are drawn outside this set, so a planted value found verbatim in a model's
    output cannot have come from public pre-training text.
    """
    return public_vocabulary()[1]


# ---------------------------------------------------------------------------------------------
# Check digits
# ---------------------------------------------------------------------------------------------
def luhn_check_digit(digits: str) -> str:
    """The Luhn check digit to append to ``digits``."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:  # these positions are doubled once the check digit is appended
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    digits = [c for c in number if c.isdigit()]
    return len(digits) >= 2 and luhn_check_digit("".join(digits[:-1])) == digits[-1]


def iban_check_digits(country: str, bban: str) -> str:
    rearranged = bban + country + "00"
    numeric = "".join(str(int(c, 36)) for c in rearranged)
    return f"{98 - int(numeric) % 97:02d}"


def iban_valid(iban: str) -> bool:
    s = iban.replace(" ", "")
    numeric = "".join(str(int(c, 36)) for c in s[4:] + s[:4])
    return int(numeric) % 97 == 1


# ---------------------------------------------------------------------------------------------
# Generator
# ---------------------------------------------------------------------------------------------
_BAD_EXCHANGES = {f"{d}11" for d in range(2, 10)} | {"555", "950", "958", "959", "976"}
_BAD_SSNS = {"123456789", "987654320", "078051120", "219099999"}


class Faker:
    """Draws unique fake values from one seeded generator."""

    def __init__(self, rng: Random):
        self.rng = rng
        self.first, self.last = name_pools()
        self.public_pairs = public_name_pairs()
        self.used: set[str] = set()

    def _unique(self, make) -> str:
        for _ in range(1000):
            v = make()
            if v not in self.used:
                self.used.add(v)
                return v
        raise RuntimeError("could not draw a unique fake value")  # pragma: no cover

    def name(self) -> str:
        def make():
            while True:
                v = f"{self.rng.choice(self.first)} {self.rng.choice(self.last)}"
                if v not in self.public_pairs:
                    return v

        return self._unique(make)

    def email(self, name: str) -> str:
        first, last = name.lower().split()
        r = self.rng

        def make():
            style = r.randrange(6)
            if style == 0:
                local = f"{first}.{last}"
            elif style == 1:
                local = f"{first}{last}"
            elif style == 2:
                local = f"{first[0]}.{last}"
            elif style == 3:
                local = f"{first}_{last}"
            elif style == 4:
                local = f"{first}.{last}{r.randrange(10, 100)}"
            else:
                local = f"{last}.{first}"
            return f"{local}@{r.choice(T.EMAIL_DOMAINS)}"

        return self._unique(make)

    def phone(self) -> str:
        r = self.rng

        def make():
            area = r.choice(T.US_AREA_CODES)
            while True:
                exch = str(r.randrange(200, 1000))
                if exch not in _BAD_EXCHANGES:
                    break
            line = f"{r.randrange(10000):04d}"
            style = r.randrange(3)
            if style == 0:
                return f"({area}) {exch}-{line}"
            if style == 1:
                return f"{area}-{exch}-{line}"
            return f"{area}.{exch}.{line}"

        return self._unique(make)

    def ssn(self) -> str:
        r = self.rng

        def make():
            while True:
                area = r.randrange(1, 900)
                if area == 666:
                    continue
                digits = f"{area:03d}{r.randrange(1, 100):02d}{r.randrange(1, 10000):04d}"
                if digits in _BAD_SSNS or len(set(digits)) == 1:
                    continue
                return f"{digits[:3]}-{digits[3:5]}-{digits[5:]}"

        return self._unique(make)

    def card(self) -> str:
        r = self.rng

        def make():
            if r.random() < 0.5:
                body = "4" + "".join(str(r.randrange(10)) for _ in range(14))
            else:
                body = f"5{r.randrange(1, 6)}" + "".join(str(r.randrange(10)) for _ in range(13))
            digits = body + luhn_check_digit(body)
            groups = [digits[i : i + 4] for i in range(0, 16, 4)]
            style = r.randrange(3)
            return " ".join(groups) if style == 0 else "-".join(groups) if style == 1 else digits

        return self._unique(make)

    def iban(self) -> str:
        r = self.rng

        def make():
            if r.random() < 0.5:
                country = "GB"
                bban = r.choice(T.GB_BANK_CODES) + "".join(str(r.randrange(10)) for _ in range(14))
            else:
                country = "DE"
                bban = "".join(str(r.randrange(10)) for _ in range(18))
            iban = country + iban_check_digits(country, bban) + bban
            if r.random() < 0.6:
                return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
            return iban

        return self._unique(make)

    def address(self) -> str:
        r = self.rng

        def make():
            v = f"{r.randrange(1, 9900)} {r.choice(T.STREET_NAMES)} {r.choice(T.STREET_SUFFIXES)}"
            if r.random() < 0.4:
                v += f", {r.choice(T.TOWNS)}"
            return v

        return self._unique(make)

    def ip(self) -> str:
        r = self.rng

        def make():
            kind = r.randrange(3)
            if kind == 0:
                return f"10.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}"
            if kind == 1:
                return f"192.168.{r.randrange(256)}.{r.randrange(1, 255)}"
            return f"172.{r.randrange(16, 32)}.{r.randrange(256)}.{r.randrange(1, 255)}"

        return self._unique(make)
