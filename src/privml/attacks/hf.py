"""Scorer for a Hugging Face causal LM, so every language-model attack runs on one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from privml.attacks.lm import _ScorerBase


class HFCausalLMScorer(_ScorerBase):
    """Scorer for a Hugging Face causal LM (``model(input_ids=, attention_mask=).logits``).

    Batches are right-padded (with ``pad_id``, masked out), which leaves every real position's
    logits unchanged in a causal model.
    """

    def __init__(self, model: Any, pad_id: int | None = None, batch_size: int = 64) -> None:
        self.model = model.eval()
        cfg = getattr(model, "config", None)
        self.pad_id = pad_id if pad_id is not None else getattr(cfg, "pad_token_id", None)
        self.bos_id: int | None = getattr(cfg, "bos_token_id", None)
        self.batch_size = batch_size
        self.window: int | None = getattr(cfg, "n_positions", None) or getattr(
            cfg, "max_position_embeddings", None
        )

    @property
    def _device(self) -> torch.device:
        return next(self.model.parameters()).device

    @torch.no_grad()
    def _logits(self, ids: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        ids = ids.to(self._device)
        mask = torch.ones_like(ids) if mask is None else mask.to(self._device)
        out = self.model(input_ids=ids, attention_mask=mask, use_cache=False)
        return out.logits.float().cpu()

    def _logprobs(self, seqs: torch.Tensor) -> torch.Tensor:
        outs = [
            torch.log_softmax(self._logits(seqs[i : i + self.batch_size]), dim=-1)
            for i in range(0, len(seqs), self.batch_size)
        ]
        return torch.cat(outs)

    @torch.no_grad()
    def losses(self, units: Sequence[torch.Tensor]) -> torch.Tensor:
        """Mean token loss of each unit.

        A 1-D unit is one token sequence, every token real. A 2-D unit is a stack of privml
        rows (``encode_units``), right-padded with ``pad_id``: PAD targets are ignored, as in
        ``TorchLMScorer``.
        """
        rows: list[tuple[int, torch.Tensor, torch.Tensor]] = []  # (unit, ids, target mask)
        for u, unit in enumerate(units):
            for row in unit.reshape(-1, unit.shape[-1]) if unit.dim() > 1 else [unit]:
                valid = torch.ones(len(row) - 1, dtype=torch.bool)
                if unit.dim() > 1 and self.pad_id is not None:
                    valid = row[1:] != self.pad_id
                    row = row[: int(valid.nonzero().max()) + 2] if valid.any() else row[:2]
                    valid = valid[: len(row) - 1]
                rows.append((u, row, valid))
        sums = torch.zeros(len(units), dtype=torch.float64)
        counts = torch.zeros(len(units), dtype=torch.float64)
        pad = self.pad_id if self.pad_id is not None else 0
        for i in range(0, len(rows), self.batch_size):
            chunk = rows[i : i + self.batch_size]
            width = max(len(r) for _, r, _ in chunk)
            ids = torch.full((len(chunk), width), pad, dtype=torch.long)
            attn = torch.zeros((len(chunk), width), dtype=torch.long)
            tmask = torch.zeros((len(chunk), width - 1), dtype=torch.bool)
            for j, (_, r, v) in enumerate(chunk):
                ids[j, : len(r)], attn[j, : len(r)], tmask[j, : len(v)] = r, 1, v
            logits = self._logits(ids, attn)[:, :-1]
            tok = torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1), reduction="none"
            ).view(len(chunk), -1)
            tok = (tok * tmask).double().sum(1)
            for j, (u, _, _) in enumerate(chunk):
                sums[u] += tok[j]
                counts[u] += tmask[j].sum()
        return (sums / counts.clamp(min=1.0)).float()
