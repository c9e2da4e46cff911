"""The protocol end to end: exact sums, drop-outs, clean aborts, stage order, messages."""

import numpy as np
import pytest

from privml.federated.secagg import (
    SecAggAbort,
    SecAggClient,
    SecAggConfig,
    SecAggError,
    SecAggRefusal,
    SecAggServer,
    ShareKeys,
    UnmaskRequest,
    run_round,
    simulate_round,
)
from privml.federated.secagg.quantize import step

N, LENGTH = 10, 1000


def _vectors(n=N, length=LENGTH, seed=0):
    return [np.random.default_rng(seed + i).uniform(-1.2, 1.2, length) for i in range(n)]


def _round(config, vectors, **dropouts):
    clients = {c: SecAggClient(c) for c in config.client_ids}
    server = SecAggServer(config)
    result = run_round(
        clients, server, dict(zip(config.client_ids, vectors, strict=True)), **dropouts
    )
    return result, clients, server


def test_sum_is_exact_in_the_integer_domain():
    config = SecAggConfig.create(list(range(N)), LENGTH)
    vectors = _vectors()
    result, clients, _ = _round(config, vectors)
    plain = sum(c.quantized for c in clients.values())
    assert np.array_equal(result.quantized_sum, plain)
    assert result.count == N and result.survivors == tuple(range(N)) and result.dropped == ()
    true_sum = np.sum([np.clip(v, -1, 1) for v in vectors], axis=0)
    assert np.max(np.abs(result.vector_sum - true_sum)) <= N * step(1.0, config.quant_bits)


def test_thirty_percent_dropped_after_key_exchange_completes():
    config = SecAggConfig.create(list(range(N)), LENGTH)
    dropped = {1, 4, 8}
    result, clients, _ = _round(config, _vectors(), dropout_after_keys=dropped)
    alive = [c for c in range(N) if c not in dropped]
    assert result.survivors == tuple(alive) and result.dropped == (1, 4, 8)
    assert np.array_equal(result.quantized_sum, sum(clients[c].quantized for c in alive))


def test_simulate_round_with_drop_outs_at_every_stage():
    vectors = _vectors(n=12)
    result = simulate_round(
        vectors, dropout_after_advertise={0}, dropout_after_keys={5}, dropout_after_masking={11}
    )
    # 0 never shared keys and 5 never sent its input: neither is in the sum; 11 is, though it
    # did not help unmask
    assert result.survivors == tuple(c for c in range(12) if c not in (0, 5))
    expected = np.sum([np.clip(vectors[c], -1, 1) for c in result.survivors], axis=0)
    assert np.max(np.abs(result.vector_sum - expected)) < 12 * 1e-6


def test_sparse_secagg_plus_graph():
    ids = [3 * i + 7 for i in range(16)]
    config = SecAggConfig.create(ids, LENGTH, degree=8)  # neighbourhoods of 9, t = 7
    assert config.threshold == 7
    result, clients, _ = _round(config, _vectors(n=16), dropout_after_keys={ids[0]})
    assert result.count == 15
    assert np.array_equal(
        result.quantized_sum, sum(clients[c].quantized for c in ids if c != ids[0])
    )


def test_sparse_graph_survives_any_thirty_percent():
    """k = 2D and t = D + 1 (D = 30% of n) keep t > (k + 1) / 2 and leave every neighbourhood
    t survivors whoever drops: here all six dropped clients are neighbours of client 0."""
    config = SecAggConfig.create(list(range(20)), LENGTH, degree=12, threshold=7)
    assert config.min_clients == 14
    dropped = set(config.neighbours(0)[:6])
    result, clients, _ = _round(config, _vectors(n=20), dropout_after_keys=dropped)
    alive = [c for c in range(20) if c not in dropped]
    assert np.array_equal(result.quantized_sum, sum(clients[c].quantized for c in alive))


def test_64_bit_modulus():
    config = SecAggConfig.create(list(range(5)), 100, modulus_bits=64, clip_range=2.0)
    result, clients, _ = _round(config, _vectors(n=5, length=100), dropout_after_keys={2})
    assert result.quantized_sum.dtype == np.uint64
    assert np.array_equal(result.quantized_sum, sum(clients[c].quantized for c in (0, 1, 3, 4)))


@pytest.mark.parametrize(
    ("dropouts", "message"),
    [
        ({"dropout_after_keys": {0, 2, 4, 6}},
         "secure aggregation aborted: 6 of 10 clients left after masked-input collection, "
         "below the threshold 7"),
        ({"dropout_after_advertise": {1, 2, 3, 4}},
         "secure aggregation aborted: 6 of 10 clients left after share-key collection, "
         "below the threshold 7"),
        ({"dropout_after_masking": {5, 6, 7, 8}},
         "secure aggregation aborted: 6 of 10 clients left after unmask responses, "
         "below the threshold 7"),
    ],
)  # fmt: skip
def test_too_many_dropouts_abort_cleanly(dropouts, message):
    config = SecAggConfig.create(list(range(N)), LENGTH)
    clients = {c: SecAggClient(c) for c in config.client_ids}
    server = SecAggServer(config)
    vectors = dict(enumerate(_vectors()))
    with pytest.raises(SecAggAbort) as info:
        run_round(clients, server, vectors, **dropouts)
    assert str(info.value) == message
    assert server.stage == "aborted"
    with pytest.raises(SecAggError, match="not expected at stage 'aborted'"):
        server.receive_unmask({})


