"""Shamir sharing of 32-byte secrets: any t shares rebuild, t - 1 do not."""

import itertools
import os

import pytest

from privml.federated.secagg.shamir import PRIME, SHARE_BYTES, combine, split


def test_any_t_shares_rebuild_the_secret():
    secret, t, xs = os.urandom(32), 4, list(range(1, 8))
    shares = list(zip(xs, split(secret, t, xs), strict=True))
    for subset in itertools.combinations(shares, t):
        assert combine(list(subset), t) == secret
    assert combine(shares, t) == secret  # more than t: the first t are used


def test_extreme_secrets_and_large_x():
    for secret in (bytes(32), b"\xff" * 32):
        xs = [5, 99, 1000]
        shares = list(zip(xs, split(secret, 3, xs), strict=True))
        assert combine(shares[::-1], 3) == secret
    assert all(len(s) == SHARE_BYTES for s in split(os.urandom(32), 2, [1, 2]))


def test_t_minus_one_shares_do_not_rebuild():
    secret, t, xs = os.urandom(32), 5, list(range(1, 11))
    shares = list(zip(xs, split(secret, t, xs), strict=True))
    with pytest.raises(ValueError, match="need 5 to reconstruct, got 4"):
        combine(shares[: t - 1], t)
    # interpolating the t - 1 points as if they were enough gives garbage, not the secret
    try:
        wrong = combine(shares[: t - 1], t - 1)
    except ValueError as exc:  # almost surely: the value is not even a 32-byte number
        assert "inconsistent" in str(exc)
    else:
        assert wrong != secret


def test_fresh_randomness_per_split():
    secret, xs = os.urandom(32), [1, 2, 3]
    assert split(secret, 2, xs) != split(secret, 2, xs)
    # threshold 1 is a constant polynomial: every share is the secret itself
    assert {int.from_bytes(s, "big") for s in split(secret, 1, xs)} == {
        int.from_bytes(secret, "big") % PRIME
    }


@pytest.mark.parametrize(
    ("secret", "t", "xs", "message"),
    [
        (b"short", 2, [1, 2], "secret: expected 32 bytes"),
        (bytes(32), 3, [1, 2], "threshold: must be in 1..2"),
        (bytes(32), 0, [1, 2], "threshold"),
        (bytes(32), 2, [1, 1], "distinct"),
        (bytes(32), 2, [0, 1], "distinct and in 1..p-1"),
    ],
)
def test_split_rejects_bad_arguments(secret, t, xs, message):
    with pytest.raises(ValueError, match=message):
        split(secret, t, xs)


def test_combine_rejects_malformed_shares():
    shares = list(zip([1, 2], split(os.urandom(32), 2, [1, 2]), strict=True))
    with pytest.raises(ValueError, match="duplicate"):
        combine([shares[0], shares[0]], 2)
    with pytest.raises(ValueError, match="66 bytes"):
        combine([(1, b"x"), shares[1]], 2)
