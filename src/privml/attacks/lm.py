"""A small scoring adapter that the language-model attacks talk to.

Attacks need three things from a causal LM: the log-probability of continuations after a
context, greedy decoding, and per-example losses. Anything offering these methods can be
attacked: privml's TinyGPT (``TorchLMScorer``) or a Hugging Face causal LM
(``HFCausalLMScorer``). Both also ``sample`` continuations, for the extraction attack.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import torch

from privml.model.encoding import collate_units, unit_losses


class CausalLMScorer(Protocol):
    def continuation_logprobs(
        self, context: Sequence[int], continuations: torch.Tensor
    ) -> torch.Tensor: ...
    def next_logprobs(self, prefixes: torch.Tensor) -> torch.Tensor: ...
    def greedy(self, context: Sequence[int], n: int) -> list[int]: ...
    def losses(self, units: Sequence[torch.Tensor]) -> torch.Tensor: ...


class SamplingLMScorer(CausalLMScorer, Protocol):
    """A scorer that can also sample continuations (needed by the extraction attack):
    ``sample(context_ids, n, length, *, temperature, top_k, generator) -> (n, length)``."""

    def sample(
        self, context_ids: Sequence[int], n: int, length: int, **options: Any
    ) -> torch.Tensor: ...


def _sample(
    next_logprobs: Callable[[torch.Tensor], torch.Tensor],
    context: Sequence[int],
    n: int,
    length: int,
    *,
    temperature: float,
    top_k: int | None,
    generator: torch.Generator,
    window: int | None,
    batch_size: int,
) -> torch.Tensor:
    """``(n, length)`` sampled continuations of ``context``, ``length`` forward passes per batch.

    No KV cache: every step re-runs the model on the (last ``window``) tokens, which is fine for
    the small models attacked here. Sampling is the attacker's randomness, not DP noise, so it
    is drawn from the caller's seeded ``generator`` on purpose (reproducible reports).
    """
    if not context:
        raise ValueError("sampling needs a non-empty context (e.g. [BOS])")
    if temperature <= 0:
        raise ValueError("temperature must be > 0 (use greedy() for argmax decoding)")
    ctx = torch.tensor(list(context), dtype=torch.long)
    out = []
    for start in range(0, n, batch_size):
        seqs = ctx.expand(min(batch_size, n - start), -1).clone()
        for _ in range(length):
            inp = seqs if window is None else seqs[:, -window:]
            logits = next_logprobs(inp).float().cpu() / temperature
            if top_k is not None and top_k < logits.shape[-1]:
                kth = logits.topk(top_k, dim=-1).values[:, -1:]
                logits = logits.masked_fill(logits < kth, float("-inf"))
            probs = torch.softmax(logits, dim=-1)
            nxt = torch.multinomial(probs, 1, generator=generator)
            seqs = torch.cat([seqs, nxt], dim=1)
        out.append(seqs[:, len(ctx) :])
    return torch.cat(out) if out else torch.empty((0, length), dtype=torch.long)


class _ScorerBase:
    """What every scorer derives from ``_logprobs`` (full log-probabilities of token rows):
    next-token and continuation log-probabilities, greedy decoding and sampling."""

    batch_size: int
    window: int | None = None  # longest input the model accepts (None: unbounded)

    def _logprobs(self, seqs: torch.Tensor) -> torch.Tensor:  # (N, L) -> (N, L, V)
        raise NotImplementedError

    def next_logprobs(self, prefixes: torch.Tensor) -> torch.Tensor:
        """Log-probabilities of the next token after each prefix row: ``(N, V)``."""
        return self._logprobs(prefixes)[:, -1]

    def continuation_logprobs(
        self, context: Sequence[int], continuations: torch.Tensor
    ) -> torch.Tensor:
        """Total log-probability of each continuation row ``(N, m)`` after ``context``."""
        if not context:
            raise ValueError("continuation_logprobs needs a non-empty context (e.g. [BOS])")
        n, _ = continuations.shape
        ctx = torch.tensor(list(context), dtype=torch.long).expand(n, -1)
        seqs = torch.cat([ctx, continuations], dim=1)
        lp = self._logprobs(seqs[:, :-1])[:, len(context) - 1 :]
        return lp.gather(-1, continuations.unsqueeze(-1)).squeeze(-1).sum(1)

    @torch.no_grad()
    def greedy(self, context: Sequence[int], n: int) -> list[int]:
        """``n`` tokens of argmax decoding after ``context``."""
        seq = list(context)
        for _ in range(n):
            row = torch.tensor([seq], dtype=torch.long)
            seq.append(int(self.next_logprobs(row)[0].argmax()))
        return seq[len(context) :]

    def sample(
        self,
        context_ids: Sequence[int],
        n: int,
        length: int,
        *,
        temperature: float = 1.0,
        top_k: int | None = None,
        generator: torch.Generator,
    ) -> torch.Tensor:
        """``(n, length)`` continuations of ``context_ids`` sampled from the model."""
        return _sample(
            self.next_logprobs,
            context_ids,
            n,
            length,
            temperature=temperature,
            top_k=top_k,
            generator=generator,
            window=self.window,
            batch_size=self.batch_size,
        )


class TorchLMScorer(_ScorerBase):
    """Scorer for a module mapping ``tokens[B, k, L] -> logits[B, k, L, V]``."""

    def __init__(
        self,
        model: torch.nn.Module,
        pad_id: int,
        batch_size: int = 512,
        *,
        bos_id: int | None = None,
    ) -> None:
        self.model = model.eval()
        self.pad_id = pad_id
        self.batch_size = batch_size
        self.bos_id = bos_id  # default start token for unprompted sampling / beam search
        self.window = getattr(getattr(model, "cfg", None), "context", None)

    @torch.no_grad()
    def _logprobs(self, seqs: torch.Tensor) -> torch.Tensor:
        outs = []
        for i in range(0, len(seqs), self.batch_size):
            logits = self.model(seqs[i : i + self.batch_size].unsqueeze(1)).squeeze(1)
            outs.append(torch.log_softmax(logits.float(), dim=-1))
        return torch.cat(outs)

    @torch.no_grad()
    def losses(self, units: Sequence[torch.Tensor]) -> torch.Tensor:
        """Mean token loss of each unit (one message or one user's messages)."""
        out = []
        for i in range(0, len(units), 64):
            batch = collate_units(units[i : i + 64], self.pad_id)
            out.append(unit_losses(self.model, batch, self.pad_id))
        return torch.cat(out) if out else torch.empty(0)
