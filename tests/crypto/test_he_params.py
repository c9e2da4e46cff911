"""CKKS parameter choice from depth, and refusal of insecure or too-shallow parameters."""

import numpy as np
import pytest
import tenseal as ts
from typer.testing import CliRunner

from privml.cli_he import he_app
from privml.crypto.he.context import make_context
from privml.crypto.he.model import HEModel
from privml.crypto.he.params import (
    MAX_COEFF_BITS_128,
    HEParameterError,
    HEParams,
    InsecureParameters,
    ModelTooDeep,
    choose_params,
    parse_bit_sizes,
    validate,
)


def test_bound_table_is_the_he_standard_128_bit_table():
    assert MAX_COEFF_BITS_128[4096] == 109
    assert MAX_COEFF_BITS_128[8192] == 218
    assert MAX_COEFF_BITS_128[16384] == 438
    assert MAX_COEFF_BITS_128[32768] == 881


@pytest.mark.parametrize(
    ("depth", "n", "sizes"),
    [
        (1, 8192, (60, 40, 60)),
        (2, 8192, (60, 40, 40, 60)),
        (3, 16384, (60, 40, 40, 40, 60)),
        (7, 16384, (60, *[40] * 7, 60)),
        (8, 32768, (60, *[40] * 8, 60)),
        (19, 32768, (60, *[40] * 19, 60)),
    ],
)
def test_choose_params_smallest_secure_ring_for_depth(depth, n, sizes):
    p = choose_params(depth)
    assert (p.poly_modulus_degree, p.coeff_mod_bit_sizes, p.scale_bits) == (n, sizes, 40)
    assert p.depth == depth
    assert p.total_bits <= MAX_COEFF_BITS_128[n]


def test_chosen_params_are_accepted_by_seal_at_128_bits():
    ctx = make_context(choose_params(1), relin=False, galois=False, n_threads=1)
    assert ctx.is_private()


@pytest.mark.parametrize(
    ("n", "sizes"),
    [(4096, (60, 40, 60)), (8192, (60, 40, 40, 40, 60)), (2048, (30, 25, 30))],
)
def test_insecure_params_are_refused_naming_the_field(n, sizes):
    with pytest.raises(InsecureParameters) as err:
        validate(HEParams(n, sizes, 40 if sizes[1] == 40 else 25))
    msg = str(err.value)
    assert msg.startswith("coeff_mod_bit_sizes:")
    assert "128-bit" in msg and str(MAX_COEFF_BITS_128[n]) in msg and str(sum(sizes)) in msg


def test_insecure_params_refused_before_seal_and_seal_agrees():
    weak = HEParams(4096, (60, 40, 60), 40)
    with pytest.raises(InsecureParameters, match="poly_modulus_degree=4096"):
        make_context(weak, relin=False, galois=False, n_threads=1)
    with pytest.raises(ValueError):  # SEAL's own tc128 check refuses the same chain
        ts.context(ts.SCHEME_TYPE.CKKS, 4096, coeff_mod_bit_sizes=[60, 40, 60], n_threads=1)


def test_model_too_deep_for_chain():
    with pytest.raises(ModelTooDeep, match=r"needs multiplicative depth 3 .* allows 1"):
        validate(HEParams(8192, (60, 40, 60), 40), depth=3)
    assert validate(HEParams(8192, (60, 40, 60), 40), depth=1).depth == 1


def test_depth_beyond_any_secure_chain():
    with pytest.raises(ModelTooDeep, match="^depth: .*largest 128-bit-secure chain"):
        choose_params(20)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        (HEParams(3000, (60, 40, 60), 40), "poly_modulus_degree"),
        (HEParams(8192, (60, 70, 60), 40), r"coeff_mod_bit_sizes\[1\]"),
        (HEParams(8192, (60, 60), 40), "coeff_mod_bit_sizes"),
        (HEParams(8192, (40, 40, 60), 40), r"coeff_mod_bit_sizes\[0\]"),
        (HEParams(8192, (60, 40, 50), 40), r"coeff_mod_bit_sizes\[-1\]"),
        (HEParams(8192, (60, 30, 60), 40), r"coeff_mod_bit_sizes\[1:-1\]"),
        (HEParams(8192, (60, 40, 60), 10), "scale_bits"),
    ],
)
def test_malformed_params_name_the_field(params, field):
    with pytest.raises(HEParameterError, match=f"^{field}:"):
        validate(params)


def test_from_dict_and_parse():
    p = choose_params(3)
    assert HEParams.from_dict(p.to_dict()) == p
    with pytest.raises(InsecureParameters):
        HEParams.from_dict({**p.to_dict(), "poly_modulus_degree": 4096})
    with pytest.raises(HEParameterError, match="params.scale_bits: missing"):
        HEParams.from_dict({"poly_modulus_degree": 8192, "coeff_mod_bit_sizes": [60, 40, 60]})
    assert parse_bit_sizes("60, 40,60") == (60, 40, 60)
    with pytest.raises(HEParameterError, match="^coeff_mod_bit_sizes:"):
        parse_bit_sizes("60,x")


def test_serve_refuses_insecure_and_too_shallow_params(tmp_path):
    rng = np.random.default_rng(0)
    names = tuple(f"f{i}" for i in range(5))
    arrays = {
        "W1": rng.normal(size=(3, 5)),
        "b1": rng.normal(size=3),
        "act": np.array([0.1, 0.5, 0.2]),
        "w2": rng.normal(size=3),
        "b2": np.array(0.1),
    }
    path = HEModel("mlp", arrays, names).save(tmp_path / "m.npz")
    runner = CliRunner()
    weak = ["--poly-modulus-degree", "4096", "--coeff-mod-bit-sizes", "60,40,40,40,60"]
    res = runner.invoke(he_app, ["serve", str(path), *weak])
    assert res.exit_code == 2
    assert "coeff_mod_bit_sizes: total 240 bits exceeds 109" in res.output
    shallow = ["--poly-modulus-degree", "8192", "--coeff-mod-bit-sizes", "60,40,60"]
    res = runner.invoke(he_app, ["serve", str(path), *shallow])
    assert res.exit_code == 2
    assert "needs multiplicative depth 3" in res.output
