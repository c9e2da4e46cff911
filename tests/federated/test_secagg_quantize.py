"""Fixed-point encoding, overflow headroom, round configuration and the neighbour graph."""

import numpy as np
import pytest

from privml.federated.secagg import SecAggConfig, default_parameters
from privml.federated.secagg.quantize import check_headroom, dequantize_sum, quantize, step


def test_round_trip_within_one_step():
    x = np.random.default_rng(1).uniform(-2, 2, 5000)
    q = quantize(x, clip=1.0, bits=16)
    assert q.dtype == np.uint64 and q.min() >= 0 and q.max() <= 2**16 - 1
    back = dequantize_sum(q, 1, 1.0, 16)
    clipped = np.clip(x, -1, 1)
    assert np.all(np.abs(back - clipped) <= step(1.0, 16) * (1 + 1e-9))
    assert back.min() == -1.0 and back.max() == 1.0  # the clip bounds are on the grid


def test_stochastic_rounding_is_unbiased():
    bits, clip = 3, 1.0  # coarse grid: 8 levels, so rounding error would show
    x = np.full(200_000, 0.1)
    mean = dequantize_sum(quantize(x, clip, bits), 1, clip, bits).mean()
    assert abs(mean - 0.1) < 5 * step(clip, bits) / np.sqrt(x.size)
    # a value between two grid points takes only those two
    assert set(np.unique(quantize(x, clip, bits)).tolist()) <= {3, 4}


def test_headroom_sum_of_extremes_does_not_wrap():
    n, modulus = 100, 32
    bits = SecAggConfig.create(list(range(n)), 10).quant_bits
    assert bits == 25
    check_headroom(n, bits, modulus)
    total = sum(quantize(np.ones(10), 1.0, bits) for _ in range(n))
    assert int(total.max()) == n * (2**bits - 1) < 2**modulus
    assert np.allclose(dequantize_sum(total, n, 1.0, bits), n * 1.0)
    with pytest.raises(ValueError, match="quant_bits: 100 clients x .* overflows"):
        check_headroom(n, bits + 1, modulus)


def test_quantize_rejects_bad_input():
    with pytest.raises(ValueError, match="NaN"):
        quantize(np.array([np.nan]), 1.0, 8)
    with pytest.raises(ValueError, match="clip_range"):
        quantize(np.zeros(2), 0.0, 8)


def test_default_parameters():
    assert default_parameters(10) == (9, 7)  # complete graph, t = ceil(0.7 n)
    assert default_parameters(100) == (99, 70)
    k, t = default_parameters(2000)  # sparse SecAgg+ graph, majority threshold
    assert k < 1999 and k % 2 == 0 and t == (k + 1) // 2 + 1
    with pytest.raises(ValueError, match="dropout_tolerance"):
        default_parameters(10, 0.5)


def test_sparse_graph_is_symmetric_and_regular():
    config = SecAggConfig.create(list(range(30)), 4, degree=6)
    assert not config.complete and config.threshold == 5  # ceil(0.7 * 7)
    for c in config.client_ids:
        hood = config.neighbours(c)
        assert len(hood) == 6 and c not in hood
        assert all(c in config.neighbours(v) for v in hood)
    other = SecAggConfig.create(list(range(30)), 4, degree=6)
    assert other.graph != config.graph  # fresh random ring order each round


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"threshold": 5}, "threshold: must exceed half"),
        ({"threshold": 11}, "threshold"),
        ({"degree": 3}, "degree"),
        ({"modulus_bits": 16}, "modulus_bits"),
        ({"quant_bits": 30}, "quant_bits"),
        ({"clip_range": -1.0}, "clip_range"),
    ],
)
def test_config_validation_names_the_field(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SecAggConfig.create(list(range(10)), 8, **kwargs)


def test_config_round_trips_through_a_dict():
    config = SecAggConfig.create([2**64 - 1, 5, 17], 8)
    again = SecAggConfig.from_dict(config.to_dict())
    assert again == config and again.client_ids == (5, 17, 2**64 - 1)
    bad = config.to_dict()
    del bad["graph_seed"]
    with pytest.raises(ValueError, match="graph_seed"):
        SecAggConfig.from_dict(bad)
