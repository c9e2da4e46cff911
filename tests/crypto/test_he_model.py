"""HE-friendly models: export, file format, and encrypted == plaintext evaluation."""

import numpy as np
import pytest
import torch

from privml.classifiers.recipe import Recipe
from privml.crypto.he.context import (
    HEContextError,
    decrypt,
    encrypt_columns,
    encrypt_rows,
    load_public_context,
    load_vectors,
    make_context,
    public_context_bytes,
)
from privml.crypto.he.model import HEModel, HEModelError
from privml.crypto.he.params import HEParams, ModelTooDeep, choose_params, validate
from privml.crypto.he.service import create_app
from privml.crypto.he.train import torch_scores, train_model
from privml.data.adult import load_adult

ROWS = 300


@pytest.fixture(scope="module")
def adult():
    torch.set_num_threads(1)
    tr, te = load_adult("train"), load_adult("test")
    idx = np.random.default_rng(0).choice(len(tr), 4000, replace=False)
    return tr.X[idx], tr.y[idx], tr.feature_names, te.X[:ROWS], te.y[:ROWS]


@pytest.fixture(scope="module")
def models(adult):
    X, y, names, _, _ = adult
    out = {}
    for kind in ("logreg", "mlp"):
        recipe = Recipe(epochs=3, lr=1e-2 if kind == "logreg" else 3e-3, weight_decay=1e-4)
        out[kind] = train_model(kind, X, y, names, seed=0, hidden=8, recipe=recipe)
    return out


def _encrypted_scores(model: HEModel, X: np.ndarray) -> np.ndarray:
    """Client keygen + encrypt, server evaluates on a public copy, client decrypts."""
    params = choose_params(model.depth)
    ctx = make_context(params, relin=model.needs_relin_keys, galois=False, n_threads=2)
    server_ctx = load_public_context(
        public_context_bytes(ctx, relin=model.needs_relin_keys, galois=False), params
    )
    assert not server_ctx.is_private() and not server_ctx.has_secret_key()
    blobs = [v.serialize() for v in encrypt_columns(ctx, X)]
    out = model.eval_columns(load_vectors(server_ctx, blobs, params.slots))
    return decrypt(out, ctx)[: len(X)]


@pytest.mark.parametrize("kind", ["logreg", "mlp"])
def test_export_matches_torch(models, adult, kind):
    net, model = models[kind]
    X = adult[3]
    assert np.abs(model.plain_scores(X) - torch_scores(net, X)).max() < 1e-4
    assert model.depth == (1 if kind == "logreg" else 3)


@pytest.mark.parametrize("kind", ["logreg", "mlp"])
def test_encrypted_scores_match_plaintext(models, adult, kind):
    _, model = models[kind]
    X, y = adult[3], adult[4]
    plain = model.plain_scores(X)
    enc = _encrypted_scores(model, X)
    assert np.abs(enc - plain).max() < 1e-3
    assert ((enc > 0) == (plain > 0)).mean() >= 0.995
    assert ((plain > 0) == y).mean() > 0.7  # a model that learned something, not a constant


@pytest.mark.parametrize("kind", ["logreg", "mlp"])
def test_one_sample_per_ciphertext_matches_plaintext(models, adult, kind):
    _, model = models[kind]
    X = adult[3][:2]
    params = choose_params(model.depth)
    ctx = make_context(params, relin=model.needs_relin_keys, galois=True, n_threads=2)
    server_ctx = load_public_context(
        public_context_bytes(ctx, relin=model.needs_relin_keys, galois=True), params
    )
    assert server_ctx.has_galois_keys() and not server_ctx.is_private()
    blobs = [v.serialize() for v in encrypt_rows(ctx, X)]
    outs = model.eval_rows(load_vectors(server_ctx, blobs, params.slots))
    enc = np.array([decrypt(o, ctx)[0] for o in outs])
    assert np.abs(enc - model.plain_scores(X)).max() < 1e-3


def test_mlp_too_deep_for_chosen_chain(models, adult):
    _, mlp = models["mlp"]
    shallow = HEParams(8192, (60, 40, 60), 40)
    with pytest.raises(ModelTooDeep, match="needs multiplicative depth 3"):
        validate(shallow, mlp.depth)
    with pytest.raises(ModelTooDeep, match="needs multiplicative depth 3"):
        create_app(mlp, shallow)
    # Evaluated anyway, SEAL runs out of primes: an error, never a wrong answer.
    ctx = make_context(shallow, relin=True, galois=False, n_threads=2)
    with pytest.raises((ValueError, RuntimeError)):
        mlp.eval_columns(encrypt_columns(ctx, adult[3][:4]))


def test_server_context_refuses_secret_key_and_other_params(models):
    params = choose_params(1)
    ctx = make_context(params, relin=False, galois=False, n_threads=1)
    with pytest.raises(HEContextError, match="secret key"):
        load_public_context(ctx.serialize(save_secret_key=True), params)
    with pytest.raises(HEContextError, match="differ from"):
        load_public_context(ctx.serialize(save_secret_key=False), choose_params(3))
    with pytest.raises(HEContextError, match="cannot deserialize"):
        load_public_context(b"not a context", params)


def test_wrong_ciphertext_count_is_an_error(models, adult):
    _, lr = models["logreg"]
    params = choose_params(1)
    ctx = make_context(params, relin=False, galois=False, n_threads=1)
    cts = encrypt_columns(ctx, adult[3][:4, :5])
    with pytest.raises(HEModelError, match=r"ciphertexts: columns layout needs \d+"):
        lr.eval_columns(cts)


def test_save_load_roundtrip_and_bad_files(models, tmp_path):
    _, mlp = models["mlp"]
    path = mlp.save(tmp_path / "m.npz")
    back = HEModel.load(path)
    assert back.kind == "mlp" and back.feature_names == mlp.feature_names
    for k, v in mlp.arrays.items():
        np.testing.assert_array_equal(back.arrays[k], v)
    (tmp_path / "bad.npz").write_bytes(b"junk")
    with pytest.raises(HEModelError, match="not a privml HE model"):
        HEModel.load(tmp_path / "bad.npz")
    np.savez(tmp_path / "obj.npz", meta=np.array([{"a": 1}], dtype=object))
    with pytest.raises(HEModelError):  # pickled objects are never loaded
        HEModel.load(tmp_path / "obj.npz")
    arrays = {**mlp.arrays, "W1": mlp.arrays["W1"][:, :3]}
    with pytest.raises(HEModelError, match=r"arrays\.W1: expected shape"):
        HEModel("mlp", arrays, mlp.feature_names)
