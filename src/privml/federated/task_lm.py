"""The text-prediction federated task: each client is one user of a private e-mail corpus.

Cross-device: a client holds one user's messages (the project's JSONL, ``{user_id, text}``),
encoded with the public-only tokenizer (trained on the packaged public text, written once by the
server and read by every client, so no vocabulary is ever learned from private text). The model
is privml's tiny GPT; utility is next-word accuracy on held-out users, and the membership attack
scores each user by their mean next-token loss (members: training users; controls: held-out
users, who are never sampled). Users are split by a seeded shuffle of the sorted user ids, so
every process rebuilds the same split.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from tokenizers import Tokenizer
from torch import nn

from privml.data.records import read_records
from privml.federated.task_tabular import make_optimizer
from privml.model.encoding import collate_units, encode_units, unit_losses
from privml.model.evaluate import lm_utility
from privml.model.gpt import GPTConfig, TinyGPT
from privml.model.tokenizer import PAD, load_tokenizer


@dataclass(frozen=True, eq=False)
class FedTextDataset:
    """One encoded unit (rows × context+1 token ids) per user: training users, then held out."""

    units: tuple[torch.Tensor, ...]
    clients: int
    tokenizer: Tokenizer
    context: int
    user_ids: tuple[str, ...] = ()

    @property
    def pad(self) -> int:
        return int(self.tokenizer.token_to_id(PAD))

    @property
    def vocab_size(self) -> int:
        return int(self.tokenizer.get_vocab_size())

    def client(self, cid: int) -> torch.Tensor:
        if not 0 <= cid < len(self.units):
            raise ValueError(f"partition-id: must be in [0, {len(self.units)}), got {cid}")
        return self.units[cid]

    def heldout(self) -> list[torch.Tensor]:
        return list(self.units[self.clients :])


@lru_cache(maxsize=2)
def load_text_dataset(
    path: str, tokenizer_path: str, clients: int, holdout: int, context: int, seed: int
) -> FedTextDataset:
    """The seeded user split of ``path`` (cached per process: every round reuses it)."""
    if clients < 1 or holdout < 1:
        raise ValueError(f"data: need >= 1 training and held-out user, got {clients}, {holdout}")
    by_user: dict[str, list[str]] = {}
    for r in read_records(path).records:
        by_user.setdefault(r.user_id, []).append(r.text)
    users = sorted(by_user)
    if len(users) < clients + holdout:
        raise ValueError(
            f"{path}: {len(users)} users, fewer than data.clients + data.holdout_clients "
            f"({clients} + {holdout})"
        )
    order = np.random.default_rng(seed).permutation(len(users))[: clients + holdout]
    tok = load_tokenizer(tokenizer_path)
    units = encode_units(tok, [by_user[users[i]] for i in order], context)
    return FedTextDataset(tuple(units), clients, tok, context, tuple(users[i] for i in order))


def make_lm(vocab_size: int, d_model: int, layers: int, heads: int, context: int, seed: int):
    torch.manual_seed(seed)
    return TinyGPT(GPTConfig(vocab_size, d_model, layers, heads, context))


def local_train_lm(
    model: nn.Module,
    unit: torch.Tensor,
    pad: int,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    optimizer: str,
    seed: int,
) -> float:
    """``epochs`` passes over the user's rows (mini-batches of rows); the mean training loss."""
    gen = torch.Generator().manual_seed(seed)
    opt = make_optimizer(model, optimizer, lr)
    model.train()
    total, seen = 0.0, 0
    for _ in range(epochs):
        order = torch.randperm(unit.shape[0], generator=gen)
        for start in range(0, len(order), batch_size):
            rows = unit[order[start : start + batch_size]]
            batch = collate_units([rows], pad)
            opt.zero_grad()
            loss = unit_losses(model, batch, pad).mean()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(rows)
            seen += len(rows)
    return total / max(seen, 1)


@torch.no_grad()
def evaluate_lm(model: nn.Module, ds: FedTextDataset) -> dict[str, float]:
    """Next-word accuracy, loss (mean next-token cross-entropy) and perplexity on held-out users."""
    out = lm_utility(model, ds.heldout(), ds.tokenizer, ds.pad)
    return {
        "accuracy": float(out["next_word_accuracy"]),
        "loss": float(np.log(out["perplexity"])),
        "perplexity": float(out["perplexity"]),
    }


@torch.no_grad()
def user_losses(model: nn.Module, units: list[torch.Tensor], pad: int) -> np.ndarray:
    """Each user's mean next-token loss (the loss attack's score, one per user)."""
    model.eval()
    out = [float(unit_losses(model, collate_units([u], pad), pad)[0]) for u in units]
    return np.asarray(out)
