"""Many copies of one network trained at once, each on its own rows: LiRA/RMIA reference models.

The k members' weights are stacked along a new leading dimension (``torch.func.
stack_module_state``); each step every member gets its own minibatch (an index tensor
``(k, B)`` into the shared data), forward and backward run as batched kernels for all k, and
one optimizer updates the stacked tensors. Adam and SGD are elementwise, so optimizing the
stacked tensors is exactly k independent optimizers (all members step together, so Adam's
shared step count is right). The general path is ``vmap`` (over members) of
``grad(functional_call(...))``; nets made only of Linear layers and elementwise activations
(MLP, LogisticRegression) take ``stacked``'s batched-matmul fast path instead, which gives the
same result ~1.3x faster (see ``stacked``).

Member ``i`` is initialised by ``make_model()`` after ``torch.manual_seed(member_seed(seed, i))``
and, without DP, sees exactly the batches ``train.fit(..., seed=member_seed(seed, i))`` would
draw from its rows, so a loop of ``fit`` reproduces the ensemble up to float rounding.

With ``EnsembleDP`` each member runs DP-SGD as Opacus does for the target: Poisson sampling
(padded to the step's largest batch, padding masked out), per-sample gradients (nested vmap over
members x samples; for Linear nets the equivalent per-sample-norm trick in ``stacked``),
clipping each sample's gradient to ``max_grad_norm``, summing, adding Gaussian noise of std
``noise_multiplier * max_grad_norm`` from the OS CSPRNG (``secure_normal``) and dividing by the
expected batch size ``q * rows``. Batch selection uses a seeded generator so reference runs are
reproducible; only the noise has to be unpredictable.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad, stack_module_state, vmap

from privml.classifiers.recipe import Recipe
from privml.classifiers.stacked import clipped_grad_sums, stacked_forward, stacked_layers
from privml.classifiers.train import ArrayLike, BatchSampler, Progress, as_tensors, make_optimizer
from privml.dp.secure_random import secure_normal

Tensors = dict[str, torch.Tensor]
_DP_CHUNK_FLOATS = 2**25  # per-sample gradient floats held at once (128 MB) under DP
_BLOCK_STEPS = 32  # batches drawn per member at once (amortises per-member Python work)
_SAMPLING_STREAM = 2**32  # member_seed index of the DP batch-sampling generator


@dataclass(frozen=True)
class EnsembleDP:
    """DP-SGD settings for every member: Poisson rate q, noise multiplier, clipping norm."""

    noise_multiplier: float
    max_grad_norm: float
    sampling_rate: float

    def __post_init__(self) -> None:
        if self.noise_multiplier < 0:
            raise ValueError(f"noise_multiplier: must be >= 0, got {self.noise_multiplier}")
        if not self.max_grad_norm > 0:
            raise ValueError(f"max_grad_norm: must be > 0, got {self.max_grad_norm}")
        if not 0 < self.sampling_rate <= 1:
            raise ValueError(f"sampling_rate: must be in (0, 1], got {self.sampling_rate}")


def member_seed(seed: int, i: int) -> int:
    """Seed of member ``i`` (initial weights and batch order), derived from the run's seed."""
    return int(np.random.SeedSequence([seed, i]).generate_state(1, np.uint64)[0] >> np.uint64(1))


