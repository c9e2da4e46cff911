"""PERSON detection from name lists (gazetteers), as a Presidio recognizer.

No NER model is available offline, so person names are found with rules over capitalised tokens:

* ``First Last``: a given name from ``first_names.txt`` followed (same line, spaces only) by a
  capitalised surname. Score ``SCORE_LISTED`` if the surname is in ``last_names.txt``, else
  ``SCORE_UNLISTED`` when it is merely capitalised and not a stop word. An optional middle initial
  (``John F. Kennedy``) and a third listed surname (``Maria Lopez Garcia``) extend the span;
  hyphenated and ``O'Brien``/``McDonald`` style surnames are single tokens.
* Given names that are also common words or places (``May``, ``Will``, ``Grace``, ``Austin``)
  only start a ``First Last`` name when the surname is listed.
* ``Mr./Mrs./Ms./Dr. Name [Name]``: the name tokens after the title (the title itself is kept in
  the text).
* A lone given name only after a context word: strong ones (``Hi``, ``Hello``, ``Dear``,
  ``Thanks``) accept any listed given name, weak ones (``with``, ``from``, ``met``, ``told``,
  ``asked``, ``call``) only unambiguous ones. Lone names elsewhere are ignored.
* A capitalised phrase right after a determiner ("the Summer Sale", "our Grace Period") is not
  a name.
* Propagation: once a text contains a detected name, later bare mentions of its given name or
  listed surname in the same text (``... Lopez said``) are tagged too.

Everything is one regex pass over capitalised tokens plus set look-ups.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from importlib.resources import files

from presidio_analyzer import (
    AnalysisExplanation,
    EntityRecognizer,
    LocalRecognizer,
    RecognizerResult,
)
from presidio_analyzer.nlp_engine import NlpArtifacts

SCORE_LISTED = 0.85  # given name + listed surname, or title + listed name
SCORE_AMBIGUOUS = 0.7  # ambiguous given name (May, Grace) + listed surname
SCORE_TITLE = 0.7  # title + capitalised unlisted name
SCORE_UNLISTED = 0.6  # given name + capitalised, unlisted, non-stop word
SCORE_LONE_STRONG = 0.65  # "Hi Anna"
SCORE_LONE_WEAK = 0.55  # "with Anna"
SCORE_PROPAGATED = 0.55  # a later bare mention of a detected name

# A capitalised token: "Anna", "McDonald", "O'Brien", "DeShawn", "Lopez-Garcia". All-caps words
# ("IBM", "USA") and words glued to letters/digits are not tokens. A trailing possessive "'s" is
# left out of the token.
_CAP = r"[A-Z][a-z]*(?:['\u2019]?[A-Z][a-z]+)*"
_TOKEN_RE = re.compile(rf"(?<![\w@.\-'\u2019])(?:{_CAP})(?:-{_CAP})*(?![\w@\-])")
_SPACES_RE = re.compile(r"[ \t\u00a0]+")
# After a title or a middle initial: "Mr. Lee", "Mr Lee", "John F. Kennedy".
_DOT_GAP_RE = re.compile(r"\.?[ \t\u00a0]+")
# A determiner right before a capitalised phrase: "the Summer Sale", "a Grace Period".
_DETERMINER_RE = re.compile(
    r"(?<![\w'])(?:[Tt]he|[Aa]n?|[Tt]his|[Tt]hat|[Tt]hese|[Tt]hose|[Oo]ur|[Yy]our|[Tt]heir|[Ii]ts)"
    r"[ \t\u00a0]+$"
)
# Text allowed between a context word and a lone name: "Hi Anna", "Thanks, Anna", "Thanks,\nAnna".
_TRIGGER_RE = re.compile(r"(?<![\w'])([A-Za-z]+)[ \t\u00a0]*[,:;!]?[ \t\u00a0]*\n?[ \t\u00a0]*$")

TITLES = frozenset({"Mr", "Mrs", "Ms", "Miss", "Mx", "Dr", "Prof", "Sir", "Madam", "Mister"})

STRONG_TRIGGERS = frozenset({"hi", "hello", "hey", "dear", "thanks", "thank", "cheers", "regards"})
WEAK_TRIGGERS = frozenset({"with", "from", "met", "told", "asked", "call", "ask", "tell", "cc"})

_WEEKDAYS = """
Monday Tuesday Wednesday Thursday Friday Saturday Sunday Mon Tue Tues Wed Thu Thur Thurs Fri Sat Sun
"""
_MONTHS = """
January February March April May June July August September October November December Jan Feb Mar
Apr Jun Jul Aug Sep Sept Oct Nov Dec
"""
_DAYS_MONTHS = _WEEKDAYS + _MONTHS
WEEKDAYS = frozenset(_WEEKDAYS.split())

# Capitalised words that are never a surname (nor the second token of a name).
_STOP_EXTRA = """
I I'm I'll I've I'd A An The This That These Those There Here Hi Hello Hey Dear Thanks Thank
Please Regards Best Kind Warm Warmest Sincerely Cheers Yours Truly Many Much Team Office Inc Corp
Co Ltd Llc Company University College School Hospital Clinic Bank Group Department Dept Center
Centre Institute Foundation Association Committee Council Board Club Church Street St Avenue Ave
Road Rd Boulevard Blvd Lane Ln Drive Dr Court Ct Way Place Pl Terrace Circle Parkway Highway Hwy
Square Trail Plaza North South East West Mr Mrs Ms Miss Mx Prof Sir Madam Ok Okay Yes No Sorry Also
Just Great Good Morning Afternoon Evening Night Today Tomorrow Yesterday Tonight Meeting Project
Report Update Re Fwd Fw Subject Sent From To Cc Bcc Attached Attachment Happy Birthday Christmas
Easter Thanksgiving Holiday Holidays New Year Years Day Days Week Weeks Month Months Let Lets Can
Could Would Should Will Shall Did Does Do Is Are Was Were Have Has Had If When What Where Which Who
Why How And But Or So Not As At By For In Of On With About After Before Since Until While Our Your
My His Her Their Its All Any Each Every Some Love Hope Welcome Congratulations Congrats Note Notes
Agenda Minutes Call Email Mail Phone Inbox Sales Marketing Finance Support Services
Service Management Manager Director President Ceo Cfo Cto Vice Senior Junior Jr Sr Ii Iii Iv Esq
Phd Md Security Number Card Account
"""

# Given names that are also common words, months or places: they only start a "First Last" name
# whose surname is listed, and only strong context words make them a lone name.
_AMBIGUOUS_FIRST = """
Abbot Al Ally Alpha Alter Amber Amity Angel April Arlington Art Ash Ashland August Austin Autumn
Barbette Barr Bay Bear Beck Bee Bell Bill Bird Bishop Blessing Bliss Bob Bonny Boston Brandy Bride
Bristol Brook Brooklyn Brooks Buck Bud Camden Camel Cameo Candy Carolina Carry Carter Case Cat
Chance Chariot Charity Chase Chastity Chelsea Cherish Cherry Chester Chip Christian Chuck Clay
Cliff Clinton Constance Coral Crystal Daisy Dakota Dale Dallas Dawn Del Dell Denver Deny Destiny
Devon Dew Diamond Don Dot Dove Dover Dream Drew Duke Dusty Earl Easter Ebony Ed Eden Else Em Er
Essence Eve Fairview Faith Fan Fancy Fawn Fidelity Flint Florence Flower Forest Fortune Fox Frank
Franklin Gale Garland Gates Gay Gene Georgetown Georgia Gill Ginger Glad Glory Goldie Goose Grace
Grant Gray Greenville Grey Grove Gunner Guy Hall Hamlet Happy Harmony Harry Hasty Haven Heather
Heaven Heavenly Hill Holly Honey Honor Hope Houston Hunt Hunter Iris Israel Ivy Jack Jackson Jade
Jan Jefferson Jewel Job Jordan Journey Joy June Junior Justice Kent Kin King Kitty La Lamb Lance
Lane Lark Lay Legend Lily Lincoln Lion London Love Lucky Lust Madison Major Mark Marry Marshal
Marshall Max May Mayor Melody Memphis Mercy Merrily Merry Miles Milton Miracle Misty Modesty Moe
Nettle Nil Noble Norman Nova Oral Orlando Oxford Pace Page Paris Park Pat Patience Pearl Pen Penny
Phoenix Pierce Porter Precious Price Prince Princess Prudence Puff Rabbi Rain Ram Ransom Raven Ray
Red Reed Reign Rice Rich River Riverside Rob Rock Rocky Rod Rose Row Royal Royalty Ruby Rusty Sage
Saint Salem Sandy Saw Say Scarlet Scott See Serenity Sergeant Shadow Shell Shepherd Sierra Skip Sky
Sly Sol Son Sonny Springfield Star Sterling Stern Steward Sting Storey Storm Stormy Sue Summer
Sunny Sunshine Sydney Tad Tailor Temperance Temple Thorn Thorny Tore Town Trace Trinity Trip
Tuesday Urban Vail Van Velvet Verge Verity Victoria Violet Virginia Von Wade Wait Wake Walker Ward
Ware Warren Wash Washington Way Web West Whit Will Willow Wilt Win Windy Winter Wit Witty Wolf Wood
Woody Worth Worthy Wren Yard Zion
"""

# Given names that never start a name: they are (almost) only function words.
_NEVER_FIRST = frozenset({"Else", "Say", "See", "So", "An", "In", "Do", "Go", "To", "Er", "Em"})


def _spacy_stop_words() -> set[str]:
    try:
        from spacy.lang.en.stop_words import STOP_WORDS
    except ImportError:  # pragma: no cover - spaCy is a dependency of presidio-analyzer
        return set()
    return {w.capitalize() for w in STOP_WORDS if w.isalpha()}


STOP_WORDS: frozenset[str] = frozenset(
    set(_STOP_EXTRA.split()) | set(_DAYS_MONTHS.split()) | _spacy_stop_words()
)
AMBIGUOUS_FIRST: frozenset[str] = frozenset(
    set(_AMBIGUOUS_FIRST.split()) | set(_DAYS_MONTHS.split()) | (STOP_WORDS - TITLES)
)


def _read_names(filename: str) -> frozenset[str]:
    resource = files("privml") / "resources" / "names" / filename
    text = resource.read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


@lru_cache(maxsize=1)
def load_name_lists() -> tuple[frozenset[str], frozenset[str]]:
    """(given names, surnames) from the package's name lists, cached."""
    first = _read_names("first_names.txt") - _NEVER_FIRST
    last = _read_names("last_names.txt") - STOP_WORDS
    return first, last


