"""The NER tagger's inference path: the trained ``TokenCNN`` as a few matrix products.

``TokenCNN`` (``ner_tagger``) is written for training: ``nn.Conv1d`` over a ``(1, width, L)``
tensor. At inference the same arithmetic runs faster in a ``(L, width)`` layout, where each
kernel-3 convolution is ONE matrix product of the three shifted copies of the sequence side by
side (``[h[t-1], h[t], h[t+1]] @ W``), every elementwise step is in place on contiguous memory,
and only the gap rows between documents are re-zeroed (no multiply by the whole mask). In
float32 the tags are the ones ``TokenCNN`` gives (a test checks it).

``PRIVML_NER_DTYPE=bfloat16`` runs it in bfloat16, 1.7x faster on CPUs with native bfloat16
(AVX512-BF16 or AMX; BENCHMARKS.md, Scrubbing), with a few borderline tokens tagged differently.
It is NOT the default: oneDNN's bfloat16 matrix products on such a CPU kept ~30 MB more memory
per MB of new text (a 1 GB file peaked at 1.7 GB instead of 0.8 GB), which breaks the
scrubber's bounded-memory promise. (oneDNN has had AMX bfloat16 matmul bugs of its own: a leak
fixed in uxlfoundation/oneDNN#4178, and rows mixing when K is not a multiple of 32, #5717; the
first layer's K here is 130.)
"""

from __future__ import annotations

import math
import os

import torch
from torch import nn

DTYPE_ENV = "PRIVML_NER_DTYPE"
# Packed sequences are padded (with gap rows) to the next size on a geometric ladder (eight
# steps per doubling, multiples of 128 rows: under 10% padding). Math libraries prepare and cache
# a kernel per matrix shape, and every batch of texts has its own length; a few fixed sizes let
# new text reuse them.
ROW_BUCKET = 128
_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def inference_dtype() -> torch.dtype:
    """float32, unless ``PRIVML_NER_DTYPE`` asks for bfloat16 (see the module)."""
    wanted = os.environ.get(DTYPE_ENV, "").strip().lower() or "float32"
    if wanted not in _DTYPES:
        raise ValueError(f"{DTYPE_ENV}: expected one of {sorted(_DTYPES)}, got {wanted!r}")
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
        return torch.addmm(self.out[0], h[:n], self.out[1]).float()
