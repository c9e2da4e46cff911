"""What the server sees: masked inputs that carry nothing about one client's update, share
ciphertexts it cannot open, and never enough shares to strip one client's masks."""

import os
import re
from pathlib import Path

import numpy as np
import pytest
from cryptography.exceptions import InvalidTag
from scipy import stats

from privml.federated.secagg import (
    SecAggClient,
    SecAggConfig,
    SecAggServer,
    ServerView,
    UnmaskRequest,
    crypto,
    run_round,
)
from privml.federated.secagg.client import channel_associated_data
from privml.federated.secagg.messages import CIPHERTEXT_BYTES
from privml.federated.secagg.shamir import combine

N, LENGTH = 10, 20_000


def _observed_run(x0, dropout_after_keys=()):
    """One round with client 0 holding ``x0``; returns the server's view, clients, result."""
    config = SecAggConfig.create(list(range(N)), LENGTH)
    rng = np.random.default_rng(7)
    vectors = {0: x0, **{c: rng.uniform(-1, 1, LENGTH) for c in range(1, N)}}
    clients = {c: SecAggClient(c) for c in range(N)}
    view = ServerView()
    result = run_round(
        clients, SecAggServer(config), vectors, dropout_after_keys=dropout_after_keys, view=view
    )
    return view, clients, result


def _r_squared(target, *features):
    design = np.column_stack([np.ones(target.size), *features])
    coef, *_ = np.linalg.lstsq(design, target, rcond=None)
    resid = target - design @ coef
    return 1 - resid.var() / target.var()


