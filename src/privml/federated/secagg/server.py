"""The server side of SecAgg+: routes keys and ciphertexts, sums masked inputs, unmasks the sum.

Each ``receive_*`` method takes the replies of one stage as ``{sender id: message}`` (a client
missing from the map dropped out) and returns the next stage's message for each client still in.
Sets, as in Bonawitz et al.: U1 advertised keys, U2 shared keys, U3 sent a masked input, U4
answered the unmask request. Below the threshold at any stage the server raises
:class:`SecAggAbort` and releases nothing. A reply that breaks the protocol (wrong recipients,
wrong shape) counts as a drop-out and is listed in ``rejected`` with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from privml.federated.secagg import crypto, shamir
from privml.federated.secagg.config import SecAggConfig
from privml.federated.secagg.errors import SecAggAbort, SecAggError
from privml.federated.secagg.messages import (
    AdvertiseKeys,
    ForwardedShares,
    MaskedInput,
    PeerKeys,
    ShareKeys,
    UnmaskRequest,
    UnmaskResponse,
)
from privml.federated.secagg.quantize import dequantize_sum


@dataclass
class AggregateResult:
    """The only thing the server learns: the sum of the survivors' (encoded) inputs."""

    vector_sum: np.ndarray  # float64: sum of the survivors' inputs (clipped, quantized)
    quantized_sum: np.ndarray  # uint64: exact sum of their integer encodings
    count: int  # number of inputs in the sum (|U3|)
    survivors: tuple[int, ...]  # U3
    dropped: tuple[int, ...]  # sampled clients not in the sum
    rejected: dict[int, str] = field(default_factory=dict)
    stats: object | None = None  # RoundStats when run by privml.federated.secagg.simulate


