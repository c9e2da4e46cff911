"""What travels between the ServerApp and the ClientApps, and how a reply is checked.

A train instruction carries ``arrays`` (the global model) and ``config`` (the round's settings,
flat scalars); a reply carries ``arrays`` (the model update, local − global) and ``metrics``
(``num-examples``, ``partition-id``, ``train-loss``; under client-side clipping ``clip-bit``).
``check_reply`` rejects anything the server cannot safely aggregate and says why. Under secure
aggregation the stages travel as in :mod:`privml.federated.secagg_wire` instead. Either way a
round hands the server a :class:`RoundSum`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Message, MetricRecord, RecordDict

ARRAYS, CONFIG, METRICS = "arrays", "config", "metrics"
TRAIN = "train"


@dataclass
class RoundSum:
    """What one round's aggregation gives the server: the sum of the accepted (clipped) updates
    and, per client on average, the bytes each way. ``aborted`` is set (with the reason) when
    secure aggregation stopped the round: then nothing was released and ``total`` is unused."""

    total: np.ndarray
    bits: float = 0.0  # sum of the centred (noised) clip bits
    weight_sum: float = 0.0  # no DP: sum of the example weights
    accepted: list[int] = field(default_factory=list)  # partition ids in the sum (-1: unknown)
    rejected: list[dict] = field(default_factory=list)  # {"node", "partition"?, "reason"}
    bytes_sent: float = 0.0  # model + round config, server -> client
    bytes_received: float = 0.0  # the update (plain) or the masked vector (secagg)
    bytes_secagg: float = 0.0  # every other secure-aggregation message, both ways
    aborted: str | None = None


def flat(arrays: list[np.ndarray]) -> np.ndarray:
    """Concatenate tensors into one float64 vector."""
    return np.concatenate([a.ravel() for a in arrays]).astype(np.float64)


def unflat(vec: np.ndarray, like: list[np.ndarray]) -> list[np.ndarray]:
    """Split ``vec`` back into float32 tensors shaped like ``like``."""
    out, start = [], 0
    for a in like:
        out.append(vec[start : start + a.size].reshape(a.shape).astype(np.float32))
        start += a.size
    return out


def to_record(weights: list[np.ndarray]) -> ArrayRecord:
    return ArrayRecord([np.ascontiguousarray(w) for w in weights])


def from_record(record: ArrayRecord) -> list[np.ndarray]:
    return record.to_numpy_ndarrays()


def content_bytes(content: RecordDict) -> int:
    """Serialized payload bytes of a message's records (array data plus encoded records)."""
    total = 0
    for rec in content.values():
        total += rec.count_bytes() if isinstance(rec, ArrayRecord) else len(rec.deflate())
    return total


def train_content(weights: list[np.ndarray], config: dict) -> RecordDict:
    return RecordDict({ARRAYS: to_record(weights), CONFIG: ConfigRecord(config)})


def reply_content(update: list[np.ndarray], metrics: dict) -> RecordDict:
    return RecordDict({ARRAYS: to_record(update), METRICS: MetricRecord(metrics)})


def check_reply(
    msg: Message, shapes: list[tuple[int, ...]], need_bit: bool = False
) -> tuple[list[np.ndarray] | None, dict, str | None]:
    """(update, metrics, None) for a usable reply, else (None, metrics, reason)."""
    if msg.has_error():
        return None, {}, f"client error: {msg.error.reason}"
    content = msg.content
    if ARRAYS not in content.array_records or METRICS not in content.metric_records:
        return None, {}, "malformed reply: missing 'arrays' or 'metrics'"
    metrics = dict(content.metric_records[METRICS])
    record = content.array_records[ARRAYS]
    if len(record) != len(shapes):
        return None, metrics, f"wrong number of tensors: {len(record)}, expected {len(shapes)}"
    for i, (arr, shape) in enumerate(zip(record.values(), shapes, strict=True)):
        if tuple(arr.shape) != tuple(shape):
            return None, metrics, f"tensor {i}: wrong shape {tuple(arr.shape)}, expected {shape}"
        if arr.dtype not in ("float32", "float64", "<f4", "<f8"):
            return None, metrics, f"tensor {i}: wrong dtype {arr.dtype}, expected float32"
    try:
        update = [a.astype(np.float64) for a in from_record(record)]
    except Exception as exc:  # noqa: BLE001 (any decoding failure rejects the reply)
        return None, metrics, f"undecodable tensors: {type(exc).__name__}"
    for i, a in enumerate(update):
        if not np.all(np.isfinite(a)):
            return None, metrics, f"tensor {i}: non-finite values (NaN or inf)"
    n = metrics.get("num-examples")
    if not (isinstance(n, int | float) and np.isfinite(n) and n > 0):
        return None, metrics, f"num-examples: must be a positive number, got {n!r}"
    if need_bit:
        bit = metrics.get("clip-bit")
        if not (isinstance(bit, int | float) and np.isfinite(bit)):
            return None, metrics, f"clip-bit: must be a finite number, got {bit!r}"
    return update, metrics, None
