"""Secure aggregation (SecAgg+, Bell et al. 2020, on Bonawitz et al. 2017), framework-free.

The server learns only the sum of the surviving clients' (clipped, quantized) update vectors.
A driver (e.g. a Flower ``ServerApp`` over the Message API) runs one round stage by stage:

    server = SecAggServer(SecAggConfig.create(client_ids, vector_length, clip_range=...))
    cfg = server.setup()                            # 0: to every client (cfg.to_dict())
    keys = server.receive_keys(advertise_replies)   # 1: {id: AdvertiseKeys} -> {id: PeerKeys}
    fwd = server.receive_shares(share_replies)      # 2: {id: ShareKeys} -> {id: ForwardedShares}
    req = server.receive_masked_inputs(masked)      # 3: {id: MaskedInput} -> {id: UnmaskRequest}
    result = server.receive_unmask(unmask_replies)  # 4: {id: UnmaskResponse} -> AggregateResult

and on each client, one :class:`SecAggClient` per round: ``setup(cfg)``, ``share_keys(peer_keys)``,
``masked_input(forwarded, vector)``, ``unmask(request)``. :func:`simulate_round` runs it all in
one process and records what the server sees.
"""

from privml.federated.secagg.client import SecAggClient
from privml.federated.secagg.config import SecAggConfig, default_parameters
from privml.federated.secagg.errors import SecAggAbort, SecAggError, SecAggRefusal
from privml.federated.secagg.messages import (
    AdvertiseKeys,
    ForwardedShares,
    MaskedInput,
    PeerKeys,
    ShareKeys,
    UnmaskRequest,
    UnmaskResponse,
    payload_bytes,
)
from privml.federated.secagg.server import AggregateResult, SecAggServer
from privml.federated.secagg.simulate import RoundStats, ServerView, run_round, simulate_round

__all__ = [
    "AdvertiseKeys",
    "AggregateResult",
    "ForwardedShares",
    "MaskedInput",
    "PeerKeys",
    "RoundStats",
    "SecAggAbort",
    "SecAggClient",
    "SecAggConfig",
    "SecAggError",
    "SecAggRefusal",
    "SecAggServer",
    "ServerView",
    "ShareKeys",
    "UnmaskRequest",
    "UnmaskResponse",
    "default_parameters",
    "payload_bytes",
    "run_round",
    "simulate_round",
]
