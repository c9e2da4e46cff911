"""The client side of SecAgg+: one object per client and round, called once per stage.

The client keeps its secrets (two X25519 private keys, the self-mask seed ``b``, the shares it
holds for its neighbours) and enforces the rule that protects a dropped peer: for any peer it
reveals either the share of ``b`` (peer survived: its self mask must go) or the share of the
mask key ``s_sk`` (peer dropped: its pairwise masks must go), never both, and it answers only
one unmask request per round.
"""

from __future__ import annotations

import os

import numpy as np
from cryptography.exceptions import InvalidTag

from privml.federated.secagg import crypto, shamir
from privml.federated.secagg.config import SecAggConfig
from privml.federated.secagg.errors import SecAggAbort, SecAggError, SecAggRefusal
from privml.federated.secagg.messages import (
    ID_BYTES,
    AdvertiseKeys,
    ForwardedShares,
    MaskedInput,
    PeerKeys,
    ShareKeys,
    UnmaskRequest,
    UnmaskResponse,
)
from privml.federated.secagg.quantize import quantize

_STAGES = ("new", "advertised", "shared", "masked", "done")


def _id(cid: int) -> bytes:
    return cid.to_bytes(ID_BYTES, "big")


def channel_associated_data(round_id: bytes, sender: int, receiver: int) -> bytes:
    """AEAD associated data of a share ciphertext: binds it to the round and both ends."""
    return round_id + _id(sender) + _id(receiver)


