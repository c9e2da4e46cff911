"""A whole round in one process: every message goes through its wire form (a dict) and the
server's side of the wire is recorded, so tests can inspect every byte the server received.

Per client and stage it counts payload bytes sent and received and CPU seconds (``time.
process_time``: parsing the incoming message, the protocol step, serialising the reply); the
server's CPU seconds likewise per stage. This is what a Flower driver does over the network,
minus the network.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from privml.federated.secagg.client import SecAggClient
from privml.federated.secagg.config import SecAggConfig
from privml.federated.secagg.messages import (
    AdvertiseKeys,
    ForwardedShares,
    MaskedInput,
    Payload,
    PeerKeys,
    ShareKeys,
    UnmaskRequest,
    UnmaskResponse,
    payload_bytes,
)
from privml.federated.secagg.server import AggregateResult, SecAggServer

STAGES = ("setup", "advertise_keys", "share_keys", "masked_input", "unmask")


@dataclass
class ServerView:
    """Everything on the server's side of the wire: ``(stage, client id, payload)`` tuples."""

    received: list[tuple[str, int, Payload]] = field(default_factory=list)
    sent: list[tuple[str, int, Payload]] = field(default_factory=list)

    def received_at(self, stage: str) -> dict[int, Payload]:
        return {cid: d for s, cid, d in self.received if s == stage}

    def received_bytes(self) -> bytes:
        """Every byte the server received, concatenated (arrays as their raw buffers)."""
        parts = []
        for _, _, d in self.received:
            for value in d.values():
                parts.append(value.tobytes() if isinstance(value, np.ndarray) else bytes(value))
        return b"".join(parts)


@dataclass
class RoundStats:
    """Payload bytes and CPU seconds, per client and stage, and the server's CPU seconds."""

    sent: dict[int, dict[str, int]] = field(default_factory=dict)
    received: dict[int, dict[str, int]] = field(default_factory=dict)
    client_seconds: dict[int, dict[str, float]] = field(default_factory=dict)
    server_seconds: dict[str, float] = field(default_factory=dict)

    def client_bytes(self, cid: int) -> int:
        """Bytes client ``cid`` sent plus received over the round."""
        return sum(self.sent.get(cid, {}).values()) + sum(self.received.get(cid, {}).values())

    def mean_client_bytes(self, clients: Collection[int]) -> float:
        return float(np.mean([self.client_bytes(c) for c in clients]))

    def mean_client_seconds(self, clients: Collection[int]) -> float:
        return float(np.mean([sum(self.client_seconds.get(c, {}).values()) for c in clients]))

    def total_server_seconds(self) -> float:
        return sum(self.server_seconds.values())


class _Wire:
    """Carries messages both ways through their dict form, recording sizes, times, the view."""

    def __init__(self, view: ServerView, stats: RoundStats) -> None:
        self.view, self.stats = view, stats

    def _add(self, table: dict, cid: int, stage: str, value: float) -> None:
        row = table.setdefault(cid, {})
        row[stage] = row.get(stage, 0) + value

    def down(self, stage: str, cid: int, payload: Payload) -> None:
        self.view.sent.append((stage, cid, payload))
        self._add(self.stats.received, cid, stage, payload_bytes(payload))

    def up(self, stage: str, cid: int, payload: Payload) -> None:
        self.view.received.append((stage, cid, payload))
        self._add(self.stats.sent, cid, stage, payload_bytes(payload))

    def client_step(self, stage: str, cid: int, step: Callable[[], Payload]) -> Payload:
        start = time.process_time()
        payload = step()
        self._add(self.stats.client_seconds, cid, stage, time.process_time() - start)
        self.up(stage, cid, payload)
        return payload

    def server_step(self, stage: str, step: Callable[[], object]) -> object:
        start = time.process_time()
        out = step()
        self.stats.server_seconds[stage] = time.process_time() - start
        return out


