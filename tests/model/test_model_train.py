"""Non-private training: the loss goes down, in the step count the schedule expects."""

from __future__ import annotations

import torch

from privml.model.encoding import collate_units, unit_losses
from privml.model.gpt import GPTConfig, TinyGPT
from privml.model.train import train_lm


def test_train_lm_learns_a_pattern():
    torch.manual_seed(0)
    model = TinyGPT(GPTConfig(vocab_size=20, d_model=16, n_layers=1, n_heads=2, context=8))
    units = [torch.tensor([[1, 2, 3, 4, 5, 6, 7, 8, 9][: 3 + i % 6] + [0] * (6 - i % 6)])
             for i in range(64)]  # fmt: skip
    before = float(unit_losses(model, collate_units(units, 0), 0).mean())
    st = train_lm(model, units, pad_id=0, epochs=3, batch_size=8, lr=0.01, seed=0)
    after = float(unit_losses(model, collate_units(units, 0), 0).mean())
    assert st.steps == 24 and after < before - 1.0
