"""SecAgg+ on Flower's Message API: the stage message types, the engine's messages as Flower
records, and a client's SecAgg state kept in its ``context.state`` between stages.

The engine's messages (:mod:`privml.federated.secagg.messages`) are flat dicts of bytes, ints,
floats and NumPy arrays. On the wire the arrays go in the ArrayRecord ``secagg-arrays`` and the
rest in the ConfigRecord ``secagg``; nothing else of the engine travels. One stage is one
``grid.send_and_receive`` round trip:

=====================  ===========================================  ============================
message type           server -> client                             client -> server
=====================  ===========================================  ============================
``query.secagg_setup``  ``SecAggConfig`` (cohort, threshold, ...)    ``AdvertiseKeys`` + its
                                                                    ``partition-id``
``query.secagg_share``  ``PeerKeys``                                 ``ShareKeys`` (ciphertexts)
``train.secagg_masked`` ``ForwardedShares`` + global model + config  ``MaskedInput`` only
``query.secagg_unmask`` ``UnmaskRequest``                            ``UnmaskResponse``
=====================  ===========================================  ============================

A client's state (private keys, self-mask seed, the shares it holds) stays in ``context.state``
under ``secagg-state``/``secagg-state-arrays``: never sent, never logged, deleted after unmask.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
from flwr.app import Array, ArrayRecord, ConfigRecord, Context, RecordDict

from privml.federated.secagg import SecAggClient

SETUP = "query.secagg_setup"
SHARE = "query.secagg_share"
MASKED = "train.secagg_masked"
UNMASK = "query.secagg_unmask"
STAGE_NAMES = {SETUP: "setup", SHARE: "share-keys", MASKED: "masked-input", UNMASK: "unmask"}

SECAGG, SECAGG_ARRAYS = "secagg", "secagg-arrays"
STATE, STATE_ARRAYS = "secagg-state", "secagg-state-arrays"


def to_records(payload: dict, prefix: str = "secagg") -> dict[str, ConfigRecord | ArrayRecord]:
    """An engine message dict as ``{prefix: ConfigRecord, prefix-arrays: ArrayRecord}``."""
    arrays = OrderedDict(
        (k, Array(np.ascontiguousarray(v))) for k, v in payload.items() if isinstance(v, np.ndarray)
    )
    scalars = {k: v for k, v in payload.items() if not isinstance(v, np.ndarray)}
    return {prefix: ConfigRecord(scalars), f"{prefix}-arrays": ArrayRecord(arrays)}


def payload_of(content: RecordDict, prefix: str = "secagg") -> dict:
    """The engine message dict inside ``content`` (``ValueError`` if its records are missing)."""
    if prefix not in content.config_records or f"{prefix}-arrays" not in content.array_records:
        raise ValueError(f"missing the {prefix!r} records")
    out: dict = dict(content.config_records[prefix])
    for key, arr in content.array_records[f"{prefix}-arrays"].items():
        out[key] = arr.numpy()
    return out


def save_state(context: Context, client: SecAggClient) -> None:
    """Keep ``client`` in the node's state for its next stage (secrets: local only)."""
    for name, record in to_records(client.to_state(), STATE).items():
        context.state[name] = record


def load_state(context: Context) -> SecAggClient:
    """The client saved by the previous stage (``RuntimeError`` if there is none)."""
    try:
        return SecAggClient.from_state(payload_of(context.state, STATE))
    except ValueError:
        raise RuntimeError("secure aggregation: no client state from the previous stage") from None


def clear_state(context: Context) -> None:
    """Forget the round's secrets."""
    for name in (STATE, f"{STATE}-arrays"):
        if name in context.state:
            del context.state[name]


def records_bytes(content: RecordDict, names: tuple[str, ...] | None = None) -> int:
    """Serialized bytes of ``content``'s records (only those in ``names`` if given)."""
    total = 0
    for name, rec in content.items():
        if names is None or name in names:
            total += rec.count_bytes() if isinstance(rec, ArrayRecord) else len(rec.deflate())
    return total
