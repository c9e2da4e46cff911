"""A small scoring adapter that the language-model attacks talk to.

Attacks need three things from a causal LM: the log-probability of continuations after a
context, greedy decoding, and per-example losses. Anything offering these methods can be
attacked (privml's TinyGPT here; a Hugging Face model needs only another adapter).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import torch

from privml.model.encoding import collate_units, unit_losses


class CausalLMScorer(Protocol):
    def continuation_logprobs(
        self, context: Sequence[int], continuations: torch.Tensor
    ) -> torch.Tensor: ...
    def next_logprobs(self, prefixes: torch.Tensor) -> torch.Tensor: ...
    def greedy(self, context: Sequence[int], n: int) -> list[int]: ...
    def losses(self, units: Sequence[torch.Tensor]) -> torch.Tensor: ...


class TorchLMScorer:
    """Scorer for a module mapping ``tokens[B, k, L] -> logits[B, k, L, V]``."""

    def __init__(self, model: torch.nn.Module, pad_id: int, batch_size: int = 512) -> None:
        self.model = model.eval()
        self.pad_id = pad_id
        self.batch_size = batch_size

    @torch.no_grad()
    def _logprobs(self, seqs: torch.Tensor) -> torch.Tensor:
        outs = []
        for i in range(0, len(seqs), self.batch_size):
            logits = self.model(seqs[i : i + self.batch_size].unsqueeze(1)).squeeze(1)
            outs.append(torch.log_softmax(logits.float(), dim=-1))
        return torch.cat(outs)

    def next_logprobs(self, prefixes: torch.Tensor) -> torch.Tensor:
        """Log-probabilities of the next token after each prefix row: ``(N, V)``."""
        return self._logprobs(prefixes)[:, -1]

    def continuation_logprobs(
        self, context: Sequence[int], continuations: torch.Tensor
    ) -> torch.Tensor:
        """Total log-probability of each continuation row ``(N, m)`` after ``context``."""
        n, m = continuations.shape
        ctx = torch.tensor(list(context), dtype=torch.long).expand(n, -1)
        seqs = torch.cat([ctx, continuations], dim=1)
        lp = self._logprobs(seqs[:, :-1])[:, len(context) - 1 :]
        return lp.gather(-1, continuations.unsqueeze(-1)).squeeze(-1).sum(1)

    @torch.no_grad()
    def greedy(self, context: Sequence[int], n: int) -> list[int]:
        seq = list(context)
        for _ in range(n):
            logits = self.model(torch.tensor([[seq]], dtype=torch.long))[0, 0, -1]
            seq.append(int(logits.argmax()))
        return seq[len(context) :]

    @torch.no_grad()
    def losses(self, units: Sequence[torch.Tensor]) -> torch.Tensor:
        """Mean token loss of each unit (one message or one user's messages)."""
        out = []
        for i in range(0, len(units), 64):
            batch = collate_units(units[i : i + 64], self.pad_id)
            out.append(unit_losses(self.model, batch, self.pad_id))
        return torch.cat(out) if out else torch.empty(0)