def test_client_refuses_both_shares_for_one_peer():
    config = SecAggConfig.create(list(range(4)), 8, dropout_tolerance=0.25)  # t = 3
    client = _client_at_unmask(config, 0)
    with pytest.raises(SecAggRefusal, match=r"clients \[2\] are listed both as survivors and as "):
        client.unmask(UnmaskRequest(survivors=(0, 1, 2), dropped=(2,)))
    # and it answers no second request in the round, even a well-formed one
    with pytest.raises(SecAggError, match="at 'done'"):
        client.unmask(UnmaskRequest(survivors=(0, 1, 2), dropped=(3,)))


@pytest.mark.parametrize(
    ("survivors", "dropped", "error", "match"),
    [
        ((1, 2, 3), (0,), SecAggRefusal, "it is not dropped"),
        ((1, 2, 3), (), SecAggRefusal, "it is not dropped"),
        ((0, 1), (2, 3), SecAggAbort, "2 surviving neighbours"),
        ((0, 1, 2, 99), (), SecAggError, "holds no shares"),
    ],
)
def test_client_checks_the_unmask_request(survivors, dropped, error, match):
    config = SecAggConfig.create(list(range(4)), 8, dropout_tolerance=0.25)
    client = _client_at_unmask(config, 0)
    with pytest.raises(error, match=match):
        client.unmask(UnmaskRequest(survivors=survivors, dropped=dropped))


def _client_at_unmask(config, me):
    """Run stages 0-3 for every client of ``config``; return client ``me``."""
    server = SecAggServer(config)
    clients = {c: SecAggClient(c) for c in config.client_ids}
    setup = server.setup()
    peer_keys = server.receive_keys({c: clients[c].setup(setup) for c in clients})
    fwd = server.receive_shares({c: clients[c].share_keys(m) for c, m in peer_keys.items()})
    for c, m in fwd.items():
        clients[c].masked_input(m, np.zeros(config.vector_length))
    return clients[me]


def test_stages_must_come_in_order():
    config = SecAggConfig.create(list(range(4)), 8)
    client, server = SecAggClient(0), SecAggServer(config)
    with pytest.raises(SecAggError, match="client 0: .* at 'new'"):
        client.share_keys(None)
    with pytest.raises(SecAggError, match="not expected at stage 'setup'"):
        server.receive_keys({})
    with pytest.raises(SecAggError, match="client 42 is not in the cohort"):
        SecAggClient(42).setup(config.to_dict())


def test_malformed_reply_counts_as_a_dropout():
    config = SecAggConfig.create(list(range(N)), LENGTH)
    server = SecAggServer(config)
    clients = {c: SecAggClient(c) for c in config.client_ids}
    setup = server.setup()
    peer_keys = server.receive_keys({c: clients[c].setup(setup) for c in clients})
    shares = {c: clients[c].share_keys(m) for c, m in peer_keys.items()}
    shares[3] = ShareKeys(shares[3].dest_ids[1:], shares[3].ciphertexts[1:])
    fwd = server.receive_shares(shares)
    assert 3 not in fwd and "dest_ids" in server.rejected[3]
    assert all(3 not in m.source_ids for m in fwd.values())


def test_stats_count_bytes_and_time_per_stage():
    result = simulate_round(_vectors())
    stats = result.stats
    sent = stats.sent[0]
    assert sent["masked_input"] == 4 * LENGTH  # uint32 words
    assert sent["advertise_keys"] == 64
    assert sent["share_keys"] == 9 * 8 + 9 * 176  # ids and one ciphertext per neighbour
    assert set(stats.received[0]) == {"setup", "advertise_keys", "share_keys", "unmask"}
    assert stats.client_bytes(0) == sum(sent.values()) + sum(stats.received[0].values())
    assert stats.total_server_seconds() > 0 and stats.mean_client_seconds(range(N)) > 0


def test_client_state_survives_a_round_trip_between_stages():
    """A stateless client process (Flower ClientApp) rebuilds its client from a dict each stage."""
    config = SecAggConfig.create(list(range(N)), LENGTH)
    server, vectors = SecAggServer(config), _vectors()
    states = {c: SecAggClient(c).to_state() for c in config.client_ids}

    def run(cid, call):
        client = SecAggClient.from_state(states[cid])
        reply = call(client)
        states[cid] = client.to_state()
        return reply

    setup = server.setup().to_dict()
    keys = server.receive_keys({c: run(c, lambda cl: cl.setup(setup)) for c in states})
    fwd = server.receive_shares(
        {c: run(c, lambda cl, m=m: cl.share_keys(m)) for c, m in keys.items()}
    )
    masked = {
        c: run(c, lambda cl, m=m, c=c: cl.masked_input(m, vectors[c]))
        for c, m in fwd.items()
        if c != 2
    }
    requests = server.receive_masked_inputs(masked)
    result = server.receive_unmask(
        {c: run(c, lambda cl, m=m: cl.unmask(m)) for c, m in requests.items()}
    )
    expected = np.sum([np.clip(v, -1, 1) for c, v in enumerate(vectors) if c != 2], axis=0)
    assert result.count == N - 1
    assert np.max(np.abs(result.vector_sum - expected)) <= N * step(1.0, config.quant_bits)
    assert SecAggClient.from_state(states[0]).stage == "done"
