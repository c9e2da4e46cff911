"""The Flower ClientApp: one client (a user or a silo) trains the global model on its own data.

The client's data never leave it; only the model update (local − global) goes back, in the
clear (``train``) or, under secure aggregation, masked (the ``secagg`` stages, below). Which
data it holds is its node config's ``partition-id`` (``flower-supernode --node-config
"partition-id=3"``); the split itself is rebuilt from the round's config and seed. Under
client-side clipping (secure aggregation or distributed DP) the client clips its update to the
round's clip norm, adds its share of the Gaussian noise, and computes its noised clip bit.

Secure aggregation (message types in :mod:`.secagg_wire`): ``query.secagg_setup`` starts a fresh
:class:`~privml.federated.secagg.SecAggClient` (its id: this node's id) and answers with its
public keys; ``query.secagg_share`` answers with the encrypted key shares;
``train.secagg_masked`` trains locally, clips, noises, checks the update and answers with the
masked vector only (no metrics: nothing derived from the data leaves in the clear);
``query.secagg_unmask`` answers with the requested shares and forgets the round's secrets.
Between stages the SecAgg client lives in ``context.state`` (never logged or sent).
"""

from __future__ import annotations

import numpy as np
import torch
from flwr.app import Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

from privml.federated.dp import clip, gaussian
from privml.federated.protocol import ARRAYS, CONFIG, METRICS, flat, from_record, reply_content
from privml.federated.secagg import (
    ForwardedShares,
    PeerKeys,
    SecAggClient,
    UnmaskRequest,
)
from privml.federated.secagg_layout import Layout
from privml.federated.secagg_wire import (
    clear_state,
    load_state,
    payload_of,
    save_state,
    to_records,
)
from privml.federated.task_tabular import get_weights, set_weights
from privml.federated.tasks import task_for

app = ClientApp()


def partition_id(context: Context) -> int:
    try:
        return int(context.node_config["partition-id"])
    except (KeyError, ValueError, TypeError):
        raise ValueError("node config: partition-id must be set to an integer") from None


def examples(ds: object, pid: int) -> int:
    """How many training examples client ``pid`` holds (rows, or a user's sequences)."""
    data = ds.client(pid)  # type: ignore[attr-defined]
    return len(data[1]) if isinstance(data, tuple) else len(data)


def train_update(global_weights: list[np.ndarray], cfg: dict, pid: int) -> tuple[list, dict]:
    """Local training from ``global_weights``: the update and the reply's metrics."""
    torch.set_num_threads(1)
    task = task_for(cfg)
    ds = task.dataset(cfg)
    if not 0 <= pid < ds.clients:
        raise ValueError(
            f"partition-id: {pid} is not a training client "
            f"(training clients are 0..{ds.clients - 1})"
        )
    model = task.model(cfg, ds)
    set_weights(model, global_weights)
    seed = int(cfg["seed"]) * 1_000_003 + int(cfg["round"]) * 10_007 + pid
    loss = task.train(model, ds, pid, cfg, seed)
    update = [a - g for a, g in zip(get_weights(model), global_weights, strict=True)]
    metrics: dict = {"num-examples": examples(ds, pid), "partition-id": pid, "train-loss": loss}
    if bool(cfg["client-clip"]):
        update, metrics["clip-bit"] = clip_and_noise(update, cfg)
    return update, metrics


def clip_and_noise(update: list[np.ndarray], cfg: dict) -> tuple[list[np.ndarray], float]:
    """Clip the whole update to ``clip-norm``, add ``noise-std`` noise; the noised centred bit."""
    vec = flat(update)
    bound = float(cfg["clip-norm"])
    clipped, norm = clip(vec, bound)
    noised = clipped + gaussian(vec.size, float(cfg["noise-std"]))
    bit = (1.0 if norm <= bound else 0.0) - 0.5 + float(gaussian(1, float(cfg["bit-noise-std"]))[0])
    out, start = [], 0
    for u in update:
        out.append(noised[start : start + u.size].reshape(u.shape).astype(np.float32))
        start += u.size
    return out, bit


@app.train()
def train(msg: Message, context: Context) -> Message:
    cfg = dict(msg.content.config_records[CONFIG])
    weights = from_record(msg.content.array_records[ARRAYS])
    update, metrics = train_update(weights, cfg, partition_id(context))
    return Message(reply_content(update, metrics), reply_to=msg)


def secagg_vector(weights: list[np.ndarray], cfg: dict, pid: int) -> np.ndarray:
    """Train, clip and noise as the round says; the vector to mask (update, then extras)."""
    update, metrics = train_update(weights, cfg, pid)
    layout = Layout.from_config(cfg, sum(w.size for w in weights))
    weight = 1.0
    if layout.weighted:  # no DP: example weight relative to the mean client's
        ds = task_for(cfg).dataset(cfg)
        mean = np.mean([examples(ds, c) for c in range(ds.clients)])
        weight = metrics["num-examples"] / float(mean)
    return layout.encode(flat(update), weight, float(metrics.get("clip-bit", 0.0)))


@app.query("secagg_setup")
def secagg_setup(msg: Message, context: Context) -> Message:
    """Stage 0 -> 1: a fresh SecAgg client for this round; its public keys."""
    clear_state(context)
    pid = partition_id(context)
    client = SecAggClient(msg.metadata.dst_node_id)
    keys = client.setup(payload_of(msg.content))
    save_state(context, client)
    content = RecordDict(to_records(keys.to_dict()))
    content[METRICS] = MetricRecord({"partition-id": pid})  # who it is; nothing about its data
    return Message(content, reply_to=msg)


@app.query("secagg_share")
def secagg_share(msg: Message, context: Context) -> Message:
    """Stage 2: encrypted shares of this client's secrets for its neighbours."""
    client = load_state(context)
    shares = client.share_keys(PeerKeys.from_dict(payload_of(msg.content)))
    save_state(context, client)
    return Message(RecordDict(to_records(shares.to_dict())), reply_to=msg)


@app.train("secagg_masked")
def secagg_masked(msg: Message, context: Context) -> Message:
    """Stage 3: local training; only the masked, quantized vector goes back."""
    client = load_state(context)
    forwarded = ForwardedShares.from_dict(payload_of(msg.content))
    cfg = dict(msg.content.config_records[CONFIG])
    weights = from_record(msg.content.array_records[ARRAYS])
    vector = secagg_vector(weights, cfg, partition_id(context))
    masked = client.masked_input(forwarded, vector)
    client.quantized = None
    save_state(context, client)
    return Message(RecordDict(to_records(masked.to_dict())), reply_to=msg)


@app.query("secagg_unmask")
def secagg_unmask(msg: Message, context: Context) -> Message:
    """Stage 4: the shares the server asked for (the engine refuses unsafe requests)."""
    client = load_state(context)
    clear_state(context)
    response = client.unmask(UnmaskRequest.from_dict(payload_of(msg.content)))
    return Message(RecordDict(to_records(response.to_dict())), reply_to=msg)
