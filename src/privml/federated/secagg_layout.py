"""What a client's vector inside secure aggregation holds, and how the server reads the sum.

The engine sums vectors whose coordinates lie in ``[-bound, bound]`` (each is clipped there and
quantized). The vector is the flattened model update followed by at most two extra coordinates,
so that everything the server needs is summed under the masks and nothing travels in the clear:

* **With DP** (DP-FedAvg): the *unweighted* clipped update. DP-FedAvg divides the noised sum by
  the fixed expected count qN, so no example counts are needed. L2 clipping to C bounds every
  coordinate by C; with distributed noise each client adds N(0, σ²) to its own update, so
  ``bound = C + 6σ`` (a coordinate beyond it, probability ~2e-9, is clipped: post-processing of
  that client's own noised value). Under adaptive clipping the client's centred clip bit
  (noised with its share under distributed noise) is one more coordinate, scaled by the public
  ``bit_scale = bound / (0.5 + 6σ_bit)`` so it uses the full quantization range; the server
  divides the summed coordinate by it and gets the sum of bits, which DP-FedAvg's clip update
  needs (and, under central noise, noises itself).
* **Without DP**: example-weighted FedAvg. The client sends ``w·Δ`` and ``w``, where
  ``w = n_k / n_ref`` (its example count over the mean partition size, so ``w`` is about 1) is
  capped at ``bound``; the server's weighted mean is ``Σ w·Δ / Σ w``. There is no clip norm, so
  ``bound`` is the fixed :data:`NO_DP_BOUND` and larger coordinates are clipped to it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

NO_DP_BOUND = 8.0  # per-coordinate range of w·Δ without DP (updates of one local epoch)
TAIL = 6.0  # noise margin, in standard deviations


@dataclass(frozen=True)
class Layout:
    """The vector of one round: ``params`` update coordinates, then the optional extras."""

    params: int
    bound: float  # every coordinate in [-bound, bound]: the engine's clip_range
    weighted: bool  # no DP: the update is pre-weighted and the weight is the next coordinate
    bit_scale: float  # > 0: the centred clip bit times this is the last coordinate

    @property
    def length(self) -> int:
        return self.params + int(self.weighted) + int(self.bit_scale > 0)

    def to_config(self) -> dict:
        """The public layout, as flat config for the clients."""
        return {
            "secagg-bound": self.bound,
            "secagg-weighted": self.weighted,
            "secagg-bit-scale": self.bit_scale,
        }

    @classmethod
    def from_config(cls, cfg: dict, params: int) -> Layout:
        return cls(
            params,
            float(cfg["secagg-bound"]),
            bool(cfg["secagg-weighted"]),
            float(cfg["secagg-bit-scale"]),
        )

    def encode(self, update: np.ndarray, weight: float = 1.0, bit: float = 0.0) -> np.ndarray:
        """The client's vector: ``update`` (flat; times ``weight`` if weighted), then the extras.

        Raises ``ValueError`` for an update of the wrong length or with NaN/inf: a client
        validates its own update before masking it (the server cannot see it afterwards).
        """
        update = np.asarray(update, dtype=np.float64).ravel()
        if update.size != self.params:
            raise ValueError(f"update: expected {self.params} values, got {update.size}")
        if not (np.all(np.isfinite(update)) and math.isfinite(weight) and math.isfinite(bit)):
            raise ValueError("update: NaN or infinity in the local update; not submitted")
        parts = [update]
        if self.weighted:
            w = min(max(float(weight), 0.0), self.bound)
            parts = [update * w, np.asarray([w])]
        if self.bit_scale > 0:
            parts.append(np.asarray([bit * self.bit_scale]))
        return np.concatenate(parts)

    def decode(self, total: np.ndarray) -> tuple[np.ndarray, float, float]:
        """``(update sum, weight sum, clip-bit sum)`` from the unmasked sum of the vectors."""
        total = np.asarray(total, dtype=np.float64)
        if total.shape != (self.length,):
            raise ValueError(f"sum: expected {self.length} values, got {total.shape}")
        if not np.all(np.isfinite(total)):
            raise ValueError("sum: NaN or infinity after unmasking")
        pos = self.params
        weight = bit = 0.0
        if self.weighted:
            weight, pos = float(total[pos]), pos + 1
        if self.bit_scale > 0:
            bit = float(total[pos]) / self.bit_scale
        return total[: self.params], weight, bit


def plan_layout(params: int, round_cfg: dict, dp: bool, adaptive: bool) -> Layout:
    """The round's layout from its client config (``clip-norm``, ``noise-std``,
    ``bit-noise-std``, as :func:`privml.federated.server.client_config` sets them)."""
    if not dp:
        return Layout(params, NO_DP_BOUND, True, 0.0)
    bound = float(round_cfg["clip-norm"]) + TAIL * float(round_cfg["noise-std"])
    scale = bound / (0.5 + TAIL * float(round_cfg["bit-noise-std"])) if adaptive else 0.0
    return Layout(params, bound, False, scale)
