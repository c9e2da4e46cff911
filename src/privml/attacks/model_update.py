"""Model-update attack: what changed between two snapshots of a language model.

Zanella-Béguelin et al., "Analyzing Information Leakage of Updates to Natural Language Models"
(CCS 2020). An adversary holding snapshots ``before`` and ``after`` an update (a fine-tune, or
re-training with one user's data added) scores a token sequence ``t_1..t_n`` by its
*differential score*

    DS(t) = sum_i [ p_after(t_i | t_<i) - p_before(t_i | t_<i) ]

(probabilities, not log-probabilities: bounded in [-n, n], so tokens both models already
predict well contribute ~0), and by its *differential rank* DR(t) = the number of sequences of
the same length whose differential score is strictly higher (DR = 0: nothing beats it). High DS
and low DR single out text the update added. Phrases are found by beam search on DS (section
3.2 of the paper), since DS is a sum over tokens.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import torch

from privml.attacks.lm import CausalLMScorer
from privml.attacks.secrets import redact

_TIE = 1e-6  # scores within this margin count as ties (not higher): float noise differs by path


def _token_probs(
    scorer: CausalLMScorer, context: Sequence[int], seqs: torch.Tensor
) -> torch.Tensor:
    """``p(t_i | context, t_<i)`` of every token of every row of ``seqs``: ``(N, m)`` float64.

    With an empty context the first token of each row only conditions the rest (no model
    scores a first token without a start symbol); its column is then 0.
    """
    n, m = seqs.shape
    full = torch.cat([torch.tensor(list(context), dtype=torch.long).expand(n, -1), seqs], dim=1)
    first = max(len(context), 1)
    probs = torch.zeros((n, m), dtype=torch.float64)
    for pos in range(first, full.shape[1]):
        lp = scorer.next_logprobs(full[:, :pos]).double()
        probs[:, pos - len(context)] = lp.gather(1, full[:, pos : pos + 1]).squeeze(1).exp()
    return probs


def differential_scores(
    before: CausalLMScorer,
    after: CausalLMScorer,
    seqs: torch.Tensor,
    context: Sequence[int] = (),
) -> torch.Tensor:
    """Differential score of each row of ``seqs`` ``(N, m)`` after ``context``: ``(N,)``."""
    return (_token_probs(after, context, seqs) - _token_probs(before, context, seqs)).sum(1)


def differential_score(
    before: CausalLMScorer,
    after: CausalLMScorer,
    sequence_ids: Sequence[int],
    context: Sequence[int] = (),
) -> float:
    """DS of one token sequence, conditioned on ``context`` (e.g. ``[BOS]`` or a prompt)."""
    seq = torch.tensor([list(sequence_ids)], dtype=torch.long)
    return float(differential_scores(before, after, seq, context)[0])


def differential_rank_search(
    before: CausalLMScorer,
    after: CausalLMScorer,
    *,
    length: int,
    beam_width: int,
    start_tokens: Sequence[int],
    vocab_subset: Sequence[int] | None = None,
) -> list[tuple[list[int], float]]:
    """Beam search for the ``length``-token sequences after ``start_tokens`` with highest DS.

    Each step extends every beam by every token of ``vocab_subset`` (default: the whole
    vocabulary) and keeps the ``beam_width`` best partial sums. Returns up to ``beam_width``
    ``(token ids, DS)`` pairs, best first. Exhaustive (hence exact) iff
    ``|vocab| ** length <= beam_width``; otherwise a heuristic, since a pruned prefix might
    still have ended higher.
    """
    if not start_tokens:
        raise ValueError("beam search needs non-empty start_tokens (e.g. [BOS])")
    ctx = torch.tensor(list(start_tokens), dtype=torch.long)
    beams = torch.empty((1, 0), dtype=torch.long)
    scores = torch.zeros(1, dtype=torch.float64)
    vocab: torch.Tensor | None = None
    if vocab_subset is not None:
        vocab = torch.tensor(list(vocab_subset), dtype=torch.long)
    for _ in range(length):
        prefixes = torch.cat([ctx.expand(len(beams), -1), beams], dim=1)
        delta = after.next_logprobs(prefixes).double().exp()
        delta -= before.next_logprobs(prefixes).double().exp()
        if vocab is None:
            vocab = torch.arange(delta.shape[1])
        cand = scores[:, None] + delta[:, vocab]  # (beams, |vocab|)
        top = cand.flatten().topk(min(beam_width, cand.numel()))
        rows, cols = top.indices // len(vocab), top.indices % len(vocab)
        beams = torch.cat([beams[rows], vocab[cols][:, None]], dim=1)
        scores = top.values
    return [(b, float(s)) for b, s in zip(beams.tolist(), scores.tolist(), strict=True)]


@dataclass(frozen=True)
class RankEstimate:
    """Beam-search estimate of a differential rank (see ``differential_rank``)."""

    differential_score: float
    differential_rank: int  # sequences found with a strictly higher DS (0 = none)
    saturated: bool  # every beam sequence beats the target: true rank >= beam_width
    exact: bool  # the search was exhaustive, so the rank is the true DR

    def to_dict(self) -> dict:
        return asdict(self)


def differential_rank(
    before: CausalLMScorer,
    after: CausalLMScorer,
    target_ids: Sequence[int],
    *,
    context: Sequence[int],
    beam_width: int,
    vocab_subset: Sequence[int] | None = None,
) -> RankEstimate:
    """Estimate DR(target) among sequences of ``len(target_ids)`` tokens after ``context``.

    Estimator: compute DS(target) exactly, run ``differential_rank_search`` with the same
    context, length and vocabulary, and count the beam's sequences whose DS exceeds DS(target)
    by more than 1e-6. Every sequence counted really beats the target, so the count is always a
    *lower bound* on the true DR; it is exact when the search is exhaustive
    (``|vocab| ** length <= beam_width``), and otherwise the paper's approximation (it misses
    only better sequences whose prefixes fell out of the beam). When all ``beam_width`` beam
    sequences beat the target the rank is reported as ``beam_width`` with ``saturated=True``,
    meaning "DR >= beam_width" (the target is not among the update's top phrases).
    """
    target = list(target_ids)
    score = differential_score(before, after, target, context)
    found = differential_rank_search(
        before,
        after,
        length=len(target),
        beam_width=beam_width,
        start_tokens=context,
        vocab_subset=vocab_subset,
    )
    better = sum(s > score + _TIE for _, s in found)
    n_vocab = len(vocab_subset) if vocab_subset is not None else None
    if n_vocab is None:
        n_vocab = after.next_logprobs(torch.tensor([list(context)], dtype=torch.long)).shape[1]
    exhaustive = len(target) * math.log(n_vocab) <= math.log(beam_width) + 1e-12
    return RankEstimate(
        differential_score=score,
        differential_rank=better,
        saturated=better >= beam_width,
        exact=exhaustive,
    )


def model_update_attack(
    before: CausalLMScorer,
    after: CausalLMScorer,
    decode: Callable[[list[int]], str],
    *,
    length: int,
    beam_width: int,
    top: int = 10,
    start_tokens: Sequence[int] | None = None,
    vocab_subset: Sequence[int] | None = None,
    canaries: Sequence[tuple[Sequence[int], Sequence[int]]] = (),
    show_secrets: bool = False,
) -> dict:
    """Top phrases the update added (by DS) and the DS and DR of given ``(context, secret)``.

    ``start_tokens`` default to ``[after.bos_id]``. Phrases and canary secrets are redacted
    (``secrets.redact``) unless ``show_secrets``; redaction tags are stable within a run, so a
    canary whose tag equals a top phrase's tag was found by the search.
    """
    if start_tokens is None:
        bos = getattr(after, "bos_id", None)
        if bos is None:
            raise ValueError("pass start_tokens, or give the scorer a bos_id")
        start_tokens = [bos]
    found = differential_rank_search(
        before,
        after,
        length=length,
        beam_width=beam_width,
        start_tokens=start_tokens,
        vocab_subset=vocab_subset,
    )
    per_canary = []
    for k, (ctx, secret) in enumerate(canaries):
        est = differential_rank(
            before, after, secret, context=ctx, beam_width=beam_width, vocab_subset=vocab_subset
        )
        per_canary.append(
            {"index": k, "secret": redact(decode(list(secret)), show_secrets), **est.to_dict()}
        )
    return {
        "method": "differential score and rank (Zanella-Beguelin et al., CCS 2020)",
        "length": length,
        "beam_width": beam_width,
        "top_phrases": [
            {"phrase": redact(decode(ids), show_secrets), "differential_score": round(s, 6)}
            for ids, s in found[:top]
        ],
        "canaries": per_canary,
        "secrets_shown": show_secrets,
    }
