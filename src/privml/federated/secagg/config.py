"""Round configuration (stage 0) and the SecAgg+ neighbour graph.

The server aborts a stage that ends with fewer than ``min_clients`` clients (default
``ceil((1 - d) n)``, so the sum always covers at least that many inputs); each client's secrets
are rebuilt from ``threshold`` shares held within its neighbourhood.

Default parameters, for ``n`` sampled clients and a tolerated drop-out rate ``d`` (0.3):

* **Complete graph** (every client masks with every other, Bonawitz et al. 2017) while it is the
  only safe choice, with threshold ``t = ceil((1 - d) n)``: the largest threshold that still lets
  the round finish with ``d n`` clients gone after the key exchange. It is above ``n / 2`` (the
  server, even if it lies about who dropped, can never gather ``t`` shares of both secrets of one
  client: honest clients reveal one kind per peer) and, for ``d = 0.3``, above ``2n / 3`` (the
  bound Bonawitz et al. give against an actively malicious server). 10 clients: ``t = 7``;
  100 clients: ``t = 70``.
* **Sparse graph** (SecAgg+, Bell et al. 2020) once a neighbourhood of ``k + 1 < n`` clients
  (itself included) with a majority threshold ``t = floor((k + 1) / 2) + 1`` survives random
  drop-outs at rate ``d`` with probability at least ``1 - 2^-40`` for every client at once
  (union bound over the exact binomial tail). At ``d = 0.3`` that needs ``k`` of about 290, so
  cohorts of a few hundred and below use the complete graph: at 100 clients the per-client cost
  is that of SecAgg. The graph is a Harary graph ``H(k, n)`` (each client linked to the ``k / 2``
  nearest on each side) over a random ring order drawn from a 32-byte seed; it is
  ``k``-connected, so the survivors stay connected and the server still learns only their sum.
  In sparse mode the 30% guarantee holds for random drop-outs with that probability, not for an
  adversary choosing who drops.
* A sparse graph that survives *any* ``D`` drop-outs: ``degree = 2D``, ``threshold = D + 1``
  (pass both to :meth:`SecAggConfig.create`; at 100 clients ``degree=60, threshold=31``). It
  keeps ``t > (k + 1) / 2`` against a server lying about who dropped, but unlike the defaults
  leaves no margin for clients colluding with the server, so it is not the default.
"""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property

import numpy as np

from privml.federated.secagg.quantize import check_headroom

MAX_ID = 2**64  # Flower node ids are unsigned 64-bit integers
FAILURE_LOG2 = 40


def _binomial_cdf_below(m: int, p: float, t: int) -> float:
    """P[Binomial(m, p) < t]."""
    return sum(math.comb(m, i) * p**i * (1 - p) ** (m - i) for i in range(t))


def default_parameters(n: int, dropout: float = 0.3) -> tuple[int, int]:
    """``(degree k, threshold t)`` for ``n`` clients tolerating a drop-out rate ``dropout``."""
    if n < 2:
        raise ValueError(f"client_ids: secure aggregation needs at least 2 clients, got {n}")
    if not 0 <= dropout < 0.5:
        raise ValueError(f"dropout_tolerance: must be in [0, 0.5), got {dropout}")
    keep = 1 - Fraction(dropout).limit_denominator(10**6)
    complete = (n - 1, max(2, math.ceil(keep * n)))
    for k in range(2 * math.ceil(math.log2(n)), n - 2, 2):
        t = (k + 1) // 2 + 1
        if n * _binomial_cdf_below(k + 1, float(keep), t) <= 2.0**-FAILURE_LOG2:
            return k, t
    return complete


def _ring_order(ids: tuple[int, ...], seed: bytes) -> list[int]:
    """A pseudo-random cyclic order of ``ids``, fixed by ``seed`` (SHA-256 of seed and id)."""
    return sorted(ids, key=lambda i: hashlib.sha256(seed + i.to_bytes(8, "big")).digest())


