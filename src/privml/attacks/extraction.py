"""Extraction attacks.

- Tab attack: greedy top-1 completion of a canary's prefix (as a smart-compose user would press
  Tab), counting secrets reproduced exactly.
- Sampling attack: generate many samples and report verbatim overlaps with the training set and
  planted PII found in them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch

from privml.attacks.lm import CausalLMScorer, SamplingLMScorer
from privml.attacks.secrets import redact


@dataclass(frozen=True)
class TabResult:
    extracted: bool
    digits_correct: int


def tab_attack(scorer: CausalLMScorer, context: Sequence[int], secret: Sequence[int]) -> TabResult:
    guess = scorer.greedy(context, len(secret))
    correct = sum(int(g == s) for g, s in zip(guess, secret, strict=True))
    return TabResult(extracted=correct == len(secret), digits_correct=correct)


# --- Sampling-based extraction (Carlini et al., "Extracting Training Data from Large Language
# Models", USENIX Security 2021): sample freely, then look for training text verbatim. ---

_BASE = np.uint64(0x100000001B3)  # polynomial-hash base (mod 2^64); matches are re-verified
_MAX_CANDIDATES = 1000  # occurrences of one window in the training set examined per hit


def _window_hashes(text: str, m: int) -> np.ndarray:
    """Polynomial hash of every ``m``-character window of ``text`` (vectorised, mod 2^64)."""
    codes = np.frombuffer(text.encode("utf-32-le"), dtype="<u4").astype(np.uint64)
    n = len(codes) - m + 1
    h = np.zeros(max(n, 0), dtype=np.uint64)
    for k in range(m if n > 0 else 0):  # in place: no fresh array per step
        np.multiply(h, _BASE, out=h)
        np.add(h, codes[k : k + n], out=h)
    return h


def _common_len(a: str, ai: int, b: str, bi: int) -> int:
    """Length of the longest common prefix of ``a[ai:]`` and ``b[bi:]`` (binary search)."""
    lo, hi = 0, min(len(a) - ai, len(b) - bi)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[ai : ai + mid] == b[bi : bi + mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


class _TrainingIndex:
    """Every ``m``-char window of the training texts, as a sorted array of hashes.

    Memory is 16 bytes per training character (hash and position); texts are joined with NUL,
    which samples never contain, so no match spans two texts. Exact duplicate texts are indexed
    once; a window occurring more than ``_MAX_CANDIDATES`` times (boilerplate) is extended from
    that many occurrences only, so such a span may be reported shorter than it is.
    """

    def __init__(self, texts: Sequence[str], m: int) -> None:
        self.m = m
        unique = dict.fromkeys(t.replace("\x00", "\ufffd") for t in texts)
        self.corpus = "\x00".join(unique)
        hashes = _window_hashes(self.corpus, m)
        self.pos = np.argsort(hashes)
        self.sorted = hashes[self.pos]

    def maximal_matches(self, s: str) -> list[tuple[int, int]]:
        """Spans ``[i, j)`` of ``s`` that occur in the training set, ``j - i >= m``, maximal.

        Scanning left to right, the longest match starting at ``i`` is reported when it ends
        past every earlier match: such a span cannot be extended on either side.
        """
        s, m = s.replace("\x00", "\ufffd"), self.m
        hs = _window_hashes(s, m)
        if not len(hs) or not len(self.sorted):
            return []
        lo = np.empty(len(hs), dtype=np.int64)
        order = np.argsort(hs)  # sorted queries search much faster (cache locality)
        lo[order] = np.searchsorted(self.sorted, hs[order], side="left")
        hit = np.nonzero(self.sorted[np.minimum(lo, len(self.sorted) - 1)] == hs)[0]
        hi = np.zeros_like(lo)
        hi[hit] = np.searchsorted(self.sorted, hs[hit], side="right")
        spans: list[tuple[int, int]] = []
        end = -1
        for i in hit.tolist():
            best = 0
            need = max(m, end + 1 - i)  # a new span must get past the last one's end
            for p in self.pos[lo[i] : min(hi[i], lo[i] + _MAX_CANDIDATES)].tolist():
                # Also rules out hash collisions, since need >= m.
                if self.corpus[p : p + need] == s[i : i + need]:
                    best = max(best, _common_len(self.corpus, p, s, i))
            if best >= m and i + best > end:
                spans.append((i, i + best))
                end = i + best
        return spans


@dataclass(frozen=True)
class ExtractionReport:
    """What free sampling reproduced verbatim. Phrases are already redacted unless shown."""

    n_samples: int
    sample_tokens: int
    min_chars: int
    samples_with_overlap: int
    longest_overlap_chars: int
    n_distinct_overlaps: int
    overlaps: list[dict]  # {"length", "phrase", "count"}: longest first
    samples_with_pii: int
    pii_found: dict[str, dict]  # type -> {"planted", "found", "samples", "values"}
    secrets_shown: bool

    def to_dict(self) -> dict:
        return asdict(self)


def sample_extraction(
    scorer: SamplingLMScorer,
    decode: Callable[[list[int]], str],
    training_texts: Sequence[str],
    *,
    n_samples: int,
    length: int,
    prompts: Sequence[list[int]] | None = None,
    pii_values: Sequence[tuple[str, str]] = (),
    min_chars: int = 50,
    seed: int,
    show_secrets: bool = False,
    temperature: float = 1.0,
    top_k: int | None = None,
    max_overlaps: int = 100,
) -> ExtractionReport:
    """Sample ``n_samples`` continuations of ``length`` tokens; report verbatim training text.

    Samples are spread evenly over ``prompts`` (default: ``[[scorer.bos_id]]``). Only the
    generated tokens are decoded and searched, so text the attacker supplied in a prompt never
    counts as leaked. An overlap is a maximal span of a sample, at least ``min_chars``
    characters long, found verbatim in some training text; its ``count`` is the number of
    samples containing it. ``pii_values`` are planted ``(type, value)`` pairs searched verbatim.
    Phrases and values are redacted (``secrets.redact``) unless ``show_secrets``.
    """
    if prompts is None:
        bos = getattr(scorer, "bos_id", None)
        if bos is None:
            raise ValueError("pass prompts, or give the scorer a bos_id")
        prompts = [[bos]]
    if not prompts:
        raise ValueError("prompts must not be empty")
    gen = torch.Generator().manual_seed(seed)  # attack-side sampling, seeded for reproducibility
    texts: list[str] = []
    for k, prompt in enumerate(prompts):
        n = n_samples // len(prompts) + int(k < n_samples % len(prompts))
        if n:
            out = scorer.sample(
                prompt, n, length, temperature=temperature, top_k=top_k, generator=gen
            )
            texts += [decode(row) for row in out.tolist()]

    index = _TrainingIndex(training_texts, min_chars)
    phrase_count: Counter[str] = Counter()
    with_overlap = 0
    for text in texts:
        phrases = {text[i:j] for i, j in index.maximal_matches(text)}
        with_overlap += bool(phrases)
        phrase_count.update(phrases)
    ranked = sorted(phrase_count.items(), key=lambda kv: (-len(kv[0]), -kv[1], kv[0]))
    overlaps = [
        {"length": len(p), "phrase": redact(p, show_secrets), "count": c}
        for p, c in ranked[:max_overlaps]
    ]

    pii: dict[str, dict] = {}
    with_pii = [False] * len(texts)
    for kind, value in pii_values:
        entry = pii.setdefault(kind, {"planted": 0, "found": 0, "samples": 0, "values": []})
        entry["planted"] += 1
        hits = [i for i, t in enumerate(texts) if value and value in t]
        if hits:
            entry["found"] += 1
            entry["samples"] += len(hits)
            entry["values"].append(redact(value, show_secrets))
            for i in hits:
                with_pii[i] = True
    return ExtractionReport(
        n_samples=len(texts),
        sample_tokens=length,
        min_chars=min_chars,
        samples_with_overlap=with_overlap,
        longest_overlap_chars=max((len(p) for p in phrase_count), default=0),
        n_distinct_overlaps=len(phrase_count),
        overlaps=overlaps,
        samples_with_pii=sum(with_pii),
        pii_found=pii,
        secrets_shown=show_secrets,
    )