def run_round(
    clients: Mapping[int, SecAggClient],
    server: SecAggServer,
    vectors: Mapping[int, np.ndarray],
    *,
    dropout_after_advertise: Collection[int] = (),
    dropout_after_keys: Collection[int] = (),
    dropout_after_masking: Collection[int] = (),
    view: ServerView | None = None,
) -> AggregateResult:
    """Drive ``server`` and ``clients`` through every stage. A client in ``dropout_after_X``
    stops answering after stage X (advertise keys, share keys = the key exchange, masked input).
    Raises ``SecAggAbort`` if too few are left."""
    wire = _Wire(view if view is not None else ServerView(), RoundStats())
    config = wire.server_step("setup", lambda: server.setup().to_dict())
    replies: dict[int, Payload] = {}
    for cid, client in clients.items():
        wire.down("setup", cid, config)
        replies[cid] = wire.client_step(
            "advertise_keys", cid, lambda c=client: c.setup(dict(config)).to_dict()
        )
    # (server stage, reply type it parses, its step, label and type of what it sends down,
    #  the client's step, the label of the client's reply, who drops before replying)
    steps = (
        ("advertise_keys", AdvertiseKeys, server.receive_keys, "advertise_keys", PeerKeys,
         lambda c, m: c.share_keys(m), "share_keys", dropout_after_advertise),
        ("share_keys", ShareKeys, server.receive_shares, "share_keys", ForwardedShares,
         lambda c, m: c.masked_input(m, vectors[c.client_id]), "masked_input", dropout_after_keys),
        ("masked_input", MaskedInput, server.receive_masked_inputs, "unmask", UnmaskRequest,
         lambda c, m: c.unmask(m), "unmask", dropout_after_masking),
    )  # fmt: skip
    for stage, inbound, receive, down, outbound, client_step, up, gone in steps:
        outgoing = wire.server_step(
            stage,
            lambda r=receive, i=inbound, got=replies: {
                c: m.to_dict() for c, m in r({c: i.from_dict(d) for c, d in got.items()}).items()
            },
        )
        replies = {}
        for cid, payload in outgoing.items():
            wire.down(down, cid, payload)
            if cid not in gone:
                replies[cid] = wire.client_step(
                    up,
                    cid,
                    lambda f=client_step, c=clients[cid], p=payload, o=outbound: f(
                        c, o.from_dict(p)
                    ).to_dict(),
                )
    result = wire.server_step(
        "unmask",
        lambda: server.receive_unmask({c: UnmaskResponse.from_dict(d) for c, d in replies.items()}),
    )
    assert isinstance(result, AggregateResult)
    result.stats = wire.stats
    return result


def simulate_round(
    vectors: Sequence[np.ndarray],
    dropout_after_keys: Collection[int] = frozenset(),
    config: SecAggConfig | None = None,
    *,
    dropout_after_advertise: Collection[int] = frozenset(),
    dropout_after_masking: Collection[int] = frozenset(),
    view: ServerView | None = None,
    clip_range: float = 1.0,
) -> AggregateResult:
    """One in-process round over ``vectors`` (client ``config.client_ids[i]`` holds
    ``vectors[i]``; without ``config`` the ids are ``0..n-1`` and the defaults apply). Returns
    the survivors' sum with ``stats`` (a :class:`RoundStats`); fills ``view`` if given."""
    if config is None:
        config = SecAggConfig.create(
            list(range(len(vectors))), np.asarray(vectors[0]).size, clip_range=clip_range
        )
    if len(vectors) != len(config.client_ids):
        raise ValueError(f"vectors: {len(vectors)} given for {len(config.client_ids)} clients")
    clients = {cid: SecAggClient(cid) for cid in config.client_ids}
    return run_round(
        clients,
        SecAggServer(config),
        dict(zip(config.client_ids, vectors, strict=True)),
        dropout_after_advertise=dropout_after_advertise,
        dropout_after_keys=dropout_after_keys,
        dropout_after_masking=dropout_after_masking,
        view=view,
    )
