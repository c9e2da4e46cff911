"""Non-private training: length-bucketed batches and a loss that goes down."""

from __future__ import annotations

import torch

from privml.model.encoding import collate_units, unit_losses
from privml.model.gpt import GPTConfig, TinyGPT
from privml.model.train import _length_bucketed, train_lm


def test_bucketed_batches_cover_each_unit_once_and_pad_less_than_random():
    g = torch.Generator().manual_seed(0)
    lengths = torch.randint(3, 65, (1000,), generator=g).tolist()
    batches = _length_bucketed(lengths, 16, torch.Generator().manual_seed(1))
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(1000)) and len(batches) == 63
    padded = sum(max(lengths[i] for i in b) * len(b) for b in batches)
    order = torch.randperm(1000, generator=torch.Generator().manual_seed(1)).tolist()
    random = sum(max(lengths[i] for i in order[j : j + 16]) * 16 for j in range(0, 1000, 16))
    assert padded < 0.7 * random
    again = _length_bucketed(lengths, 16, torch.Generator().manual_seed(1))
    assert again == batches  # seeded


def test_train_lm_learns_a_pattern():
    torch.manual_seed(0)
    model = TinyGPT(GPTConfig(vocab_size=20, d_model=16, n_layers=1, n_heads=2, context=8))
    units = [torch.tensor([[1, 2, 3, 4, 5, 6, 7, 8, 9][: 3 + i % 6] + [0] * (6 - i % 6)])
             for i in range(64)]  # fmt: skip
    before = float(unit_losses(model, collate_units(units, 0), 0).mean())
    st = train_lm(model, units, pad_id=0, epochs=3, batch_size=8, lr=0.01, seed=0)
    after = float(unit_losses(model, collate_units(units, 0), 0).mean())
    assert st.steps == 24 and after < before - 1.0
