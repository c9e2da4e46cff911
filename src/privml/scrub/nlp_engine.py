"""Presidio's NLP engine for privml: spaCy without a downloaded model, and a cheaper context pass.

* ``BlankSpacyNlpEngine`` runs ``spacy.blank("en")`` (tokenizer only) or a pipeline it is given
  (privml's NER model, whose tokenizer is the blank English one). Blank spaCy gives no lemmas, so
  the lemma is the lower-cased token text; that is what lets Presidio's context enhancer raise
  scores (+0.35) when a context word ("ssn", "phone", "card", ...) is among the 5 keywords
  before a match. Context words that spaCy lists as stop words ("call") are kept as keywords.
* ``LazyNlpArtifacts`` computes token offsets, lemmas and keywords only when a context look-up
  needs them (most texts have no match of a recognizer with context words).
* ``ContextEnhancer`` is Presidio's lemma context enhancer without its per-text deep copy of
  every result, with a binary search for the matched token, and reading only the tokens near a
  match.
"""

from __future__ import annotations

import bisect
import copy
from collections.abc import Iterator, Sequence
from functools import cached_property

import spacy
from presidio_analyzer import RecognizerResult
from presidio_analyzer.context_aware_enhancers import (
    ContextAwareEnhancer,
    LemmaContextAwareEnhancer,
)
from presidio_analyzer.nlp_engine import NlpArtifacts, SpacyNlpEngine
from spacy.attrs import IDX, LOWER
from spacy.language import Language
from spacy.tokens import Doc

LANGUAGE = "en"
KEYWORD_CACHE_SIZE = 100_000  # lemmas whose context keywords are remembered


class BlankSpacyNlpEngine(SpacyNlpEngine):
    """``SpacyNlpEngine`` over ``spacy.blank(lang)``: tokens only, lemma = lower-cased text.

    ``pipeline``: an already loaded spaCy pipeline to run instead (privml's NER model, whose
    tokenizer is the blank English one); its entities stay on the ``Doc`` in the artifacts, for
    ``NerRecognizer``, and are not handed to Presidio's own NER handling.
    """

    def __init__(self, language: str = LANGUAGE, pipeline: Language | None = None) -> None:
        super().__init__(models=[{"lang_code": language, "model_name": f"blank:{language}"}])
        self._language = language
        self._pipeline = pipeline
        self._keyword_parts: dict[str, list[str]] = {}

    def load(self) -> None:  # noqa: D102 - never calls spacy.load / spacy download
        self.nlp = {self._language: self._pipeline or spacy.blank(self._language)}
        # Not kept: a scrubber that renews its pipeline must be able to free the first one.
        self._pipeline = None

    def get_supported_entities(self) -> list[str]:  # noqa: D102 - no NER component
        return []

    # Context words that are also spaCy stop words ("call"): Presidio drops stop words from the
    # context window, so "call me on 9472 7916" would never lift a phone score without this.
    context_words: frozenset[str] = frozenset()

    def is_stopword(self, word: str, language: str) -> bool:  # noqa: D102
        return word.lower() not in self.context_words and super().is_stopword(word, language)

    def keywords_of(self, lemma: str, language: str) -> list[str]:
        """``NlpArtifacts.set_keywords`` for one lemma, cached (bounded: cleared when full, so
        that a long stream of new words cannot grow it without limit)."""
        parts = self._keyword_parts.get(lemma)
        if parts is None:
            if len(self._keyword_parts) >= KEYWORD_CACHE_SIZE:
                self._keyword_parts.clear()
            parts = self._keyword_parts[lemma] = NlpArtifacts.set_keywords(self, [lemma], language)
        return parts

    def _doc_to_nlp_artifact(self, doc: Doc, language: str) -> NlpArtifacts:
        return LazyNlpArtifacts(doc, self, language)

    def artifacts(self, texts: Sequence[str], batch_size: int) -> Iterator[NlpArtifacts]:
        """``NlpArtifacts`` of each text, from one ``nlp.pipe`` pass (Presidio's own
        ``process_batch`` also rebuilds each text from its tokens, which costs as much again)."""
        for doc in self.nlp[self._language].pipe(texts, batch_size=batch_size):
            yield self._doc_to_nlp_artifact(doc, self._language)


class _KeywordList(list):
    """A list whose ``in`` is a set look-up (Presidio tests each context lemma with ``in``)."""

    def __contains__(self, item: object) -> bool:
        if not hasattr(self, "_set"):
            self._set = frozenset(self)
        return item in self._set


