"""One secure-aggregation round (SecAgg+) driven over a Flower ``Grid``: the server learns only
the sum of the surviving sampled clients' clipped updates.

Four ``grid.send_and_receive`` round trips (message types in :mod:`.secagg_wire`): setup (the
cohort's :class:`~privml.federated.secagg.SecAggConfig`; each client answers with its public
keys and its partition id), share keys, masked input (the forwarded shares ride with the global
model and the round's config: the client trains *here*, clips, adds its noise share if any,
and answers with the masked quantized vector only), unmask. The server side of the protocol is
:class:`~privml.federated.secagg.SecAggServer`; this module only moves its messages.

A client that does not reply, replies with an error, or sends a malformed message at any stage
is dropped from the round with a logged reason; the engine removes its masks. If fewer than the
threshold (70% of the cohort by default: up to 30% may drop after the key exchange) are left at
any stage, :class:`~privml.federated.secagg.SecAggAbort` stops the round and nothing is released:
the returned :class:`RoundSum` has ``aborted`` set to the engine's message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
from flwr.app import ConfigRecord, Message, RecordDict
from flwr.serverapp import Grid

from privml.federated.protocol import ARRAYS, CONFIG, METRICS, RoundSum, to_record
from privml.federated.secagg import (
    AdvertiseKeys,
    MaskedInput,
    SecAggConfig,
    SecAggError,
    SecAggServer,
    ShareKeys,
    UnmaskResponse,
)
from privml.federated.secagg_layout import Layout
from privml.federated.secagg_wire import (
    MASKED,
    SETUP,
    SHARE,
    STAGE_NAMES,
    UNMASK,
    payload_of,
    records_bytes,
    to_records,
)

log = logging.getLogger("privml.federated")


class _Round:
    """The server's side of one round: sends, collects, keeps reasons and byte counts."""

    def __init__(self, grid: Grid, rnd: int, timeout: float, clients: int) -> None:
        self.grid, self.rnd, self.timeout, self.clients = grid, rnd, timeout, clients
        self.reasons: dict[int, str] = {}  # node -> why it left the round (first reason)
        self.partition: dict[int, int] = {}
        self.model_bytes: dict[int, int] = {}
        self.masked_bytes: dict[int, int] = {}
        self.other_bytes: dict[int, int] = {}

    def drop(self, node: int, reason: str) -> None:
        self.reasons.setdefault(node, reason)

    def exchange(self, mtype: str, contents: dict[int, RecordDict]) -> dict[int, RecordDict]:
        """One stage: send each node its content, return the non-error replies' contents."""
        stage = STAGE_NAMES[mtype]
        msgs = [Message(c, n, mtype, group_id=str(self.rnd)) for n, c in contents.items()]
        for node, content in contents.items():
            own = records_bytes(content, (ARRAYS, CONFIG)) if mtype == MASKED else 0
            self.model_bytes[node] = self.model_bytes.get(node, 0) + own
            self._count(self.other_bytes, node, records_bytes(content) - own)
        replies = self.grid.send_and_receive(msgs, timeout=self.timeout)
        got = {m.metadata.src_node_id: m for m in replies}
        out = {}
        for node in contents:
            msg = got.get(node)
            if msg is None:
                self.drop(node, f"{stage}: no reply (crashed, offline or timed out)")
            elif msg.has_error():
                self.drop(node, f"{stage}: client error: {msg.error.reason}")
            else:
                size = records_bytes(msg.content)
                self._count(self.masked_bytes if mtype == MASKED else self.other_bytes, node, size)
                out[node] = msg.content
        return out

    @staticmethod
    def _count(table: dict[int, int], node: int, size: int) -> None:
        table[node] = table.get(node, 0) + size

    def parse(self, mtype: str, replies: dict[int, RecordDict], kind: Callable) -> dict:
        """``{node: engine message}`` of the well-formed replies; the rest are dropped."""
        out = {}
        for node, content in replies.items():
            try:
                out[node] = kind.from_dict(payload_of(content))
            except (ValueError, TypeError) as exc:
                self.drop(node, f"{STAGE_NAMES[mtype]}: malformed reply: {exc}")
        return out

    def check_partitions(self, replies: dict[int, RecordDict]) -> dict[int, RecordDict]:
        """Keep the setup replies naming a training client's partition id."""
        out = {}
        for node, content in replies.items():
            metrics = content.metric_records.get(METRICS)
            pid = dict(metrics).get("partition-id") if metrics is not None else None
            if not isinstance(pid, int) or not 0 <= pid < self.clients:
                self.drop(node, f"setup: partition-id {pid!r} is not a training client")
                continue
            self.partition[node] = pid
            out[node] = content
        return out

    def engine_rejections(self, server: SecAggServer, stage: str) -> None:
        for node, reason in server.rejected.items():
            self.drop(node, f"{stage}: rejected: {reason}")