def recognizer_result(
    recognizer: EntityRecognizer, entity: str, start: int, end: int, score: float, why: str
) -> RecognizerResult:
    """A Presidio result that names the recognizer and says why (shared by our recognizers)."""
    return RecognizerResult(
        entity_type=entity,
        start=start,
        end=end,
        score=score,
        analysis_explanation=AnalysisExplanation(
            recognizer=recognizer.name, original_score=score, textual_explanation=why
        ),
        recognition_metadata={
            RecognizerResult.RECOGNIZER_NAME_KEY: recognizer.name,
            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: recognizer.id,
        },
    )


class NameListRecognizer(LocalRecognizer):
    """Presidio recognizer for ``PERSON`` based on given-name and surname lists (see module doc)."""

    ENTITY = "PERSON"

    def __init__(
        self,
        first_names: frozenset[str] | None = None,
        last_names: frozenset[str] | None = None,
        supported_language: str = "en",
        name: str = "NameListRecognizer",
    ) -> None:
        self._first_override = first_names
        self._last_override = last_names
        # Scores are set here, not by Presidio's context enhancer: no context words.
        super().__init__(
            supported_entities=[self.ENTITY],
            name=name,
            supported_language=supported_language,
            context=[],
        )

    def load(self) -> None:  # noqa: D102
        first, last = load_name_lists()
        self.first_names = self._first_override if self._first_override is not None else first
        self.last_names = self._last_override if self._last_override is not None else last

    # -- helpers over the token list ---------------------------------------------------------

    def _is_first(self, word: str) -> bool:
        """A listed given name; for hyphenated ones ("Jean-Luc") the first part is listed."""
        if word in self.first_names:
            return True
        return "-" in word and word.split("-", 1)[0] in self.first_names

    @staticmethod
    def _is_surname(word: str) -> bool:
        """Capitalised and not a stop word / initial: can be the second token of a name."""
        return len(word) > 1 and word not in STOP_WORDS and word not in TITLES

    def _listed_parts(self, word: str) -> list[str]:
        """The listed surnames in ``word`` (itself, or parts of a hyphenated surname)."""
        if word in self.last_names:
            return [word]
        if "-" in word:
            return [part for part in word.split("-") if part in self.last_names]
        return []

    def find_names(self, text: str) -> list[tuple[int, int, float]]:
        """``(start, end, score)`` of person names in ``text`` (may overlap; unsorted)."""
        # Every name found starts at a title or a listed given name: most texts have neither.
        words = _TOKEN_RE.findall(text)
        if TITLES.isdisjoint(words) and self.first_names.isdisjoint(words):
            if "-" not in text or not any(self._is_first(w) for w in words if "-" in w):
                return []
        toks = [(m.start(), m.end(), m.group()) for m in _TOKEN_RE.finditer(text)]
        n = len(toks)
        if n == 0:
            return []
        is_surname, listed_parts = self._is_surname, self._listed_parts

        def adjacent(i: int, j: int, gap_re: re.Pattern[str] = _SPACES_RE) -> bool:
            return j < n and gap_re.fullmatch(text, toks[i][1], toks[j][0]) is not None

        found: list[tuple[int, int, float]] = []
        confirmed: set[str] = set()  # tokens of detected names, for propagation
        covered: set[int] = set()  # token indices inside a detected name

        def add(i: int, j: int, score: float, names: Iterable[str]) -> None:
            found.append((toks[i][0], toks[j][1], score))
            covered.update(range(i, j + 1))
            confirmed.update(w for w in names if w not in AMBIGUOUS_FIRST)

        i = 0
        while i < n:
            word = toks[i][2]
            # "Mr./Dr. Name [Name]": the name tokens after the title.
            if word in TITLES and adjacent(i, i + 1, _DOT_GAP_RE) and is_surname(toks[i + 1][2]):
                j = i + 2 if adjacent(i + 1, i + 2) and is_surname(toks[i + 2][2]) else i + 1
                words = [toks[k][2] for k in range(i + 1, j + 1)]
                known = [w for w in words if listed_parts(w) or self._is_first(w)]
                add(i + 1, j, SCORE_LISTED if known else SCORE_TITLE, known)
                i = j + 1
                continue
            if not self._is_first(word) or _DETERMINER_RE.search(
                text, max(0, toks[i][0] - 8), toks[i][0]
            ):
                i += 1
                continue
            ambiguous = word in AMBIGUOUS_FIRST
            # "First [M.] Last [Last]".
            j = i + 1
            if j < n and len(toks[j][2]) == 1:  # middle initial, "John F. Kennedy"
                if toks[j][2] != "I" and adjacent(i, j) and adjacent(j, j + 1, _DOT_GAP_RE):
                    j += 1
                linked = j > i + 1
            else:
                linked = adjacent(i, j)
            if linked and is_surname(toks[j][2]):
                surname_parts = listed_parts(toks[j][2])
                if surname_parts or not ambiguous:
                    if surname_parts:
                        score = SCORE_AMBIGUOUS if ambiguous else SCORE_LISTED
                    else:
                        score = SCORE_UNLISTED
                    if adjacent(j, j + 1) and listed_parts(toks[j + 1][2]):
                        surname_parts += listed_parts(toks[j + 1][2])
                        j += 1
                    add(i, j, score, [word, *surname_parts])
                    i = j + 1
                    continue
            # A lone given name after a context word ("Hi Anna", "with Anna").
            m = _TRIGGER_RE.search(text, max(0, toks[i][0] - 24), toks[i][0])
            if m is not None:
                trigger = m.group(1).lower()
                if trigger in STRONG_TRIGGERS and word not in WEEKDAYS:
                    add(i, i, SCORE_LONE_STRONG, [word])
                elif trigger in WEAK_TRIGGERS and not ambiguous:
                    add(i, i, SCORE_LONE_WEAK, [word])
            i += 1

        # Later bare mentions of a detected given name or listed surname.
        if confirmed:
            for k, (start, end, word) in enumerate(toks):
                if k not in covered and word in confirmed:
                    found.append((start, end, SCORE_PROPAGATED))
        return found

    def analyze(  # noqa: D102
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if entities and self.ENTITY not in entities:
            return []
        return [
            recognizer_result(self, self.ENTITY, start, end, score, "Matched name lists")
            for start, end, score in self.find_names(text)
        ]