def test_masked_input_is_uniform_whatever_the_input():
    low, high = np.full(LENGTH, -1.0), np.full(LENGTH, 1.0)  # encodings 0 and 2^bits - 1
    y = {}
    for name, x0 in (("low", low), ("high", high)):
        view, _, _ = _observed_run(x0)
        y[name] = view.received_at("masked_input")[0]["masked"].astype(np.float64)
        counts = np.bincount((y[name] // 2**28).astype(int), minlength=16)  # top 4 bits
        assert stats.chisquare(counts).pvalue > 1e-6
        assert abs(y[name].mean() / 2**32 - 0.5) < 6 * np.sqrt(1 / 12 / LENGTH)
    # opposite extreme inputs, yet the two masked vectors are alike in distribution...
    assert stats.ks_2samp(y["low"], y["high"]).pvalue > 1e-6
    # ...and their difference is not the (constant) difference of the encodings
    diff = (y["high"] - y["low"]) % 2**32
    assert np.unique(diff).size > LENGTH * 0.99


def test_least_squares_recovers_nothing_from_a_masked_input():
    x0 = np.random.default_rng(3).uniform(-1, 1, LENGTH)
    view, clients, _ = _observed_run(x0)
    y0 = view.received_at("masked_input")[0]["masked"].astype(np.float64)
    bits = [((y0.astype(np.uint64) >> s) & 1).astype(float) for s in (0, 8, 16, 24, 31)]
    assert _r_squared(x0, y0, *bits) < 2e-3  # chance level for 7 features: ~3.5e-4
    assert abs(np.corrcoef(x0, y0)[0, 1]) < 5 / np.sqrt(LENGTH)
    # control: the same regression on the unmasked encoding explains x0 almost fully
    assert _r_squared(x0, clients[0].quantized.astype(float)) > 0.999


def test_server_cannot_open_the_share_ciphertexts():
    view, clients, _ = _observed_run(np.zeros(LENGTH))
    config = clients[0].config
    payload = view.received_at("share_keys")[0]
    dest, blob = payload["dest_ids"], payload["ciphertexts"]
    assert len(blob) == CIPHERTEXT_BYTES * len(dest)
    ct, receiver = blob[:CIPHERTEXT_BYTES], int(dest[0])
    aad = channel_associated_data(config.round_id, 0, receiver)
    # a key the server can derive (its own X25519 key against the advertised keys), or any guess
    c_pk = {c: d["c_pk"] for c, d in view.received_at("advertise_keys").items()}
    server_sk, _ = crypto.new_keypair()
    for key in (
        crypto.agree(server_sk, c_pk[0], crypto.CHANNEL_LABEL, config.round_id),
        crypto.agree(server_sk, c_pk[receiver], crypto.CHANNEL_LABEL, config.round_id),
        os.urandom(32),
    ):
        with pytest.raises(InvalidTag):
            crypto.decrypt(key, ct, aad)
    # the receiver's channel key opens it, and only for the right sender and receiver
    plaintext = crypto.decrypt(clients[receiver]._channel[0], ct, aad)
    assert len(plaintext) == CIPHERTEXT_BYTES - 28
    with pytest.raises(InvalidTag):
        crypto.decrypt(
            clients[receiver]._channel[0],
            ct,
            channel_associated_data(config.round_id, 0, int(dest[1])),
        )


def test_no_secret_appears_in_anything_the_server_received():
    view, clients, _ = _observed_run(np.zeros(LENGTH), dropout_after_keys={4})
    seen = view.received_bytes()
    for c, client in clients.items():
        assert client._b not in seen and client._c_sk not in seen and client._s_sk not in seen
        held = [s for pair in client._held.values() for s in pair]
        # the only plaintext shares the server gets are those it asked for at unmask time
        revealed = {s for s in held if s in seen}
        expected = {client._held[v][0] for v in client._held if v != 4}
        if c != 4:
            expected |= {client._held[4][1]} if 4 in client._held else set()
            assert revealed == expected
        else:
            assert revealed == set()


def test_dropped_clients_self_mask_is_never_revealed():
    view, _, result = _observed_run(np.zeros(LENGTH), dropout_after_keys={1, 2, 3})
    assert result.dropped == (1, 2, 3)
    replies = view.received_at("unmask")
    b_ids = [int(v) for d in replies.values() for v in d["b_ids"]]
    sk_ids = [int(v) for d in replies.values() for v in d["sk_ids"]]
    assert not set(b_ids) & set(sk_ids)  # no client has both kinds revealed, by anyone
    assert {1, 2, 3}.isdisjoint(b_ids)  # zero shares of a dropped client's b: it stays masked
    assert set(sk_ids) == {1, 2, 3} and set(b_ids) == set(result.survivors)


def test_a_lying_server_cannot_get_both_secrets_of_one_client():
    """The server wants client 0's input alone: it needs b_0 and s_sk_0. It tells clients 1-6
    that 0 survived (b shares) and 7-9 that it dropped (s_sk shares). With t = 7 > n / 2 it gets
    at most one secret: here b_0 (7 shares with 0's own) but only 3 shares of s_sk_0."""
    config = SecAggConfig.create(list(range(N)), 64)
    server = SecAggServer(config)
    clients = {c: SecAggClient(c) for c in range(N)}
    setup = server.setup()
    peer_keys = server.receive_keys({c: clients[c].setup(setup) for c in clients})
    fwd = server.receive_shares({c: clients[c].share_keys(m) for c, m in peer_keys.items()})
    for c, m in fwd.items():
        clients[c].masked_input(m, np.zeros(64))
    everyone = tuple(range(N))
    b_shares, sk_shares = [], []
    for c in range(N):
        if c <= 6:
            reply = clients[c].unmask(UnmaskRequest(survivors=everyone, dropped=()))
            b_shares.append((c + 1, reply.b_shares[reply.b_ids.index(0)]))
        else:
            others = tuple(v for v in everyone if v != 0)
            reply = clients[c].unmask(UnmaskRequest(survivors=others, dropped=(0,)))
            sk_shares.append((c + 1, reply.sk_shares[reply.sk_ids.index(0)]))
    assert combine(b_shares, config.threshold) == clients[0]._b
    with pytest.raises(ValueError, match="need 7 to reconstruct, got 3"):
        combine(sk_shares, config.threshold)


def test_no_insecure_randomness_in_the_package():
    package = Path(__file__).resolve().parents[2] / "src" / "privml" / "federated" / "secagg"
    for path in package.glob("*.py"):
        text = path.read_text()
        assert not re.search(r"^\s*(import random\b|from random import)", text, re.M), path.name
        assert "np.random" not in text and "numpy.random" not in text, path.name
