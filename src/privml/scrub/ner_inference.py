"""The NER tagger's inference path: the trained ``TokenCNN`` as a few matrix products.

``TokenCNN`` (``ner_tagger``) is written for training: ``nn.Conv1d`` over a ``(1, width, L)``
tensor. At inference the same arithmetic runs faster in a ``(L, width)`` layout, where each
kernel-3 convolution is ONE matrix product of the three shifted copies of the sequence side by
side (``[h[t-1], h[t], h[t+1]] @ W``) and every elementwise step is in place on contiguous
memory. In float32 the tags are the ones ``TokenCNN`` gives (a test checks it).

On CPUs with native bfloat16 arithmetic (AVX512-BF16 or AMX) it runs in bfloat16, about twice as
fast (BENCHMARKS.md, Scrubbing). Rounding then moves a handful of borderline tokens
(26 of 165,000 on the demo corpus); the scrubber's accuracy figures are measured on this path.
``PRIVML_NER_DTYPE=float32`` (or ``bfloat16``) overrides the choice, e.g. to get bit-identical
tags across machines.
"""

from __future__ import annotations

import os
from functools import cache

import torch
from torch import nn

DTYPE_ENV = "PRIVML_NER_DTYPE"
# Packed sequences are padded (with gap rows) to a multiple of this many rows. oneDNN prepares a
# kernel per matrix shape, and every batch of texts has its own length: without buckets, new text
# kept paying for kernel set-up (a third of the products' time on the demo corpus).
ROW_BUCKET = 128
_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


@cache
def native_bf16() -> bool:
    """Whether this CPU computes in bfloat16 natively (otherwise PyTorch emulates it, slowly)."""
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in checks)


def inference_dtype() -> torch.dtype:
    """bfloat16 where the CPU has it natively, else float32; ``PRIVML_NER_DTYPE`` overrides."""
    wanted = os.environ.get(DTYPE_ENV, "").strip().lower()
    if wanted:
        if wanted not in _DTYPES:
            raise ValueError(f"{DTYPE_ENV}: expected one of {sorted(_DTYPES)}, got {wanted!r}")
        return _DTYPES[wanted]
    return torch.bfloat16 if native_bf16() else torch.float32


def weights_version(model: nn.Module) -> tuple[int, ...]:
    """Changes whenever a parameter is modified in place (optimizer steps, ``load_state_dict``)."""
    return tuple(p._version for p in model.parameters())


def _pad_rows(t: torch.Tensor, multiple: int) -> torch.Tensor:
    """``t`` with zero rows appended up to a multiple of ``multiple`` rows."""
    extra = -len(t) % multiple
    return torch.cat([t, t.new_zeros((extra, *t.shape[1:]))]) if extra else t


class InferenceNet:
    """A frozen copy of a ``TokenCNN``'s weights, laid out for inference in ``dtype``.

    ``__call__(ids, gaz, mask)`` takes what ``ner_tagger.Featurizer`` makes and returns float32
    tag scores ``(L, n_tags)``, like ``TokenCNN.forward`` in eval mode.
    """

    def __init__(self, model: nn.Module, dtype: torch.dtype = torch.float32) -> None:
        def cast(t: torch.Tensor) -> torch.Tensor:
            return t.detach().to(dtype).contiguous()

        self.dtype = dtype
        self.version = weights_version(model)
        self.tables = [cast(e.weight) for e in model.embeds]
        self.mix = (cast(model.mix.bias), cast(model.mix.weight.T))
        # Conv1d weight (out, in, k) -> (k * in, out): row block k multiplies h[t + k - 1].
        self.convs = [
            (cast(c.bias), cast(c.weight.permute(2, 1, 0).reshape(-1, c.weight.shape[0])))
            for c in model.convs
        ]
        self.out = (cast(model.out.bias), cast(model.out.weight.T))

    def __call__(self, ids: torch.Tensor, gaz: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        n = len(mask)
        ids, gaz, mask = (_pad_rows(t, ROW_BUCKET) for t in (ids, gaz, mask))
        # The packed sequence starts and ends with gap rows (``Featurizer``), which stay zero:
        # a convolution only updates rows 1..L-2, and no padding is needed.
        gaps = (mask == 0).nonzero().squeeze(1)
        rows = [t.index_select(0, ids[:, i]) for i, t in enumerate(self.tables)]
        x = torch.cat([*rows, gaz.to(self.dtype)], dim=1)
        h = torch.addmm(self.mix[0], x, self.mix[1]).relu_().index_fill_(0, gaps, 0)
        for bias, weight in self.convs:
            shifted = torch.cat([h[:-2], h[1:-1], h[2:]], dim=1)  # rows t-1, t, t+1 side by side
            h[1:-1].add_(torch.addmm(bias, shifted, weight).relu_())
            h.index_fill_(0, gaps, 0)
        return torch.addmm(self.out[0], h[:n], self.out[1]).float()
