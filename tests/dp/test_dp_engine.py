"""DP-SGD pieces: per-unit gradients are really per unit, noise and sampling are sound."""

import numpy as np
import pytest
import torch
from opacus import GradSampleModule

from privml.dp import DPConfig, secure_normal, secure_poisson_batches, train_dp
from privml.model.encoding import collate_units, unit_losses
from privml.model.gpt import GPTConfig, TinyGPT

PAD = 0


def _units(n_units: int, seed: int = 0) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    units = []
    for i in range(n_units):
        rows = torch.randint(1, 50, (1 + i % 3, 9), generator=g)
        rows[:, -2:] = PAD  # some padding, as in real data
        units.append(rows)
    return units


def test_per_unit_gradient_equals_gradient_of_that_unit_alone():
    """A user-level unit spans several rows; Opacus must give its whole gradient."""
    torch.manual_seed(0)
    model = TinyGPT(GPTConfig(vocab_size=50, d_model=16, n_layers=1, n_heads=2, context=8))
    units = _units(4)
    gsm = GradSampleModule(model, batch_first=True, loss_reduction="mean")
    batch = collate_units(units, PAD)
    unit_losses(gsm, batch, PAD).mean().backward()
    per_unit = {
        n.removeprefix("_module."): p.grad_sample.clone() for n, p in gsm.named_parameters()
    }
    gsm._close()
    for i, u in enumerate(units):
        model.zero_grad()
        unit_losses(model, collate_units([u], PAD), PAD).mean().backward()
        for n, p in model.named_parameters():
            torch.testing.assert_close(per_unit[n][i], p.grad, atol=1e-5, rtol=1e-4)


def test_secure_normal_has_the_right_moments_and_is_not_repeatable():
    z = secure_normal((200_000,), std=2.0).double()
    assert abs(float(z.mean())) < 4 * 2.0 / np.sqrt(200_000)
    assert float(z.std()) == pytest.approx(2.0, rel=0.01)
    assert not torch.equal(secure_normal((10,), 1.0), secure_normal((10,), 1.0))


def test_poisson_batches_have_expected_size():
    sizes = [len(b) for b in secure_poisson_batches(1000, 0.05, 400)]
    assert np.mean(sizes) == pytest.approx(50, rel=0.05)
    assert len(set(map(len, secure_poisson_batches(1000, 0.05, 20)))) > 1  # sizes vary


@pytest.mark.parametrize("clipping", ["bookkeeping", "opacus"])
def test_train_dp_meets_target_and_learns(clipping):
    torch.manual_seed(0)
    model = TinyGPT(GPTConfig(vocab_size=50, d_model=16, n_layers=1, n_heads=2, context=8))
    # Units that all repeat one pattern: learnable under DP with enough units.
    pattern = torch.tensor([[1, 2, 3, 4, 5, 6, 7, 8, 9]])
    units = [pattern.clone() for _ in range(400)]
    before = float(unit_losses(model, collate_units(units[:8], PAD), PAD).mean())
    cfg = DPConfig(
        target_epsilon=3.0,
        delta=1e-4,
        max_grad_norm=1.0,
        epochs=4,
        expected_batch_size=100,
        lr=0.02,
        clipping=clipping,
    )
    st = train_dp(model, units, cfg, pad_id=PAD)
    after = float(unit_losses(model, collate_units(units[:8], PAD), PAD).mean())
    assert st.epsilon <= 3.0 and st.accountant == "prv" and st.epsilon_rdp >= st.epsilon
    assert st.steps == 16 and st.sampling_rate == pytest.approx(0.25)
    assert after < before - 0.5 and st.clipping == clipping
    assert not any(hasattr(p, "grad_sample") for p in model.parameters())  # hooks removed
    assert not model._forward_hooks and all(not m._forward_hooks for m in model.modules())


def test_bucketed_step_equals_one_pass_over_the_batch(monkeypatch):
    """Processing a Poisson batch in size buckets must not change the clipped sum."""
    import privml.dp.engine as eng

    torch.manual_seed(0)
    units = _units(7)  # 1, 2 and 3 rows: three buckets
    grads = []
    for max_rows in (1, 10_000):  # one unit per pass vs one pass over everything
        monkeypatch.setattr(eng, "MAX_ROWS_PER_PASS", max_rows)
        torch.manual_seed(0)
        model = TinyGPT(GPTConfig(vocab_size=50, d_model=16, n_layers=1, n_heads=2, context=8))
        gsm = GradSampleModule(model, batch_first=True, loss_reduction="mean")
        sgd = torch.optim.SGD(gsm.parameters(), lr=1.0)
        opt = eng.SecureDPOptimizer(
            sgd, noise_multiplier=0.0, max_grad_norm=0.1, expected_batch_size=len(units)
        )
        before = [p.detach().clone() for p in model.parameters()]
        eng._accumulate_and_step(gsm, opt, units, PAD)
        grads.append(
            torch.cat(
                [
                    (b - p.detach()).flatten()
                    for b, p in zip(before, model.parameters(), strict=True)
                ]
            )
        )
        gsm._close()
    torch.testing.assert_close(grads[0], grads[1], atol=1e-6, rtol=1e-4)
    # every unit was clipped to 0.1, so the mean update is at most 0.1 in norm
    assert float(grads[0].norm()) <= 0.1 + 1e-5


def test_unknown_clipping_is_refused_and_unsupported_layers_fall_back_to_opacus():
    import privml.dp.engine as eng

    model = TinyGPT(GPTConfig(vocab_size=50, d_model=16, n_layers=1, n_heads=2, context=8))
    cfg = DPConfig(3.0, 1e-4, 1.0, 1, 10, 0.01, clipping="fast")
    with pytest.raises(ValueError, match="dp.clipping"):
        eng._clipping_method(cfg, model)
    conv = torch.nn.Sequential(torch.nn.Conv1d(2, 2, 3))
    assert eng._clipping_method(DPConfig(3.0, 1e-4, 1.0, 1, 10, 0.01), conv) == "opacus"
    assert eng._clipping_method(DPConfig(3.0, 1e-4, 1.0, 1, 10, 0.01), model) == "bookkeeping"
