"""The NER tagger's inference path: the trained ``TokenCNN`` as a few matrix products.

``TokenCNN`` (``ner_tagger``) is written for training: ``nn.Conv1d`` over a ``(1, width, L)``
tensor. At inference the same arithmetic runs faster in a ``(L, width)`` layout, where each
kernel-3 convolution is ONE matrix product of the three shifted copies of the sequence side by
side (``[h[t-1], h[t], h[t+1]] @ W``), every elementwise step is in place on contiguous memory,
and only the gap rows between documents are re-zeroed (no multiply by the whole mask). In
float32 the tags are the ones ``TokenCNN`` gives (a test checks it).

Precision: bfloat16 on CPUs with native bfloat16 (AVX512-BF16 or AMX), where oneDNN's
bfloat16 matrix products make the tagger ~1.7x faster (BENCHMARKS.md, Scrubbing) and a few
borderline tokens are tagged differently (every accuracy bar holds in both); float32 elsewhere,
where bfloat16 would be emulated and slower. ``PRIVML_NER_DTYPE=float32|bfloat16|auto`` overrides.

Memory: oneDNN prepares a kernel (a "primitive") per matrix shape and keeps up to 1,024 of
them, each with buffers sized to its shape. A product whose row count changes with every batch
therefore grew the process by ~30 MB per MB of new text in bfloat16 (a 1 GB file peaked at
1.7 GB). Every product here runs on rows padded to a few fixed sizes (``padded_rows``),
including the last layer, which is sliced only after; memory then stays flat in both precisions
(a test checks that every product's shape is on the ladder).
"""

from __future__ import annotations

import math
import os
from functools import cache

import torch
from torch import nn

DTYPE_ENV = "PRIVML_NER_DTYPE"
# Packed sequences are padded (with gap rows) to the next size on a geometric ladder (eight
# steps per doubling, multiples of 128 rows: under 10% padding). Math libraries prepare and cache
# a kernel per matrix shape, and every batch of texts has its own length; a few fixed sizes let
# new text reuse them.
ROW_BUCKET = 128
_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


@cache  # asked once per batch (``NerTagger._net``); the CPU does not change
def native_bfloat16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX tiles)."""
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except AttributeError:  # a torch without these probes: assume not
        return False


def inference_dtype() -> torch.dtype:
    """``PRIVML_NER_DTYPE`` if set (``auto`` as unset); else bfloat16 where native, float32."""
    wanted = os.environ.get(DTYPE_ENV, "").strip().lower() or "auto"
    if wanted == "auto":
        return torch.bfloat16 if native_bfloat16() else torch.float32
    if wanted not in _DTYPES:
        choices = sorted([*_DTYPES, "auto"])
        raise ValueError(f"{DTYPE_ENV}: expected one of {choices}, got {wanted!r}")
    return _DTYPES[wanted]


def weights_version(model: nn.Module) -> tuple[int, ...]:
    """Changes whenever a parameter is modified in place (optimizer steps, ``load_state_dict``)."""
    return tuple(p._version for p in model.parameters())


def padded_rows(n: int) -> int:
    """The ladder size for ``n`` rows: the smallest ``128 * ceil(2 ** (k / 8))``, k >= 0, that
    holds them (128, 256, 384, 512, 640, ..., 1024, 1152, 1280, 1408, 1536, 1664, 1920, ...)."""
    k = max(0, math.ceil(8 * math.log2(max(n, 1) / ROW_BUCKET)))
    while ROW_BUCKET * math.ceil(2 ** (k / 8)) < n:  # float rounding at exact powers
        k += 1
    return ROW_BUCKET * math.ceil(2 ** (k / 8))


def _pad_rows(t: torch.Tensor, rows: int) -> torch.Tensor:
    """``t`` with zero rows appended up to ``rows`` rows."""
    extra = rows - len(t)
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
        rows = padded_rows(n)
        ids, gaz, mask = (_pad_rows(t, rows) for t in (ids, gaz, mask))
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
        # All padded rows, sliced after: a product over ``h[:n]`` would have a new shape per
        # batch (see ``padded_rows``).
        return torch.addmm(self.out[0], h, self.out[1])[:n].float()
