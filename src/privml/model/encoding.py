"""Turn texts into fixed-width token rows and group rows into privacy units.

A message becomes ``[BOS] tokens [EOS]``, cut into rows of ``context + 1`` tokens (input is the
first ``context``, target the last ``context``), the last row right-padded with ``[PAD]``. Public
text for pre-training is packed back to back instead, since it has no message boundaries.
A *unit* is the stack of rows that one privacy unit contributes: one message (example-level)
or all messages of one user (user-level).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from tokenizers import Tokenizer

from privml.model.tokenizer import BOS, EOS, PAD


def encode_rows(tok: Tokenizer, text: str, context: int) -> list[list[int]]:
    """Rows of ``context + 1`` ids for one message (a long message spans several rows)."""
    return encode_packed(tok, [text], context)


def encode_packed(tok: Tokenizer, texts: Sequence[str], context: int) -> list[list[int]]:
    """Rows of ``context + 1`` ids holding ``[BOS] text [EOS]`` for each text back to back.

    Packing one privacy unit's messages into shared rows wastes no compute on padding; rows
    overlap by one token so every token is predicted exactly once.
    """
    bos, eos, pad = tok.token_to_id(BOS), tok.token_to_id(EOS), tok.token_to_id(PAD)
    ids: list[int] = []
    for enc in tok.encode_batch(list(texts)):
        ids += [bos, *enc.ids, eos]
    rows = []
    for start in range(0, max(len(ids) - 1, 1), context):
        row = ids[start : start + context + 1]
        rows.append(row + [pad] * (context + 1 - len(row)))
    return rows


def encode_units(
    tok: Tokenizer, groups: Sequence[Sequence[str]], context: int, max_rows: int | None = None
) -> list[torch.Tensor]:
    """One ``(rows, context + 1)`` tensor per group of texts, each message starting a new row.

    Messages are not packed together, so each starts at position 0 after ``[BOS]``, exactly as
    the model is queried at inference (and by the attacks). ``max_rows`` bounds what one unit
    may contribute (rows beyond it are dropped).
    """
    units = []
    for texts in groups:
        rows = [r for t in texts for r in encode_rows(tok, t, context)]
        if max_rows is not None:
            rows = rows[:max_rows]
        units.append(torch.tensor(rows, dtype=torch.long))
    return units


def collate_units(units: Sequence[torch.Tensor], pad_id: int) -> torch.Tensor:
    """Stack units into ``(B, k_max, width)``, padding short units with PAD rows.

    Trailing columns that are padding in every row are cut off (``width`` <= ``context + 1``):
    no compute is spent on them, and positions stay aligned since rows are left-aligned.
    """
    if not units:
        raise ValueError("cannot collate an empty batch")
    k = max(u.shape[0] for u in units)
    width = units[0].shape[1]
    out = torch.full((len(units), k, width), pad_id, dtype=torch.long)
    for i, u in enumerate(units):
        out[i, : u.shape[0]] = u
    used = (out != pad_id).flatten(0, 1).any(0).nonzero()
    keep = max(2, int(used.max()) + 1) if len(used) else 2
    return out[..., :keep]


def unit_losses(model: torch.nn.Module, batch: torch.Tensor, pad_id: int) -> torch.Tensor:
    """Mean next-token cross-entropy of each unit in ``batch`` (shape ``(B,)``)."""
    logits = model(batch[..., :-1])
    targets = batch[..., 1:]
    b = batch.shape[0]
    tok_loss = torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="none"
    ).view(b, -1)
    mask = (targets != pad_id).view(b, -1).float()
    return (tok_loss * mask).sum(1) / mask.sum(1).clamp(min=1.0)