class SecAggClient:
    """Client ``client_id``'s state machine: ``setup`` -> ``share_keys`` -> ``masked_input`` ->
    ``unmask``. Each method takes the server's message of that stage and returns the reply."""

    def __init__(self, client_id: int) -> None:
        self.client_id = int(client_id)
        self.stage = "new"
        self.config: SecAggConfig | None = None
        self._c_sk = self._s_sk = self._b = b""
        self._peer_s_pk: dict[int, bytes] = {}
        self._held: dict[int, tuple[bytes, bytes]] = {}  # peer -> (b share, s_sk share)
        self._masked_with: set[int] = set()
        self._channel: dict[int, bytes] = {}  # peer -> AEAD key
        self.quantized: np.ndarray | None = None  # own encoded input, kept locally (tests)

    def _expect(self, stage: str) -> SecAggConfig:
        if self.stage != stage:
            raise SecAggError(
                f"client {self.client_id}: message for the stage after {stage!r}, "
                f"but the client is at {self.stage!r}"
            )
        assert self.config is not None or stage == "new"
        return self.config  # type: ignore[return-value]

    def setup(self, config: SecAggConfig | dict) -> AdvertiseKeys:
        """Stage 0 -> 1: read the round's configuration, make two fresh X25519 key pairs."""
        self._expect("new")
        if not isinstance(config, SecAggConfig):
            config = SecAggConfig.from_dict(config)
        if self.client_id not in config.index:
            raise SecAggError(f"client_ids: client {self.client_id} is not in the cohort")
        self.config = config
        self._c_sk, c_pk = crypto.new_keypair()
        self._s_sk, s_pk = crypto.new_keypair()
        self.stage = "advertised"
        return AdvertiseKeys(c_pk, s_pk)

    def share_keys(self, peers: PeerKeys) -> ShareKeys:
        """Stage 2: Shamir-share ``b`` and ``s_sk`` among the neighbours and itself, encrypt
        each neighbour's pair of shares for it alone (the server only routes ciphertexts)."""
        config = self._expect("advertised")
        allowed = set(config.neighbours(self.client_id))
        if len(set(peers.ids)) != len(peers.ids) or not set(peers.ids) <= allowed:
            raise SecAggError(f"ids: client {self.client_id} got keys of non-neighbours")
        own = {crypto.public_key(self._c_sk), crypto.public_key(self._s_sk)}
        keys = set(peers.c_pks) | set(peers.s_pks) | own
        if len(keys) != 2 * len(peers.ids) + 2:
            raise SecAggError("c_pks/s_pks: public keys are not all distinct")
        holders = sorted((*peers.ids, self.client_id))
        self._check_enough(len(holders), "neighbours with keys")
        self._b = os.urandom(shamir.SECRET_BYTES)
        xs = [config.index[h] for h in holders]
        b_shares = shamir.split(self._b, config.threshold, xs)
        sk_shares = shamir.split(self._s_sk, config.threshold, xs)
        cts, c_key = [], crypto.private_key(self._c_sk)
        for holder, b_share, sk_share in zip(holders, b_shares, sk_shares, strict=True):
            if holder == self.client_id:
                self._held[holder] = (b_share, sk_share)
                continue
            pos = peers.ids.index(holder)
            self._peer_s_pk[holder] = peers.s_pks[pos]
            key = crypto.agree(c_key, peers.c_pks[pos], crypto.CHANNEL_LABEL, config.round_id)
            self._channel[holder] = key  # the same key opens the holder's share to us
            plaintext = _id(self.client_id) + _id(holder) + b_share + sk_share
            aad = channel_associated_data(config.round_id, self.client_id, holder)
            cts.append(crypto.encrypt(key, plaintext, aad))
        self.stage = "shared"
        return ShareKeys(tuple(h for h in holders if h != self.client_id), tuple(cts))

    def masked_input(self, forwarded: ForwardedShares, vector: np.ndarray) -> MaskedInput:
        """Stage 3: store the shares sent to it, then send ``quantize(vector)`` masked with
        ``PRG(b)`` and, for each neighbour ``v`` that shared keys, ``+PRG(s_uv)`` if this id is
        smaller than ``v``'s, else ``-PRG(s_uv)`` (the pairwise masks cancel in the sum)."""
        config = self._expect("shared")
        vector = np.asarray(vector)
        if vector.size != config.vector_length:
            raise ValueError(f"vector: expected {config.vector_length} values, got {vector.size}")
        sources = forwarded.source_ids
        if len(set(sources)) != len(sources) or not set(sources) <= set(self._channel):
            raise SecAggError(f"source_ids: client {self.client_id} got shares from non-neighbours")
        for src, ct in zip(sources, forwarded.ciphertexts, strict=True):
            self._held[src] = self._open_share(config, src, ct)
        self._check_enough(len(sources) + 1, "neighbours that shared keys")
        q = quantize(vector, config.clip_range, config.quant_bits)
        self.quantized = q
        y = q.astype(config.dtype)
        np.add(y, crypto.expand_mask(self._b, y.size, config.dtype), out=y)
        s_key = crypto.private_key(self._s_sk)
        for v in sources:
            seed = crypto.agree(s_key, self._peer_s_pk[v], crypto.MASK_LABEL, config.round_id)
            mask = crypto.expand_mask(seed, y.size, config.dtype)
            (np.add if self.client_id < v else np.subtract)(y, mask, out=y)
        self._masked_with = set(sources)
        self.stage = "masked"
        return MaskedInput(y)

    def _open_share(self, config: SecAggConfig, src: int, ct: bytes) -> tuple[bytes, bytes]:
        try:
            pt = crypto.decrypt(
                self._channel[src],
                ct,
                channel_associated_data(config.round_id, src, self.client_id),
            )
        except InvalidTag:
            raise SecAggError(
                f"ciphertexts: the share from client {src} fails authentication"
            ) from None
        if pt[:ID_BYTES] != _id(src) or pt[ID_BYTES : 2 * ID_BYTES] != _id(self.client_id):
            raise SecAggError(f"ciphertexts: the share from client {src} names other clients")
        body = pt[2 * ID_BYTES :]
        return body[: shamir.SHARE_BYTES], body[shamir.SHARE_BYTES :]

    def unmask(self, request: UnmaskRequest) -> UnmaskResponse:
        """Stage 4: shares of ``b_v`` for surviving ``v`` and of ``s_sk_v`` for dropped ``v``.

        Refuses (``SecAggRefusal``) a request naming a peer both survived and dropped, naming
        itself dropped or leaving it out of the survivors, or a second request in the round.
        """
        self._expect("masked")
        self.stage = "done"  # one answer per round, whatever happens below
        survivors, dropped = set(request.survivors), set(request.dropped)
        both = survivors & dropped
        if both:
            raise SecAggRefusal(
                f"client {self.client_id} refuses to unmask: clients {sorted(both)} are listed "
                "both as survivors and as dropped; revealing both shares would expose their input"
            )
        if self.client_id in dropped or self.client_id not in survivors:
            raise SecAggRefusal(f"client {self.client_id} refuses to unmask: it is not dropped")
        if (
            not survivors <= self._masked_with | {self.client_id}
            or not dropped <= self._masked_with
        ):
            raise SecAggError(f"survivors/dropped: client {self.client_id} holds no shares of some")
        self._check_enough(len(survivors), "surviving neighbours")
        b_ids, sk_ids = tuple(sorted(survivors)), tuple(sorted(dropped))
        return UnmaskResponse(
            b_ids,
            tuple(self._held[v][0] for v in b_ids),
            sk_ids,
            tuple(self._held[v][1] for v in sk_ids),
        )

    def to_state(self) -> dict[str, bytes | np.ndarray]:
        """The client's state between stages as a flat dict of bytes and arrays, for a stateless
        client process (e.g. a Flower ``ClientApp``'s ``context.state``). It holds private keys
        and shares: keep it on the client, never log or send it."""
        peers = sorted(self._channel)
        held = sorted(self._held)
        state: dict[str, bytes | np.ndarray] = {
            "client_id": np.asarray([self.client_id], dtype=np.uint64),
            "stage": self.stage.encode(),
            "c_sk": self._c_sk,
            "s_sk": self._s_sk,
            "b": self._b,
            "peer_ids": np.asarray(peers, dtype=np.uint64),
            "peer_s_pks": b"".join(self._peer_s_pk[p] for p in peers),
            "channel_keys": b"".join(self._channel[p] for p in peers),
            "held_ids": np.asarray(held, dtype=np.uint64),
            "held_b": b"".join(self._held[p][0] for p in held),
            "held_sk": b"".join(self._held[p][1] for p in held),
            "masked_with": np.asarray(sorted(self._masked_with), dtype=np.uint64),
        }
        if self.config is not None:
            for key, value in self.config.to_dict().items():
                state[f"config.{key}"] = value  # type: ignore[assignment]
        return state

    @classmethod
    def from_state(cls, state: dict) -> SecAggClient:
        """Rebuild a client from :meth:`to_state`."""
        client = cls(int(np.asarray(state["client_id"])[0]))
        client.stage = bytes(state["stage"]).decode()
        if client.stage not in _STAGES:
            raise ValueError(f"stage: unknown stage {client.stage!r}")
        config = {k[len("config.") :]: v for k, v in state.items() if k.startswith("config.")}
        client.config = SecAggConfig.from_dict(config) if config else None
        client._c_sk, client._s_sk, client._b = (bytes(state[k]) for k in ("c_sk", "s_sk", "b"))
        k, s = crypto.KEY_BYTES, shamir.SHARE_BYTES
        peers = [int(p) for p in np.asarray(state["peer_ids"])]
        pks, keys = bytes(state["peer_s_pks"]), bytes(state["channel_keys"])
        for i, p in enumerate(peers):
            client._peer_s_pk[p], client._channel[p] = (
                pks[i * k : (i + 1) * k],
                keys[i * k : (i + 1) * k],
            )
        held_b, held_sk = bytes(state["held_b"]), bytes(state["held_sk"])
        for i, p in enumerate(int(h) for h in np.asarray(state["held_ids"])):
            client._held[p] = (held_b[i * s : (i + 1) * s], held_sk[i * s : (i + 1) * s])
        client._masked_with = {int(p) for p in np.asarray(state["masked_with"])}
        return client

    def _check_enough(self, count: int, what: str) -> None:
        assert self.config is not None
        if count < self.config.threshold:
            raise SecAggAbort(
                f"secure aggregation aborted: client {self.client_id} has {count} {what} "
                f"(itself included), below the threshold {self.config.threshold}"
            )
