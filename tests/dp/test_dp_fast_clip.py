"""Book-keeping clipping must give exactly Opacus's per-sample clipped sums."""

from __future__ import annotations

import copy
import warnings

import pytest
import torch
from opacus import GradSampleModule
from opacus.optimizers import DPOptimizer
from torch import nn

from privml.dp.fast_clip import BookkeepingClipper, unsupported_layers
from privml.model.encoding import unit_losses
from privml.model.gpt import GPTConfig, TinyGPT

PAD = 0


def _batch(seed: int, b: int, k: int, length: int, vocab: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(1, vocab, (b, k, length), generator=g)
    x[0, -1, length // 2 :] = PAD  # ragged units, as collate_units makes them
    if b > 1:
        x[1, :, 3:] = PAD
    return x


def _opacus_sum(model: nn.Module, loss_fn, clip: float) -> list[torch.Tensor]:
    gsm = GradSampleModule(copy.deepcopy(model), batch_first=True, loss_reduction="sum")
    opt = DPOptimizer(
        torch.optim.SGD(gsm.parameters(), lr=0.0),
        noise_multiplier=0.0,
        max_grad_norm=clip,
        expected_batch_size=1,
        loss_reduction="sum",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loss_fn(gsm).sum().backward()
    opt.pre_step()
    return [p.summed_grad for p in gsm.parameters()]


def _ours(model: nn.Module, loss_fn, clip: float) -> tuple[list[torch.Tensor], BookkeepingClipper]:
    model = copy.deepcopy(model)
    clipper = BookkeepingClipper(model, clip)
    clipper.accumulate(lambda: loss_fn(model))
    clipper.close()
    return [p.grad for p in model.parameters()], clipper


@pytest.mark.parametrize("clip", [1e-3, 0.05, 1e3])  # all clipped, some, none
@pytest.mark.parametrize(
    "k,length",
    [(1, 4), (3, 9)],  # 4 tokens a unit: ghost norms; 27: materialised (cheaper) for small layers
)
def test_clipped_sum_equals_opacus_per_sample_clipping(clip, k, length):
    torch.manual_seed(0)
    model = TinyGPT(GPTConfig(vocab_size=40, d_model=16, n_layers=2, n_heads=2, context=12))
    x = _batch(1, 6, k, length, 40)

    def loss_fn(m):
        return unit_losses(m, x, PAD)

    ours, _ = _ours(model, loss_fn, clip)
    ref = _opacus_sum(model, loss_fn, clip)
    for a, b in zip(ours, ref, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-7)


def test_norms_are_the_per_unit_gradient_norms_and_padding_rows_get_nothing():
    """Against a plain loop of one backward pass per unit (no Opacus involved)."""
    torch.manual_seed(0)
    emb = nn.Embedding(30, 8, padding_idx=PAD)
    model = nn.Sequential(emb, nn.LayerNorm(8), nn.Linear(8, 30))
    x = torch.randint(0, 30, (5, 7))
    x[0] = PAD  # a unit of padding only: no embedding gradient

    def loss_fn(m):
        return m(x).logsumexp(-1).mean(1)

    _, clipper = _ours(model, loss_fn, 1e9)
    for i in range(len(x)):
        model.zero_grad()
        model(x[i : i + 1]).logsumexp(-1).mean().backward()
        want = torch.cat([p.grad.flatten() for p in model.parameters()]).norm()
        assert float(clipper.last_norms[i]) == pytest.approx(float(want), rel=1e-4)
    ours, _ = _ours(model, loss_fn, 1e9)
    assert float(ours[0][PAD].abs().max()) == 0.0


def test_bfloat16_forward_still_bounds_each_contribution():
    """Under bf16 autocast, norms and sums use the same upcast values: one unit's clipped
    gradient never exceeds the clipping norm."""
    torch.manual_seed(0)
    model = TinyGPT(GPTConfig(vocab_size=40, d_model=16, n_layers=1, n_heads=2, context=12))
    x = _batch(2, 1, 1, 10, 40)
    clipper = BookkeepingClipper(model, 0.01)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        clipper.accumulate(lambda: unit_losses(model, x, PAD))
    total = torch.cat([p.grad.flatten() for p in model.parameters()]).norm()
    assert all(p.grad.dtype == torch.float32 for p in model.parameters())
    assert 0.0099 < float(total) <= 0.01 * (1 + 1e-5)


def test_unsupported_layers_and_double_calls_are_refused():
    conv = nn.Sequential(nn.Conv1d(2, 2, 3), nn.Linear(2, 2))
    assert unsupported_layers(conv) == ["0 (Conv1d)"]
    with pytest.raises(ValueError, match="Conv1d"):
        BookkeepingClipper(conv, 1.0)
    lin = nn.Linear(3, 3)
    twice = BookkeepingClipper(lin, 1.0)
    with pytest.raises(ValueError, match="called twice"):
        twice.accumulate(lambda: lin(lin(torch.ones(2, 3))).sum(1))
    with pytest.raises(ValueError, match="max_grad_norm"):
        BookkeepingClipper(lin, 0.0)