def _send(payloads: dict[int, object]) -> dict[int, RecordDict]:
    return {n: RecordDict(to_records(m.to_dict())) for n, m in payloads.items()}


def secagg_round(
    grid: Grid,
    sampled: list[int],
    rnd: int,
    round_cfg: dict,
    weights: list[np.ndarray],
    layout: Layout,
    timeout: float,
) -> RoundSum:
    """One SecAgg+ round over ``sampled`` (Flower node ids, also the protocol's client ids)."""
    rs = RoundSum(total=np.zeros(layout.params))
    if len(sampled) < 2:
        rs.aborted = (
            f"secure aggregation aborted: {len(sampled)} client(s) sampled, it needs at least 2"
        )
        return rs
    r = _Round(grid, rnd, timeout, int(round_cfg["clients"]))
    server = SecAggServer(SecAggConfig.create(sampled, layout.length, clip_range=layout.bound))
    result = None
    try:
        setup = RecordDict(to_records(server.setup().to_dict()))
        replies = r.check_partitions(r.exchange(SETUP, {n: setup for n in sampled}))
        peer_keys = server.receive_keys(r.parse(SETUP, replies, AdvertiseKeys))
        r.engine_rejections(server, "setup")
        replies = r.exchange(SHARE, _send(peer_keys))
        forwarded = server.receive_shares(r.parse(SHARE, replies, ShareKeys))
        r.engine_rejections(server, "share-keys")
        model, config = to_record(weights), ConfigRecord(round_cfg)
        contents = _send(forwarded)
        for content in contents.values():
            content[ARRAYS], content[CONFIG] = model, config
        replies = r.exchange(MASKED, contents)
        requests = server.receive_masked_inputs(r.parse(MASKED, replies, MaskedInput))
        r.engine_rejections(server, "masked-input")
        replies = r.exchange(UNMASK, _send(requests))
        result = server.receive_unmask(r.parse(UNMASK, replies, UnmaskResponse))
        rs.total, rs.weight_sum, rs.bits = layout.decode(result.vector_sum)
    except (SecAggError, ValueError) as exc:
        msg = str(exc)
        rs.aborted = msg if msg.startswith("secure aggregation aborted") else f"aborted: {msg}"
    survivors = set(result.survivors) if result is not None else set()
    for node in sampled:
        if node in survivors:
            rs.accepted.append(r.partition[node])
            if node in r.reasons:  # answered the masked stage, not the unmask request
                note = r.reasons[node]
                log.info("round %d: client %s: %s (its input is in the sum)", rnd, node, note)
        else:
            reason = r.reasons.get(node, "left the round when it aborted")
            rs.rejected.append({"node": node, "partition": r.partition.get(node), "reason": reason})
    n = len(sampled)
    rs.bytes_sent = sum(r.model_bytes.values()) / n
    rs.bytes_received = sum(r.masked_bytes.values()) / n
    rs.bytes_secagg = sum(r.other_bytes.values()) / n
    return rs