class LazyNlpArtifacts(NlpArtifacts):
    """``NlpArtifacts`` whose token offsets, lemmas and keywords are computed on first use.

    Presidio reads them only to look for context words around a match of a recognizer that has
    context words; most texts have no such match, and the NER pass needs only the ``Doc``.
    """

    def __init__(self, doc: Doc, nlp_engine: BlankSpacyNlpEngine, language: str) -> None:
        # NlpArtifacts.__init__ would compute the keywords right away.
        self.entities, self.tokens, self.scores = [], doc, []
        self.nlp_engine, self.language = nlp_engine, language

    @cached_property
    def _columns(self) -> list[list[int]]:
        # Column reads instead of one Token object per token (several times faster).
        return self.tokens.to_array([IDX, LOWER]).tolist() if len(self.tokens) else []

    @cached_property
    def tokens_indices(self) -> list[int]:  # noqa: D102
        return [c[0] for c in self._columns]

    @cached_property
    def lower_ids(self) -> list[int]:
        """Each token's lower-cased text, as spaCy string ids."""
        return [c[1] for c in self._columns]

    @cached_property
    def lemmas(self) -> list[str]:  # noqa: D102 - no lemmatizer: lemma = lower-cased text
        strings = self.tokens.vocab.strings
        return [strings[c[1]] for c in self._columns]

    @cached_property
    def keywords(self) -> list[str]:  # noqa: D102 - NlpArtifacts.set_keywords, one lemma at a time
        keywords_of, language = self.nlp_engine.keywords_of, self.language
        return _KeywordList(k for lemma in self.lemmas for k in keywords_of(lemma, language))


class ContextEnhancer(LemmaContextAwareEnhancer):
    """Presidio's lemma context enhancer (same rule: +0.35, at least 0.4, when one of the
    recognizer's context words is a substring of one of the keywords around the match), minus
    its costs: it deep-copied every result of every text (a quarter of the scrubber's time
    with the NER model on), found tokens by a linear scan, and listed the keywords of every
    token of a text to look at five of them. Only results whose score changes are copied."""

    def enhance_using_context(  # noqa: D102
        self,
        text: str,
        raw_results: list[RecognizerResult],
        nlp_artifacts: NlpArtifacts,
        recognizers: list,
        context: list[str] | None = None,
    ) -> list[RecognizerResult]:
        by_id = {r.id: r for r in recognizers if r.context}
        key = RecognizerResult.RECOGNIZER_IDENTIFIER_KEY
        extra = [w.lower() for w in context or ()]
        local = ":" not in text and isinstance(nlp_artifacts, LazyNlpArtifacts)
        out = []
        for result in raw_results:
            meta = result.recognition_metadata or {}
            recognizer = by_id.get(meta.get(key))
            if (
                recognizer is None
                or nlp_artifacts is None
                or meta.get(RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY)
            ):
                out.append(result)
                continue
            if local:
                words = self._keywords_near(nlp_artifacts, result.start)
            else:
                words = self._extract_surrounding_words(
                    nlp_artifacts=nlp_artifacts,
                    word=text[result.start : result.end],
                    start=result.start,
                )
            support = self._find_supportive_word_in_context(
                words + extra, recognizer.context, self.context_matching_mode
            )
            if support:
                result = copy.copy(result)
                result.analysis_explanation = copy.copy(result.analysis_explanation)
                score = max(
                    result.score + self.context_similarity_factor,
                    self.min_score_with_context_similarity,
                )
                result.score = min(score, ContextAwareEnhancer.MAX_SCORE)
                result.analysis_explanation.set_supportive_context_word(support)
                result.analysis_explanation.set_improved_score(result.score)
            out.append(result)
        return out

    def _keywords_near(self, artifacts: LazyNlpArtifacts, start: int) -> list[str]:
        """Presidio's ``_extract_surrounding_words`` for a text without ":", reading only the
        tokens it needs. Presidio first lists the keywords of ALL tokens (each split at ":") and
        then keeps the lemmas around the match that are in that list; with no ":" in the text a
        lemma is in it exactly when it is a keyword by itself."""
        tokens = artifacts.tokens
        if not len(tokens):
            return [""]
        index = self._find_index_of_match_token("", start, tokens, artifacts.tokens_indices)
        lower, strings = artifacts.lower_ids, tokens.vocab.strings
        engine, language = artifacts.nlp_engine, artifacts.language
        words = []
        for step, n_words in ((-1, self.context_prefix_count), (1, self.context_suffix_count)):
            i, remaining = index, n_words + 1  # Presidio's count: the match's own token too
            while 0 <= i < len(lower) and remaining > 0:
                lemma = strings[lower[i]]
                if engine.keywords_of(lemma, language):
                    words.append(lemma)
                    remaining -= 1
                i += step
        return list(set(words))

    @staticmethod
    def _find_index_of_match_token(word: str, start: int, tokens, tokens_indices: list[int]) -> int:
        """The token that covers ``start`` (or the first one after it): Presidio's rule, by
        binary search instead of a loop that builds a Token object per token."""
        i = bisect.bisect_right(tokens_indices, start) - 1
        if i >= 0 and start < tokens_indices[i] + len(tokens[i]):
            return i
        if i + 1 < len(tokens_indices):
            return i + 1
        raise ValueError(f"no token at or after character {start} for {word!r}")