class SecAggServer:
    """The server's state machine for one round of ``config``."""

    def __init__(self, config: SecAggConfig) -> None:
        config.validate()
        self.config = config
        self.stage = "setup"
        self.rejected: dict[int, str] = {}
        self._keys: dict[int, AdvertiseKeys] = {}  # U1
        self._u2: set[int] = set()
        self._u3: set[int] = set()
        self._requests: dict[int, UnmaskRequest] = {}
        self._total: np.ndarray | None = None

    def _expect(self, stage: str, after: str) -> None:
        if self.stage != stage:
            raise SecAggError(f"server: {after} is not expected at stage {self.stage!r}")

    def _check_count(self, count: int, after: str) -> None:
        t, n = self.config.min_clients, len(self.config.client_ids)
        if count < t:
            self.stage = "aborted"
            raise SecAggAbort(
                f"secure aggregation aborted: {count} of {n} clients left after {after}, "
                f"below the threshold {t}"
            )

    def _senders(self, msgs: Mapping[int, object], allowed: set[int]) -> list[int]:
        out = []
        for cid in sorted(msgs):
            if cid in allowed:
                out.append(cid)
            else:
                self.rejected.setdefault(cid, "replied at a stage it was not asked to")
        return out

    def setup(self) -> SecAggConfig:
        """Stage 0: the configuration every sampled client receives."""
        self._expect("setup", "setup")
        self.stage = "keys"
        return self.config

    def receive_keys(self, msgs: Mapping[int, AdvertiseKeys]) -> dict[int, PeerKeys]:
        """Stage 1: collect public keys; send each client its advertising neighbours' keys."""
        self._expect("keys", "public keys")
        senders = self._senders(msgs, set(self.config.client_ids))
        keys = [k for cid in senders for k in (msgs[cid].c_pk, msgs[cid].s_pk)]
        if len(set(keys)) != len(keys):
            self.stage = "aborted"
            raise SecAggAbort(
                "secure aggregation aborted: the advertised public keys are not distinct"
            )
        self._keys = {cid: msgs[cid] for cid in senders}
        self._check_count(len(self._keys), "key advertisement")
        out = {}
        for cid in self._keys:
            ids = tuple(v for v in self.config.neighbours(cid) if v in self._keys)
            out[cid] = PeerKeys(
                ids, tuple(self._keys[v].c_pk for v in ids), tuple(self._keys[v].s_pk for v in ids)
            )
        self.stage = "shares"
        return out

    def receive_shares(self, msgs: Mapping[int, ShareKeys]) -> dict[int, ForwardedShares]:
        """Stage 2: collect the encrypted shares; forward each to its recipient."""
        self._expect("shares", "encrypted shares")
        inbox: dict[int, list[tuple[int, bytes]]] = {}
        for cid in self._senders(msgs, set(self._keys)):
            expected = tuple(v for v in self.config.neighbours(cid) if v in self._keys)
            if msgs[cid].dest_ids != expected:
                self.rejected[cid] = "dest_ids: not exactly its neighbours that advertised keys"
                continue
            self._u2.add(cid)
            for dest, ct in zip(msgs[cid].dest_ids, msgs[cid].ciphertexts, strict=True):
                inbox.setdefault(dest, []).append((cid, ct))
        self._check_count(len(self._u2), "share-key collection")
        out = {}
        for cid in sorted(self._u2):
            got = [(src, ct) for src, ct in inbox.get(cid, []) if src in self._u2]
            out[cid] = ForwardedShares(tuple(s for s, _ in got), tuple(c for _, c in got))
        self.stage = "masked"
        return out

    def receive_masked_inputs(self, msgs: Mapping[int, MaskedInput]) -> dict[int, UnmaskRequest]:
        """Stage 3: add up the masked inputs; ask each survivor to help unmask."""
        self._expect("masked", "masked inputs")
        dtype, length = self.config.dtype, self.config.vector_length
        total = np.zeros(length, dtype=dtype)
        for cid in self._senders(msgs, self._u2):
            y = msgs[cid].masked
            if y.dtype != dtype or y.shape != (length,):
                self.rejected[cid] = f"masked: expected {length} values of {np.dtype(dtype).name}"
                continue
            np.add(total, y, out=total)
            self._u3.add(cid)
        self._check_count(len(self._u3), "masked-input collection")
        self._total = total
        for cid in sorted(self._u3):
            hood = {cid, *self.config.neighbours(cid)}
            self._requests[cid] = UnmaskRequest(
                tuple(sorted(hood & self._u3)),
                tuple(sorted((hood - {cid}) & (self._u2 - self._u3))),
            )
        self.stage = "unmask"
        return dict(self._requests)

    def receive_unmask(self, msgs: Mapping[int, UnmaskResponse]) -> AggregateResult:
        """Stage 4: rebuild each survivor's ``b`` and each dropped client's ``s_sk`` from the
        shares, strip the masks, and return the sum of the survivors' inputs."""
        self._expect("unmask", "unmask responses")
        b_shares: dict[int, list[tuple[int, bytes]]] = {}
        sk_shares: dict[int, list[tuple[int, bytes]]] = {}
        responders = 0
        for cid in self._senders(msgs, self._u3):
            reply, asked = msgs[cid], self._requests[cid]
            if reply.b_ids != asked.survivors or reply.sk_ids != asked.dropped:
                self.rejected[cid] = "b_ids/sk_ids: not the shares that were asked for"
                continue
            responders += 1
            x = self.config.index[cid]
            for v, share in zip(reply.b_ids, reply.b_shares, strict=True):
                b_shares.setdefault(v, []).append((x, share))
            for v, share in zip(reply.sk_ids, reply.sk_shares, strict=True):
                sk_shares.setdefault(v, []).append((x, share))
        self._check_count(responders, "unmask responses")
        assert self._total is not None
        total, dtype, length = self._total, self.config.dtype, self.config.vector_length
        for v in sorted(self._u3):
            b = self._rebuild(b_shares.get(v, []), f"client {v}'s self-mask seed")
            np.subtract(total, crypto.expand_mask(b, length, dtype), out=total)
        for v in sorted(self._u2 - self._u3):
            sk = self._rebuild(sk_shares.get(v, []), f"dropped client {v}'s mask key")
            if crypto.public_key(sk) != self._keys[v].s_pk:
                self.stage = "aborted"
                raise SecAggAbort(
                    f"secure aggregation aborted: the rebuilt mask key of client {v} does not "
                    "match its advertised key (inconsistent shares)"
                )
            sk_key = crypto.private_key(sk)
            for u in self.config.neighbours(v):
                if u in self._u3:  # u added +PRG(s_uv) if u < v, else -PRG(s_uv): undo it
                    seed = crypto.agree(
                        sk_key, self._keys[u].s_pk, crypto.MASK_LABEL, self.config.round_id
                    )
                    mask = crypto.expand_mask(seed, length, dtype)
                    (np.subtract if u < v else np.add)(total, mask, out=total)
        return self._finish(total)

    def _rebuild(self, shares: list[tuple[int, bytes]], what: str) -> bytes:
        t = self.config.threshold
        if len(shares) < t:
            self.stage = "aborted"
            raise SecAggAbort(
                f"secure aggregation aborted: {len(shares)} shares of {what}, "
                f"below the threshold {t}"
            )
        try:
            return shamir.combine(sorted(shares), t)
        except ValueError as exc:
            self.stage = "aborted"
            raise SecAggAbort(f"secure aggregation aborted: {what}: {exc}") from None

    def _finish(self, total: np.ndarray) -> AggregateResult:
        config, count = self.config, len(self._u3)
        bound = count * (2**config.quant_bits - 1)
        if int(total.max()) > bound:  # a wrong mask leaves uniform words: caught here
            self.stage = "aborted"
            raise SecAggError("unmasked sum out of range: the masks did not cancel")
        self.stage = "done"
        quantized = total.astype(np.uint64)
        return AggregateResult(
            vector_sum=dequantize_sum(quantized, count, config.clip_range, config.quant_bits),
            quantized_sum=quantized,
            count=count,
            survivors=tuple(sorted(self._u3)),
            dropped=tuple(c for c in config.client_ids if c not in self._u3),
            rejected=dict(self.rejected),
        )
