"""Per-unit clipped gradient sums in ONE backward pass ("book-keeping" ghost clipping).

DP-SGD needs, per step, ``sum_i c_i * g_i`` where ``g_i`` is unit i's gradient and
``c_i = min(1, C / ||g_i||)``. Opacus gets it either by materialising every ``g_i``
(``GradSampleModule``: memory traffic of B full gradients, plus a dense B x V x d zero-fill for
each embedding) or with ghost clipping (``GradSampleModuleFastGradientClipping``: norms without
materialising, but a second full backward pass for the weighted sum). This module does what Bu
et al. call book-keeping (BK, 2023): one forward, one backward that computes only the gradients
of the layers' *outputs* (no parameter gradients), then from the saved inputs ``A`` and output
gradients ``G`` of every layer:

- each unit's squared gradient norm, per layer, by the ghost identity
  ``||G_i^T A_i||^2 = <G_i G_i^T, A_i A_i^T>`` or by materialising ``G_i^T A_i``, whichever is
  cheaper (for an embedding, ``A_i A_i^T`` is the token-equality matrix);
- the clip factors ``c_i`` from the total norms;
- each parameter's clipped sum as one matrix product, ``(c * G)^T A``.

Supported layers: ``nn.Linear``, ``nn.Embedding`` and ``nn.LayerNorm``, each called once per
forward pass, with the batch (one row per privacy unit) in dimension 0. Measured against both
Opacus modes in BENCHMARKS.md ("DP step: book-keeping clipping against Opacus"); tests check the
sums against Opacus's per-sample clipping.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

SUPPORTED = (nn.Linear, nn.Embedding, nn.LayerNorm)


def unsupported_layers(model: nn.Module) -> list[str]:
    """Names of modules with trainable parameters of their own that this clipper cannot handle."""
    out = []
    for name, m in model.named_modules():
        own = [p for p in m.parameters(recurse=False) if p.requires_grad]
        if own and not isinstance(m, SUPPORTED):
            out.append(f"{name or '<root>'} ({type(m).__name__})")
        elif isinstance(m, nn.LayerNorm) and own and len(m.normalized_shape) != 1:
            out.append(f"{name} (LayerNorm over {len(m.normalized_shape)} dims)")
    return out


def _flat3(t: torch.Tensor) -> torch.Tensor:
    """(B, ..., d) -> (B, T, d)."""
    return t.reshape(t.shape[0], -1, t.shape[-1])


def _gram_dot(a: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Per unit ``<G G^T, A A^T>`` = squared Frobenius norm of ``G^T A`` (ghost identity)."""
    return (torch.bmm(g, g.transpose(1, 2)) * torch.bmm(a, a.transpose(1, 2))).sum((1, 2))


