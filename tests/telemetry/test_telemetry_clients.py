"""Client-side behaviour: memoization, α-point rounding, persistence and the randomness source."""

import json
from collections import Counter

import numpy as np
import pytest

from privml import csprng
from privml.telemetry import (
    DBitFlipClient,
    OneBitMeanClient,
    SecureSource,
    SeededSource,
    alpha_round,
)
from privml.telemetry.randomness import sample_without_replacement

M = 100.0


def _mean_clients(count: int, s: int = 10, gamma: float = 0.0) -> list[OneBitMeanClient]:
    rng = SeededSource(21)
    return [OneBitMeanClient.create(1.0, M, s=s, gamma=gamma, rng=rng) for _ in range(count)]


def test_memoized_mean_reports_of_unchanged_value_are_identical():
    values = SeededSource(22).random(300) * M
    clients = _mean_clients(300)
    first = [c.report(x) for c, x in zip(clients, values, strict=True)]
    for _ in range(50):  # 50 more collection rounds: not a single report changes
        assert [c.report(x) for c, x in zip(clients, values, strict=True)] == first
    # ...while the population's bits are not all alike (the memo holds random bits).
    assert 0 < sum(first) < len(first)


def test_changed_value_changes_rounding_input_and_answer_comes_from_memo():
    for client in _mean_clients(100, s=10):
        x = 37.3
        i = client.rounded_index(x)
        assert client.rounded_index(x + M / 10) == i + 1  # one grid step up: next grid point
        assert client.rounded_index(x - M / 10) == i - 1
        assert i in (3, 4)  # x = 3.73 grid steps rounds to 3 or 4, never further
        assert client.report(x + M / 10) == client.memo[i + 1]
    # Which of the two grid points depends on the client's α: across clients both occur.
    assert {c.rounded_index(37.3) for c in _mean_clients(100, s=10)} == {3, 4}


def test_alpha_point_rounding_is_unbiased_over_alpha():
    # α on an even grid of 10,000 points stands in for the uniform α: the mean rounded value
    # equals x up to one grid step / 10,000.
    alphas = (np.arange(10_000) + 0.5) / 10_000
    for x in (0.0, 3.3, 37.3, 99.99, M):
        rounded = alpha_round(x, M, 16, alphas) * (M / 16)
        assert rounded.mean() == pytest.approx(x, abs=M / 16 / 10_000)
        assert rounded.min() >= 0 and rounded.max() <= M


def test_output_perturbation_changes_some_reports_but_not_the_memo():
    client = _mean_clients(1, gamma=0.25)[0]
    memo = list(client.memo)
    reports = [client.report(50.0) for _ in range(400)]
    flipped = np.mean(np.array(reports) != client.memo[client.rounded_index(50.0)])
    assert 0.18 < flipped < 0.32  # γ = 0.25; 400 draws have SD 2.2%
    assert client.memo == memo


def test_mean_client_state_round_trips_through_json():
    for client in _mean_clients(20, s=7):
        restored = OneBitMeanClient.from_dict(json.loads(json.dumps(client.to_dict())))
        assert restored == client
        assert [restored.report(x) for x in np.linspace(0, M, 57)] == [
            client.report(x) for x in np.linspace(0, M, 57)
        ]


def test_dbitflip_memoization_and_round_trip():
    rng = SeededSource(23)
    k, d = 12, 3
    for _ in range(100):
        client = DBitFlipClient.create(2.0, k, d, rng=rng)
        assert len(set(client.buckets)) == d
        reports = {v: client.report(v) for v in range(k)}
        for _ in range(20):  # repeated collection: identical reports
            assert all(client.report(v) == reports[v] for v in range(k))
        outside = [v for v in range(k) if v not in client.buckets]
        assert len({reports[v] for v in outside}) == 1  # values outside S share one response
        for i, b in enumerate(client.buckets):
            assert reports[b].bits == tuple(client.memo[i])
            assert reports[b].buckets == tuple(client.buckets)
        restored = DBitFlipClient.from_dict(json.loads(json.dumps(client.to_dict())))
        assert restored == client
        assert all(restored.report(v) == reports[v] for v in range(k))


def test_restored_state_is_checked():
    state = _mean_clients(1)[0].to_dict()
    with pytest.raises(ValueError, match="state: expected mechanism '1bitmean'"):
        OneBitMeanClient.from_dict({**state, "mechanism": "dbitflip"})
    with pytest.raises(ValueError, match="memo: must be 11 bits"):
        OneBitMeanClient.from_dict({**state, "memo": state["memo"][:-1]})
    with pytest.raises(ValueError, match="alpha: must be a number in \\[0, 1\\)"):
        OneBitMeanClient.from_dict({**state, "alpha": 1.5})
    with pytest.raises(ValueError, match="state: missing field 'alpha'"):
        OneBitMeanClient.from_dict({k: v for k, v in state.items() if k != "alpha"})
    d_state = DBitFlipClient.create(1.0, 5, 2, rng=SeededSource(1)).to_dict()
    with pytest.raises(ValueError, match="buckets: must be 2 distinct buckets"):
        DBitFlipClient.from_dict({**d_state, "buckets": [1, 1]})
    with pytest.raises(ValueError, match="buckets: must be an integer in \\[0, k\\)"):
        DBitFlipClient.from_dict({**d_state, "buckets": [1, 5]})


def test_clients_draw_from_the_os_csprng_by_default(monkeypatch):
    calls = []
    real = csprng.os.urandom

    def counting(n):
        calls.append(n)
        return real(n)

    monkeypatch.setattr(csprng.os, "urandom", counting)
    OneBitMeanClient.create(1.0, M, s=4)
    DBitFlipClient.create(1.0, 8, 2)
    assert len(calls) >= 4  # α + memo bits, and sampled buckets + memo bits
    u = SecureSource().random(100_000)
    assert u.min() > 0 and u.max() < 1 and abs(u.mean() - 0.5) < 0.005


def test_sample_without_replacement_is_uniform_over_subsets():
    # k = 5, d = 2: 10 subsets, 20,000 expected each; SD of a count is about 134, so every
    # count within 700 (5 SD) of 20,000 — a skewed sampler (e.g. never pairing 0 and 4) fails.
    picks = sample_without_replacement(SeededSource(24), (200_000,), 5, 2)
    assert np.all(picks[:, 0] != picks[:, 1])
    counts = Counter(map(tuple, np.sort(picks, axis=1).tolist()))
    assert len(counts) == 10
    assert all(abs(c - 20_000) < 700 for c in counts.values())
    full = sample_without_replacement(SeededSource(25), (1000,), 6, 6)
    assert np.all(np.sort(full, axis=1) == np.arange(6))
