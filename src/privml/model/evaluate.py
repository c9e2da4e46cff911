"""Utility metrics: next-word top-1 accuracy and perplexity on held-out messages.

Next-word accuracy counts positions whose target is a *word*: an alphabetic vocabulary token.
Unknown words, padding, markers, digits, punctuation and PII tags are not words to predict, so
they are excluded (a model must not score by predicting ``[UNK]``). Perplexity is over every
non-padding target.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from tokenizers import Tokenizer

from privml.model.encoding import collate_units


def word_token_mask(tok: Tokenizer) -> torch.Tensor:
    """Boolean mask over the vocabulary: True for alphabetic word tokens."""
    mask = torch.zeros(tok.get_vocab_size(), dtype=torch.bool)
    for token, idx in tok.get_vocab(with_added_tokens=False).items():
        if token.isalpha():
            mask[idx] = True
    return mask


@torch.no_grad()
def lm_utility(
    model: torch.nn.Module,
    units: Sequence[torch.Tensor],
    tok: Tokenizer,
    pad_id: int,
    batch_size: int = 64,
) -> dict:
    model.eval()
    is_word = word_token_mask(tok)
    correct = words = 0
    nll, count = 0.0, 0
    for i in range(0, len(units), batch_size):
        batch = collate_units(units[i : i + batch_size], pad_id)
        logits = model(batch[..., :-1])
        targets = batch[..., 1:]
        valid = targets != pad_id
        ce = torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="none"
        )
        nll += float(ce[valid.reshape(-1)].sum())
        count += int(valid.sum())
        wmask = is_word[targets] & valid
        correct += int(((logits.argmax(-1) == targets) & wmask).sum())
        words += int(wmask.sum())
    return {
        "next_word_accuracy": correct / words if words else 0.0,
        "perplexity": math.exp(nll / count) if count else float("nan"),
        "words_scored": words,
    }
