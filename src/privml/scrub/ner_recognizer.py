"""Presidio recognizer backed by the packaged spaCy NER model (see ``resources/ner/SOURCES.md``).

The model (trained by :func:`privml.scrub.ner_train.train_ner`) is loaded lazily, once per
process, and shared by all instances. The greedy transition-based NER gives no per-span
probability, so each type has a fixed score (:data:`SCORES`) that reflects its measured precision
on held-out synthetic data; a lower-cased single-token span is scored lower (tweets taught the
model that lower-case words can be names, but in prose they usually are not). The synthetic
training data labels an address as pieces ("42" + "Oak Street"); :meth:`NerRecognizer.find`
merges STREET_ADDRESS pieces separated only by spaces, commas or newlines into one span.
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
from spacy.language import Language

from privml.scrub.names import recognizer_result

SCORES = {"PERSON": 0.85, "LOCATION": 0.8, "ORGANIZATION": 0.7, "STREET_ADDRESS": 0.8}
LOWERCASE_PENALTY = 0.3
_GAP_RE = re.compile(r"[\s,]*")
_LOCK = threading.Lock()


def ner_model_path() -> Path:
    """Directory of the packaged model (``privml/resources/ner/model``)."""
    return Path(str(files("privml") / "resources" / "ner" / "model"))


def ner_available() -> bool:
    """Whether the packaged model is present (its ``meta.json`` and ``ner`` weights exist)."""
    path = ner_model_path()
    return (path / "meta.json").is_file() and (path / "ner" / "model").is_file()


@lru_cache(maxsize=4)
def _load_model(path: str) -> Language:
    with _LOCK:
        return spacy.load(path)


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
    ) -> None:
        self._model_path = model_path
        self._nlp: Language | None = None
        super().__init__(
            supported_entities=list(supported_entities or self.ENTITIES),
            name=name,
            supported_language=supported_language,
            context=[],
        )

    def load(self) -> None:
        """Nothing eager: the model is loaded on first :meth:`analyze` (keeps start-up cheap)."""

    @property
    def nlp(self) -> Language:
        """The spaCy pipeline (loaded on first use)."""
        if self._nlp is None:
            self._nlp = load_ner_model(self._model_path)
        return self._nlp

    def find(self, text: str) -> list[tuple[int, int, str, float]]:
        """``(start, end, label, score)`` for every entity the model finds in ``text``."""
        out: list[tuple[int, int, str, float]] = []
        for ent in self.nlp(text).ents:
            score = SCORES.get(ent.label_, 0.5)
            if len(ent) == 1 and ent.text.islower():
                score -= LOWERCASE_PENALTY
            start, end, label = ent.start_char, ent.end_char, ent.label_
            if (
                out
                and label == "STREET_ADDRESS" == out[-1][2]
                and _GAP_RE.fullmatch(text[out[-1][1] : start])
            ):
                start, score = out[-1][0], max(score, out.pop()[3])
            out.append((start, end, label, score))
        return out

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        """Presidio entry point; ``nlp_artifacts`` is unused (the model tokenizes itself)."""
        wanted = set(entities or self.supported_entities) & set(self.supported_entities)
        return [
            recognizer_result(self, label, start, end, score, f"spaCy NER model label {label}")
            for start, end, label, score in self.find(text)
            if label in wanted
        ]