@dataclass(frozen=True)
class SecAggConfig:
    """What the server announces at stage 0; the same for every client of the round."""

    round_id: bytes  # 16 random bytes binding keys, ciphertexts and masks to this round
    client_ids: tuple[int, ...]  # the sampled clients, sorted
    threshold: int  # Shamir threshold t, within each neighbourhood of degree + 1 clients
    min_clients: int  # the fewest clients a stage may end with (else the round aborts)
    degree: int  # neighbours per client, k (n - 1 means the complete graph)
    graph_seed: bytes  # 32 bytes fixing the random ring order of the SecAgg+ graph
    vector_length: int
    clip_range: float  # inputs are clipped to [-clip_range, clip_range]
    quant_bits: int
    modulus_bits: int = 32

    @classmethod
    def create(
        cls,
        client_ids: list[int] | tuple[int, ...],
        vector_length: int,
        *,
        clip_range: float = 1.0,
        dropout_tolerance: float = 0.3,
        threshold: int | None = None,
        degree: int | None = None,
        modulus_bits: int = 32,
        quant_bits: int | None = None,
        min_clients: int | None = None,
    ) -> SecAggConfig:
        """A fresh round configuration with random round id and graph seed (``os.urandom``)."""
        ids = tuple(sorted(int(i) for i in client_ids))
        k, t = default_parameters(len(ids), dropout_tolerance)
        keep = 1 - Fraction(dropout_tolerance).limit_denominator(10**6)
        if degree is not None:
            k = min(degree, len(ids) - 1)
            if threshold is None:
                t = math.ceil(keep * (k + 1))
        if quant_bits is None:
            quant_bits = modulus_bits - max(len(ids) - 1, 1).bit_length()
        config = cls(
            round_id=os.urandom(16),
            client_ids=ids,
            threshold=t if threshold is None else threshold,
            min_clients=max(2, math.ceil(keep * len(ids))) if min_clients is None else min_clients,
            degree=k,
            graph_seed=os.urandom(32),
            vector_length=vector_length,
            clip_range=float(clip_range),
            quant_bits=quant_bits,
            modulus_bits=modulus_bits,
        )
        config.validate()
        return config

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first bad field."""
        n = len(self.client_ids)
        if (
            n < 2
            or len(set(self.client_ids)) != n
            or list(self.client_ids) != sorted(self.client_ids)
        ):
            raise ValueError("client_ids: need at least 2 distinct ids, sorted")
        if any(not 0 <= i < MAX_ID for i in self.client_ids):
            raise ValueError("client_ids: ids must be in [0, 2^64)")
        if len(self.round_id) != 16:
            raise ValueError(f"round_id: expected 16 bytes, got {len(self.round_id)}")
        if len(self.graph_seed) != 32:
            raise ValueError(f"graph_seed: expected 32 bytes, got {len(self.graph_seed)}")
        if not 2 <= self.degree <= n - 1 or (self.degree < n - 1 and self.degree % 2):
            raise ValueError(
                f"degree: must be n - 1 = {n - 1} or even in [2, n - 2], got {self.degree}"
            )
        if not (self.degree + 1) / 2 < self.threshold <= self.degree + 1:
            raise ValueError(
                f"threshold: must exceed half the neighbourhood ({self.degree + 1} clients with "
                f"itself) and not exceed it, got {self.threshold}"
            )
        if not 2 <= self.min_clients <= n:
            raise ValueError(f"min_clients: must be in [2, {n}], got {self.min_clients}")
        if self.vector_length < 1:
            raise ValueError(f"vector_length: must be positive, got {self.vector_length}")
        if not self.clip_range > 0:
            raise ValueError(f"clip_range: must be positive, got {self.clip_range}")
        if self.modulus_bits not in (32, 64):
            raise ValueError(f"modulus_bits: 32 or 64, got {self.modulus_bits}")
        if self.quant_bits < 1:
            raise ValueError(f"quant_bits: must be positive, got {self.quant_bits}")
        check_headroom(n, self.quant_bits, self.modulus_bits)

    @property
    def dtype(self) -> type[np.unsignedinteger]:
        return np.uint32 if self.modulus_bits == 32 else np.uint64

    @property
    def complete(self) -> bool:
        return self.degree >= len(self.client_ids) - 1

    @cached_property
    def index(self) -> dict[int, int]:
        """Client id -> Shamir x-coordinate (position in ``client_ids`` plus one)."""
        return {cid: pos + 1 for pos, cid in enumerate(self.client_ids)}

    def neighbours(self, cid: int) -> tuple[int, ...]:
        """The ``degree`` clients ``cid`` masks with and shares its secrets among (sorted)."""
        if cid not in self.index:
            raise ValueError(f"client_id: {cid} is not in the sampled cohort")
        return self.graph[cid]

    @cached_property
    def graph(self) -> dict[int, tuple[int, ...]]:
        """Every client's neighbours (the graph is symmetric)."""
        ids = self.client_ids
        if self.complete:
            return {c: tuple(o for o in ids if o != c) for c in ids}
        ring, half, n = _ring_order(ids, self.graph_seed), self.degree // 2, len(ids)
        return {
            c: tuple(sorted(ring[(pos + d) % n] for d in range(-half, half + 1) if d))
            for pos, c in enumerate(ring)
        }

    def to_dict(self) -> dict[str, bytes | int | float | np.ndarray]:
        return {
            "round_id": self.round_id,
            "client_ids": np.asarray(self.client_ids, dtype=np.uint64),
            "threshold": self.threshold,
            "min_clients": self.min_clients,
            "degree": self.degree,
            "graph_seed": self.graph_seed,
            "vector_length": self.vector_length,
            "clip_range": self.clip_range,
            "quant_bits": self.quant_bits,
            "modulus_bits": self.modulus_bits,
        }

    @classmethod
    def from_dict(cls, d: dict) -> SecAggConfig:
        try:
            config = cls(
                round_id=bytes(d["round_id"]),
                client_ids=tuple(int(i) for i in np.asarray(d["client_ids"], dtype=np.uint64)),
                threshold=int(d["threshold"]),
                min_clients=int(d["min_clients"]),
                degree=int(d["degree"]),
                graph_seed=bytes(d["graph_seed"]),
                vector_length=int(d["vector_length"]),
                clip_range=float(d["clip_range"]),
                quant_bits=int(d["quant_bits"]),
                modulus_bits=int(d["modulus_bits"]),
            )
        except KeyError as exc:
            raise ValueError(f"config: missing field {exc.args[0]!r}") from None
        config.validate()
        return config