class BookkeepingClipper:
    """Hooks on a model's trainable layers; :meth:`accumulate` adds one chunk's clipped sum.

    >>> clipper = BookkeepingClipper(model, max_grad_norm=1.0)
    >>> losses = clipper.accumulate(lambda: per_unit_losses(model, batch))  # p.grad += sum
    >>> clipper.close()
    """

    def __init__(self, model: nn.Module, max_grad_norm: float) -> None:
        bad = unsupported_layers(model)
        if bad:
            raise ValueError(f"book-keeping clipping does not support: {', '.join(bad)}")
        if max_grad_norm <= 0:
            raise ValueError(f"max_grad_norm: must be > 0, got {max_grad_norm}")
        self.max_grad_norm = float(max_grad_norm)
        self.layers = [
            m
            for m in model.modules()
            if isinstance(m, SUPPORTED) and any(p.requires_grad for p in m.parameters(False))
        ]
        self._records: list[tuple[nn.Module, torch.Tensor, torch.Tensor]] = []
        self._recording = False
        self._handles = [m.register_forward_hook(self._save) for m in self.layers]
        self.last_norms: torch.Tensor | None = None  # per-unit norms of the last chunk

    def _save(self, module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        if not self._recording:
            return
        if any(m is module for m, _, _ in self._records):
            raise ValueError(f"{type(module).__name__} called twice in one forward pass")
        self._records.append((module, inputs[0].detach(), output))

    def close(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []

    def accumulate(self, per_unit_losses: Callable[[], torch.Tensor]) -> torch.Tensor:
        """Run ``per_unit_losses()`` (shape (B,)), add ``sum_i c_i grad(loss_i)`` to each
        trainable parameter's ``.grad``, and return the detached losses."""
        self._records = []
        self._recording = True
        try:
            losses = per_unit_losses()
        finally:
            self._recording = False
        records, self._records = self._records, []
        with torch.autocast("cpu", enabled=False):  # the caller may run the forward in bf16
            return self._clip_and_add(losses, records)

    def _clip_and_add(self, losses: torch.Tensor, records: list) -> torch.Tensor:
        outputs = [out for _, _, out in records]
        grads = torch.autograd.grad(losses.float().sum(), outputs, allow_unused=True)
        b = losses.shape[0]
        sq = torch.zeros(b, dtype=torch.float32)
        parts = []
        for (module, a, _), g in zip(records, grads, strict=True):
            if g is None:
                continue
            norms, finish = _layer(module, a, g)
            sq += norms  # float32 already (_layer upcasts)
            parts.append(finish)
        norms = sq.sqrt()
        coef = (self.max_grad_norm / (norms + 1e-6)).clamp(max=1.0)
        for finish in parts:
            for p, grad in finish(coef):
                p.grad = grad if p.grad is None else p.grad + grad
        self.last_norms = norms
        return losses.detach()


Finish = Callable[[torch.Tensor], list[tuple[nn.Parameter, torch.Tensor]]]


def _layer(module: nn.Module, a: torch.Tensor, g: torch.Tensor) -> tuple[torch.Tensor, Finish]:
    # Norms and sums in float32 from the same values (a bfloat16 forward/backward is upcast
    # first), so each unit's clipped contribution has norm <= C up to float32 rounding.
    g = g.float()
    if a.is_floating_point():
        a = a.float()
    if isinstance(module, nn.Linear):
        return _linear(module, a, g)
    if isinstance(module, nn.Embedding):
        return _embedding(module, a, g)
    return _layer_norm(module, a, g)


def _linear(m: nn.Linear, a: torch.Tensor, g: torch.Tensor) -> tuple[torch.Tensor, Finish]:
    a, g = _flat3(a).to(g.dtype), _flat3(g)
    t, d_in, d_out = a.shape[1], a.shape[2], g.shape[2]
    sq = torch.zeros(a.shape[0], dtype=g.dtype)
    if m.weight.requires_grad:
        if t * (d_in + d_out) <= d_in * d_out:  # ghost: two (T, T) Gram matrices per unit
            sq = sq + _gram_dot(a, g)
        else:  # materialise each unit's (d_out, d_in) gradient
            sq = sq + torch.bmm(g.transpose(1, 2), a).pow(2).sum((1, 2))
    g_sum = g.sum(1)
    if m.bias is not None and m.bias.requires_grad:
        sq = sq + g_sum.pow(2).sum(1)

    def finish(coef: torch.Tensor) -> list:
        out = []
        if m.weight.requires_grad:
            gc = (g * coef[:, None, None].to(g.dtype)).reshape(-1, d_out)
            out.append((m.weight, gc.t() @ a.reshape(-1, d_in)))
        if m.bias is not None and m.bias.requires_grad:
            out.append((m.bias, coef.to(g.dtype) @ g_sum))
        return out

    return sq, finish


def _embedding(m: nn.Embedding, ids: torch.Tensor, g: torch.Tensor) -> tuple[torch.Tensor, Finish]:
    ids, g = ids.reshape(ids.shape[0], -1), _flat3(g)
    if m.padding_idx is not None:  # the padding row gets no gradient
        g = g * (ids != m.padding_idx).unsqueeze(-1).to(g.dtype)
    b, t, d = g.shape
    if t * t <= m.num_embeddings * d:  # ghost: token-equality Gram matrix
        same = (ids.unsqueeze(2) == ids.unsqueeze(1)).to(g.dtype)
        sq = (torch.bmm(g, g.transpose(1, 2)) * same).sum((1, 2))
    else:
        dense = torch.zeros(b, m.num_embeddings, d, dtype=g.dtype)
        sq = dense.scatter_add_(1, ids.unsqueeze(-1).expand(-1, -1, d), g).pow(2).sum((1, 2))

    def finish(coef: torch.Tensor) -> list:
        gc = (g * coef[:, None, None].to(g.dtype)).reshape(-1, d)
        grad = torch.zeros_like(m.weight).index_add_(0, ids.reshape(-1), gc)
        return [(m.weight, grad)]

    return sq, finish


def _layer_norm(m: nn.LayerNorm, x: torch.Tensor, g: torch.Tensor) -> tuple[torch.Tensor, Finish]:
    x, g = _flat3(x).to(g.dtype), _flat3(g)
    x_hat = F.layer_norm(x, m.normalized_shape, eps=m.eps)
    gw = (g * x_hat).sum(1) if m.weight is not None and m.weight.requires_grad else None
    gb = g.sum(1) if m.bias is not None and m.bias.requires_grad else None
    sq = sum(t.pow(2).sum(1) for t in (gw, gb) if t is not None)

    def finish(coef: torch.Tensor) -> list:
        c = coef.to(g.dtype)
        return [(p, c @ t) for p, t in ((m.weight, gw), (m.bias, gb)) if t is not None]

    return sq, finish
