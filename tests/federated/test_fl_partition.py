"""Client partitions: IID sizes, Dirichlet label skew grows as α falls, seeded."""

import numpy as np
import pytest

from privml.federated.partition import dirichlet_partition, iid_partition, label_skew, partition


@pytest.fixture(scope="module")
def labels():
    return (np.random.default_rng(0).random(5000) < 0.25).astype(np.int64)


def test_iid_sizes_cover_every_row_once():
    parts = iid_partition(1003, 10, seed=1)
    sizes = [len(p) for p in parts]
    assert max(sizes) - min(sizes) <= 1
    assert sorted(np.concatenate(parts).tolist()) == list(range(1003))


def test_dirichlet_covers_every_row_once(labels):
    parts = dirichlet_partition(labels, 20, alpha=0.5, seed=3)
    assert len(parts) == 20
    assert sorted(np.concatenate(parts).tolist()) == list(range(len(labels)))
    assert min(len(p) for p in parts) >= 2


def test_skew_grows_as_alpha_falls(labels):
    skew = {
        a: label_skew(labels, dirichlet_partition(labels, 20, a, seed=0)) for a in (100.0, 1.0, 0.1)
    }
    iid = label_skew(labels, iid_partition(len(labels), 20, seed=0))
    assert iid < 0.05
    assert skew[100.0] < skew[1.0] < skew[0.1]


def test_seeded(labels):
    a = partition(labels, 10, "dirichlet", 0.5, seed=7)
    b = partition(labels, 10, "dirichlet", 0.5, seed=7)
    c = partition(labels, 10, "dirichlet", 0.5, seed=8)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c, strict=True))


def test_errors_name_the_field(labels):
    with pytest.raises(ValueError, match="alpha"):
        dirichlet_partition(labels, 10, 0.0, seed=0)
    with pytest.raises(ValueError, match="partition"):
        partition(labels, 10, "zipf", 1.0, seed=0)
    with pytest.raises(ValueError, match="clients"):
        iid_partition(5, 10, seed=0)
