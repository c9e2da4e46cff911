"""Presidio recognizer backed by the packaged NER model (see ``resources/ner/SOURCES.md``).

The model (a spaCy pipeline with privml's tagger, :mod:`privml.scrub.ner_tagger`, trained by
:func:`privml.scrub.ner_train.train_ner`) is loaded lazily; ``load_ner_model`` shares one copy per
process, a scrubber loads its own. Each type has a fixed score (:data:`SCORES`) that reflects its
measured precision on held-out synthetic data; a lower-cased single-token span is scored lower
(tweets taught the model that lower-case words can be names, but in prose they usually are not).
The synthetic training data labels an address as pieces ("42" + "Oak Street");
:meth:`NerRecognizer.find` merges STREET_ADDRESS pieces separated only by spaces, commas or
newlines into one span.

Speed: when the scrubber's NLP engine runs this model (``PresidioScrubber(ner_model=...)``), the
engine runs it once per text -- batched through ``nlp.pipe`` by ``analyze_batch`` -- and
:meth:`NerRecognizer.analyze` reads the entities off the ``Doc`` in ``nlp_artifacts`` instead of
running the model again. Without such a ``Doc`` it runs the model itself (one call per text).
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

import spacy
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from spacy.lang.en.stop_words import STOP_WORDS
from spacy.language import Language
from spacy.tokens import Doc

from privml.scrub.names import recognizer_result
from privml.scrub.ner_tagger import COMPONENT, WEIGHTS

SCORES = {"PERSON": 0.85, "LOCATION": 0.8, "ORGANIZATION": 0.7, "STREET_ADDRESS": 0.8}
# Greeting and closing words the model, trained on few e-mails, takes for names at the start of
# a line ("Warm regards", "Dear Madam"): stripped from the edges of PERSON spans.
SALUTATIONS = frozenset(
    "hi hello hey dear greetings thanks thank regards best kind warm warmest sincerely cheers "
    "yours love madam sir".split()
)
_WORD_RE = re.compile(r"\w+")
LOWERCASE_PENALTY = 0.3
_GAP_RE = re.compile(r"[\s,]*")
_HAS_LETTER = re.compile(r"[^\W\d_]").search
_LOCK = threading.Lock()


def ner_model_path() -> Path:
    """Directory of the packaged model (``privml/resources/ner/model``)."""
    return Path(str(files("privml") / "resources" / "ner" / "model"))


def ner_available() -> bool:
    """Whether the packaged model is present (its ``meta.json`` and tagger weights exist)."""
    path = ner_model_path()
    return (path / "meta.json").is_file() and (path / COMPONENT / WEIGHTS).is_file()


def read_ner_model(path: str | Path | None = None) -> Language:
    """A fresh copy of the spaCy pipeline at ``path`` (default: packaged), read from disk."""
    return spacy.load(path or ner_model_path())  # ner_tagger's import registered its factory


@lru_cache(maxsize=4)
def _load_model(path: str) -> Language:
    with _LOCK:
        return read_ner_model(path)


def load_ner_model(path: str | Path | None = None) -> Language:
    """The spaCy pipeline at ``path`` (default: packaged), loaded once per process."""
    return _load_model(str(path or ner_model_path()))


class NerRecognizer(EntityRecognizer):
    """PERSON / LOCATION / ORGANIZATION / STREET_ADDRESS spans from the packaged NER model."""

    ENTITIES = ("PERSON", "LOCATION", "ORGANIZATION", "STREET_ADDRESS")

    def __init__(
        self,
        model_path: str | Path | None = None,
        supported_entities: list[str] | None = None,
        supported_language: str = "en",
        name: str = "NerRecognizer",
        pipeline: Language | None = None,
    ) -> None:
        """``pipeline``: an already loaded model to use (else ``model_path``, else packaged)."""
        self._model_path = model_path
        self._nlp: Language | None = pipeline
        super().__init__(
            supported_entities=list(supported_entities or self.ENTITIES),
            name=name,
            supported_language=supported_language,
            context=[],
        )

    def use_pipeline(self, pipeline: Language) -> None:
        """Use ``pipeline`` (an already loaded model) from now on."""
        self._nlp = pipeline

    def load(self) -> None:
        """Nothing eager: the model is loaded on first :meth:`analyze` (keeps start-up cheap)."""

    @property
    def nlp(self) -> Language:
        """The spaCy pipeline (loaded on first use)."""
        if self._nlp is None:
            self._nlp = load_ner_model(self._model_path)
        return self._nlp

    def find(self, text: str, doc: Doc | None = None) -> list[tuple[int, int, str, float]]:
        """``(start, end, label, score)`` for every entity the model finds in ``text``.

        ``doc``: the model's own output for ``text`` when already computed (else it is run).
        """
        out: list[tuple[int, int, str, float]] = []
        for ent in (doc if doc is not None else self.nlp(text)).ents:
            if all(w in STOP_WORDS for w in _WORD_RE.findall(ent.text)):
                continue  # "for the", "it": function words are never PII
            score = SCORES.get(ent.label_, 0.5)
            if len(ent) == 1 and ent.text.islower():
                score -= LOWERCASE_PENALTY
            start, end, label = ent.start_char, ent.end_char, ent.label_
            if label == "PERSON":
                start, end = _strip_salutations(text, start, end)
                if start >= end:
                    continue
            if (
                out
                and label == "STREET_ADDRESS" == out[-1][2]
                and _GAP_RE.fullmatch(text[out[-1][1] : start])
            ):
                start, score = out[-1][0], max(score, out.pop()[3])
            out.append((start, end, label, score))
        # A name, place or organisation has letters: letterless ones are IP addresses or numbers
        # the model mislabelled (they would outscore the IP recognizer). Address pieces may be
        # numbers only (house numbers, ZIP codes).
        return [e for e in out if e[2] == "STREET_ADDRESS" or _HAS_LETTER(text, e[0], e[1])]

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        """Presidio entry point: reuses the entities of ``nlp_artifacts.tokens`` when it is a
        ``Doc`` of ``text`` annotated by this model, else runs the model."""
        wanted = set(entities or self.supported_entities) & set(self.supported_entities)
        doc = getattr(nlp_artifacts, "tokens", None)
        if not (isinstance(doc, Doc) and _is_doc_of(doc, text) and doc.vocab is self.nlp.vocab):
            doc = None
        return [
            recognizer_result(self, label, start, end, score, f"spaCy NER model label {label}")
            for start, end, label, score in self.find(text, doc)
            if label in wanted
        ]


def _is_doc_of(doc: Doc, text: str) -> bool:
    """Whether ``doc`` is an NER-annotated parse of ``text`` (checked by length and the last
    token, not by rebuilding ``doc.text``, which costs about as much as the model)."""
    if not doc.has_annotation("ENT_IOB"):
        return False
    if not len(doc):
        return not text
    last = doc[-1]
    return last.idx + len(last.text_with_ws) == len(text) and text.endswith(last.text_with_ws)


def _strip_salutations(text: str, start: int, end: int) -> tuple[int, int]:
    """``(start, end)`` without leading or trailing :data:`SALUTATIONS` words (may be empty)."""
    words = [(m.start(), m.end()) for m in _WORD_RE.finditer(text, start, end)]
    lo, hi = 0, len(words)
    while lo < hi and text[slice(*words[lo])].lower() in SALUTATIONS:
        lo += 1
    while hi > lo and text[slice(*words[hi - 1])].lower() in SALUTATIONS:
        hi -= 1
    if lo == hi:
        return start, start
    return (words[lo][0] if lo else start), (words[hi - 1][1] if hi < len(words) else end)
