"""Phone numbers validated by ``phonenumbers``, without parsing text that cannot hold one.

Presidio's ``PhoneRecognizer`` runs ``phonenumbers``' matcher over the whole text once per
region. The matcher parses every number-like candidate ("4", "100", "2026" included), and that
parsing was the scrubber's costliest pattern step. ``ScoredPhoneRecognizer`` finds the same
numbers with two exact shortcuts, each checked against the plain matcher in the tests:

* it runs the matcher only over :func:`digit_windows`, the parts of the text around runs of 6+
  digits: every number ``phonenumbers`` accepts as valid has 6+ digits (the shortest is
  "+43 1234", country code included) with at most 4 punctuation characters between its digit
  groups, so it lies in one such run;
* after the first region (whose pass also finds every "+"-prefixed number), a region whose
  national numbers start with the trunk prefix 0 (GB, FR) runs only where
  :func:`national_number_possible` says a number of it can be: a digit group that starts with
  0 or with the region's country code and has enough digits after it.
"""

from __future__ import annotations

import re
from functools import cache

import phonenumbers
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import PhoneRecognizer

SSN_SHAPE = re.compile(r"\d{3}([- .])\d{2}\1\d{4}")

# A maximal run of 6+ digits, neighbours at most 4 characters apart (no newline between); an
# extension ("x 12") may follow within PHONE_WINDOW_MARGIN characters.
_DIGIT_RUN = re.compile(r"\d(?:[^\d\n]{0,4}\d){5,}")
PHONE_WINDOW_MARGIN = (16, 32)  # characters kept before / after a digit run
_ANY_RUN = re.compile(r"\d(?:[^\d\n]{0,4}\d)*")
_NUMBER_TYPES = (
    "fixed_line", "mobile", "toll_free", "premium_rate", "shared_cost", "personal_number",
    "voip", "pager", "uan", "voicemail",
)  # fmt: skip


def digit_windows(
    text: str, margin: tuple[int, int] = PHONE_WINDOW_MARGIN
) -> list[tuple[int, int]]:
    """``(start, end)`` of the parts of ``text`` that can hold a valid phone number: each run of
    6+ digits with ``margin`` characters around it (what the matcher looks at before and after a
    candidate), overlapping windows merged. Windows never cut a run of 6+ digits: a cut one is
    inside the margin of a neighbouring window, so the two merge."""
    out: list[tuple[int, int]] = []
    for m in _DIGIT_RUN.finditer(text):
        lo, hi = max(0, m.start() - margin[0]), min(len(text), m.end() + margin[1])
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return out


@cache
def national_rule(region: str) -> tuple[int, str, int] | None:
    """For a region whose national numbers are written with the trunk prefix 0: the fewest
    digits of such a number written with its 0, the country code, and the fewest digits of one
    written with the country code (no "+") instead. ``None`` for any other region."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if meta is None or meta.national_prefix != "0":
        return None
    shortest = min(
        n
        for kind in _NUMBER_TYPES
        if (desc := getattr(meta, kind, None)) is not None
        for n in desc.possible_length
        if n > 0
    )
    code = str(meta.country_code)
    return shortest + 1, code, len(code) + shortest


def national_number_possible(text: str, region: str) -> bool:
    """Whether ``phonenumbers``' matcher could find a number of ``region`` in ``text`` that is not
    written with "+": for a trunk-0 region (``national_rule``), some digit group must start with 0
    or with the country code and be followed, in its run of digits, by enough digits."""
    rule = national_rule(region)
    if rule is None:
        return True
    with_zero, code, with_code = rule
    for m in _ANY_RUN.finditer(text):
        run = m.group()
        if not run.isascii():
            return True  # other digit scripts: not worth reasoning about
        digits = "".join(c for c in run if c.isdigit())
        k, previous = 0, ""
        for c in run:
            if c.isdigit():
                if not previous.isdigit():  # a digit group starts here
                    rest = len(digits) - k
                    if (digits[k] == "0" and rest >= with_zero) or (
                        digits.startswith(code, k) and rest >= with_code
                    ):
                        return True
                k += 1
            previous = c
    return False


class ScoredPhoneRecognizer(PhoneRecognizer):
    """``phonenumbers``-validated numbers (see the module), scored above the default threshold
    (Presidio: 0.4). Matches shaped like an SSN (``ddd-dd-dddd``, valid national numbers in some
    regions) are left to the SSN recognizer."""

    SCORE = 0.6

    def analyze(  # noqa: D102
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        results = []
        for lo, hi in digit_windows(text):
            for result in self._analyze_window(text[lo:hi], nlp_artifacts):
                result.start, result.end = result.start + lo, result.end + lo
                results.append(result)
        results = EntityRecognizer.remove_duplicates(results)
        return [r for r in results if not SSN_SHAPE.fullmatch(text, r.start, r.end)]

    def _regions(self, text: str) -> list[str]:
        """The regions worth a matcher pass over ``text`` (see the module)."""
        first, *rest = self.supported_regions
        return [first, *(r for r in rest if national_number_possible(text, r))]

    def _analyze_window(
        self, text: str, nlp_artifacts: NlpArtifacts | None, regions: list[str] | None = None
    ) -> list[RecognizerResult]:
        """Presidio's ``PhoneRecognizer.analyze`` on ``text`` over ``regions`` (default: the
        useful ones, :meth:`_regions`)."""
        results = []
        for region in self._regions(text) if regions is None else regions:
            for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=self.leniency):
                # For the explanation only: the main region of the number's country code (Presidio
                # re-parses the number and scans every region sharing the code, e.g. 25 for +1).
                found_in = phonenumbers.region_code_for_country_code(match.number.country_code)
                results.append(self._get_recognizer_result(match, text, found_in, nlp_artifacts))
        return results