def random_half_masks(k: int, n: int, seed: int) -> np.ndarray:
    """``(k, n)`` membership: each example is "in" for exactly k/2 models chosen at random.

    The LiRA paper's scheme (Carlini et al. 2022): every example has as many IN as OUT
    reference models, whatever k.
    """
    if k < 2 or k % 2:
        raise ValueError(f"k: must be an even number >= 2, got {k}")
    order = np.argsort(np.random.default_rng(seed).random((k, n)), axis=0)
    masks = np.zeros((k, n), dtype=bool)
    masks[order[: k // 2], np.arange(n)] = True
    return masks


class Ensemble:
    """k trained copies of one network as stacked weights; ``in_masks[i]`` = member i's rows."""

    def __init__(
        self, template: nn.Module, params: Tensors, buffers: Tensors, in_masks: np.ndarray
    ) -> None:
        self.template = template.eval()
        self.params = params
        self.buffers = buffers
        self.in_masks = in_masks

    @property
    def k(self) -> int:
        return len(self.in_masks)

    def _call(self, params: Tensors, buffers: Tensors, x: torch.Tensor) -> torch.Tensor:
        return functional_call(self.template, (params, buffers), (x,))

    @torch.no_grad()
    def logits(self, X: ArrayLike, batch_size: int = 1024) -> torch.Tensor:
        """Every member's logits on ``X``: ``(k, n, classes)``."""
        xt, _ = as_tensors(X)
        layers = stacked_layers(self.template)
        if layers is not None:
            return torch.cat(
                [
                    stacked_forward(
                        layers, self.params, xt[i : i + batch_size].expand(self.k, -1, -1)
                    )
                    for i in range(0, max(len(xt), 1), batch_size)
                ],
                dim=1,
            )
        f = vmap(self._call, in_dims=(0, 0, None))
        chunks = [
            f(self.params, self.buffers, xt[i : i + batch_size])
            for i in range(0, max(len(xt), 1), batch_size)
        ]
        return torch.cat(chunks, dim=1)

    def member(self, i: int) -> nn.Module:
        """Member ``i`` as an ordinary standalone module (a copy)."""
        model = copy.deepcopy(self.template)
        state = {n: t[i] for n, t in {**self.params, **self.buffers}.items()}
        model.load_state_dict(state)
        return model.eval()


def _build(
    make_model: Callable[[], nn.Module], k: int, seed: int
) -> tuple[nn.Module, Tensors, Tensors]:
    models = []
    for i in range(k):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(member_seed(seed, i))
            models.append(make_model())
    params, buffers = stack_module_state(models)
    return copy.deepcopy(models[0]), params, buffers


def fit_ensemble(
    make_model: Callable[[], nn.Module],
    X: ArrayLike,
    y: ArrayLike,
    in_masks: np.ndarray,
    recipe: Recipe,
    *,
    seed: int,
    dp: EnsembleDP | None = None,
    progress: Progress | None = None,
) -> Ensemble:
    """Train ``k = len(in_masks)`` models at once, model i only on rows ``in_masks[i]``.

    Without DP every member takes ``ceil(epochs * mean_rows / B)`` steps of exactly ``B =
    min(batch_size, fewest rows)`` of its own rows. With DP, ``round(epochs / q)`` steps of
    Poisson batches (``recipe.batch_size`` is then unused).
    """
    xt, yt = as_tensors(X, y)
    masks = np.asarray(in_masks, dtype=bool)
    if masks.ndim != 2 or masks.shape[1] != len(xt):
        raise ValueError(f"in_masks: must have shape (k, {len(xt)}), got {masks.shape}")
    if len(masks) == 0 or not masks.any(axis=1).all():
        raise ValueError("in_masks: need at least one model and at least one row per model")
    rows = [torch.from_numpy(np.flatnonzero(m)) for m in masks]
    template, params, buffers = _build(make_model, len(masks), seed)
    opt = make_optimizer(params.values(), recipe)
    train = _train_plain if dp is None else _train_dp
    train(_Job(template, params, buffers, opt, xt, yt, rows, recipe, seed), dp, progress)
    params = {n: p.detach() for n, p in params.items()}
    return Ensemble(template, params, buffers, masks)


def _apply(opt: torch.optim.Optimizer, params: Tensors, grads: Tensors) -> None:
    for name, p in params.items():
        p.grad = grads[name]
    opt.step()


def _rows(xt: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """``xt[idx]`` for a ``(k, B)`` index; ``index_select`` is ~3x faster than ``xt[idx]``."""
    return xt.index_select(0, idx.reshape(-1)).view(*idx.shape, *xt.shape[1:])


@dataclass
class _Job:
    """Everything one ensemble training loop works on."""

    template: nn.Module
    params: Tensors
    buffers: Tensors
    opt: torch.optim.Optimizer
    xt: torch.Tensor
    yt: torch.Tensor
    rows: list[torch.Tensor]  # member i's row indices
    recipe: Recipe
    seed: int


def _train_plain(job: _Job, dp: None, progress: Progress | None) -> None:
    template, params, buffers, opt = job.template, job.params, job.buffers, job.opt
    xt, yt, rows, recipe, seed = job.xt, job.yt, job.rows, job.recipe, job.seed
    layers = stacked_layers(template)

    def loss(p: Tensors, b: Tensors, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(functional_call(template, (p, b), (xb,)), yb)

    step_grads = vmap(grad(loss))

    def step(idx: torch.Tensor) -> None:
        xb, yb = _rows(xt, idx), yt[idx]
        if layers is None:
            with torch.no_grad():
                _apply(opt, params, step_grads(params, buffers, xb, yb))
            return
        # Fast path: sum over members of each member's mean loss; member i's slice of the
        # stacked gradient is exactly its own gradient.
        opt.zero_grad(set_to_none=True)
        out = stacked_forward(layers, params, xb)
        (
            F.cross_entropy(out.flatten(0, 1), yb.flatten(), reduction="sum") / idx.shape[1]
        ).backward()
        opt.step()

    sizes = [len(r) for r in rows]
    batch = min(recipe.batch_size, min(sizes))
    samplers = [
        BatchSampler(len(r), batch, torch.Generator().manual_seed(member_seed(seed, i)))
        for i, r in enumerate(rows)
    ]
    total = max(1, math.ceil(recipe.epochs * float(np.mean(sizes)) / batch))
    for start in range(0, total, _BLOCK_STEPS):  # draw batches for several steps at a time
        steps = min(_BLOCK_STEPS, total - start)
        block = torch.stack([r[s.take(steps * batch)] for r, s in zip(rows, samplers, strict=True)])
        block = block.view(len(rows), steps, batch)
        for i in range(steps):
            step(block[:, i])
            if progress is not None:
                progress(start + i + 1, total)


def _train_dp(job: _Job, dp: EnsembleDP, progress: Progress | None) -> None:
    template, params, buffers, opt = job.template, job.params, job.buffers, job.opt
    xt, yt, rows, recipe, seed = job.xt, job.yt, job.rows, job.recipe, job.seed
    clip, layers = dp.max_grad_norm, stacked_layers(template)

    def sample_loss(p: Tensors, b: Tensors, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        out = functional_call(template, (p, b), (x.unsqueeze(0),))
        return F.cross_entropy(out, y.unsqueeze(0))

    per_sample = vmap(grad(sample_loss), in_dims=(None, None, 0, 0))

    def clipped_sum(p: Tensors, b: Tensors, xb: torch.Tensor, yb: torch.Tensor, keep) -> Tensors:
        g = per_sample(p, b, xb, yb)  # name -> (B, *shape)
        norm = torch.stack([torch.linalg.vector_norm(v.flatten(1), dim=1) for v in g.values()])
        norm = torch.linalg.vector_norm(norm, dim=0)
        factor = (clip / (norm + 1e-6)).clamp(max=1.0) * keep
        return {n: torch.tensordot(factor, v, dims=1) for n, v in g.items()}

    k, sizes = len(rows), [len(r) for r in rows]
    table = torch.zeros(k, max(sizes), dtype=torch.int64)
    valid = torch.zeros(k, max(sizes), dtype=torch.bool)
    for i, r in enumerate(rows):
        table[i, : len(r)], valid[i, : len(r)] = r, True
    expected = torch.tensor(sizes, dtype=torch.float32) * dp.sampling_rate  # Opacus: q * n
    n_params = sum(p[0].numel() for p in params.values())
    gen = torch.Generator().manual_seed(member_seed(seed, _SAMPLING_STREAM))
    total = max(1, round(recipe.epochs / dp.sampling_rate))
    for step in range(total):
        keys = torch.rand(k, table.shape[1], generator=gen).masked_fill_(~valid, 2.0)
        width = max(1, int((keys < dp.sampling_rate).sum(1).max()))
        vals, pos = torch.topk(keys, width, dim=1, largest=False)  # each model's draws, padded
        keep = (vals < dp.sampling_rate).to(torch.float32)
        idx = table.gather(1, pos)
        xb, yb = _rows(xt, idx), yt[idx]
        if layers is not None:  # fast path, same result without per-sample gradients
            sums = clipped_grad_sums(layers, params, xb, yb, keep, clip)
        else:
            chunk = max(1, min(k, _DP_CHUNK_FLOATS // (width * n_params)))
            with torch.no_grad():
                sums = vmap(clipped_sum, chunk_size=chunk)(params, buffers, xb, yb, keep)
        with torch.no_grad():
            grads = {}
            for name, s in sums.items():
                if dp.noise_multiplier > 0:
                    s = s + secure_normal(s.shape, dp.noise_multiplier * clip, s.dtype)
                grads[name] = s / expected.view(-1, *[1] * (s.dim() - 1))
            _apply(opt, params, grads)
        if progress is not None:
            progress(step + 1, total)
