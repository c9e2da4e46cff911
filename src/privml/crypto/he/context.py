"""TenSEAL contexts and ciphertexts: key generation, packing, encryption, decryption, checks.

The client owns the only secret key (SEAL draws it from its own CSPRNG). What it sends is
``public_context_bytes``: the public key, relinearisation keys and (only when the layout
needs rotations) Galois keys, never the secret key. The server rebuilds a context with
``load_public_context``, which refuses a context holding a secret key, another scheme, or
parameters other than the ones the server chose for its model.
"""

from __future__ import annotations

import math
import os

import numpy as np
import tenseal as ts
import tenseal.sealapi  # noqa: F401  (registers seal::Modulus etc. with pybind11)

from privml.crypto.he.params import HEParameterError, HEParams, validate


class HEContextError(ValueError):
    """A context or ciphertext that cannot be used (malformed, wrong parameters, secret key)."""


def default_threads() -> int:
    """Threads TenSEAL may use: ``$PRIVML_HE_THREADS`` or the CPU count."""
    env = os.environ.get("PRIVML_HE_THREADS", "")
    return int(env) if env.isdigit() and int(env) > 0 else max(1, os.cpu_count() or 1)


def make_context(
    params: HEParams, *, relin: bool, galois: bool, n_threads: int | None = None
) -> ts.Context:
    """A private CKKS context (secret key inside) with the requested evaluation keys.

    ``params`` are validated first, so weak parameters fail with privml's error naming the field
    rather than SEAL's generic one.
    """
    validate(params)
    ctx = ts.context(
        ts.SCHEME_TYPE.CKKS,
        params.poly_modulus_degree,
        coeff_mod_bit_sizes=list(params.coeff_mod_bit_sizes),
        n_threads=n_threads or default_threads(),
    )
    ctx.global_scale = params.scale
    if relin:
        ctx.generate_relin_keys()
    if galois:
        ctx.generate_galois_keys()
    return ctx


def public_context_bytes(ctx: ts.Context, *, relin: bool, galois: bool) -> bytes:
    """The context without its secret key: public key, plus relinearization and Galois keys
    only if asked (TenSEAL makes relin keys for every CKKS context; the LR never needs them)."""
    return ctx.serialize(
        save_public_key=True,
        save_secret_key=False,
        save_galois_keys=galois and ctx.has_galois_keys(),
        save_relin_keys=relin and ctx.has_relin_keys(),
    )


def key_sizes(ctx: ts.Context, *, relin: bool, galois: bool) -> dict[str, int]:
    """Serialized bytes of each public key type sent (0 if not sent)."""

    def size(**keys: bool) -> int:
        flags = {"save_public_key": False, "save_galois_keys": False, "save_relin_keys": False}
        return len(ctx.serialize(save_secret_key=False, **{**flags, **keys}))

    base = size()
    return {
        "public_key": size(save_public_key=True) - base,
        "relin_keys": size(save_relin_keys=True) - base if relin and ctx.has_relin_keys() else 0,
        "galois_keys": (
            size(save_galois_keys=True) - base if galois and ctx.has_galois_keys() else 0
        ),
    }


def context_params(ctx: ts.Context) -> HEParams:
    """The CKKS parameters of ``ctx`` (raises for a non-CKKS context)."""
    parms = ctx.seal_context().data.key_context_data().parms()
    if not str(parms.scheme()).endswith("CKKS"):
        raise HEContextError(f"context: scheme must be CKKS, got {parms.scheme()}")
    sizes = tuple(m.bit_count() for m in parms.coeff_modulus())
    scale_bits = round(math.log2(ctx.global_scale)) if ctx.global_scale > 0 else 0
    return HEParams(parms.poly_modulus_degree(), sizes, scale_bits)


def load_public_context(
    data: bytes, expected: HEParams, n_threads: int | None = None
) -> ts.Context:
    """Deserialize a client's context for evaluation; refuse secret keys and other parameters."""
    if not data:
        raise HEContextError("context: empty body")
    try:
        ctx = ts.context_from(data, n_threads=n_threads or default_threads())
    except Exception as e:  # TenSEAL raises ValueError/RuntimeError for bad streams
        raise HEContextError(f"context: cannot deserialize a TenSEAL context: {e}") from None
    if ctx.is_private() or ctx.has_secret_key():
        raise HEContextError(
            "context: contains a secret key; the server refuses it (serialize with "
            "save_secret_key=False, only the client may decrypt)"
        )
    if not ctx.has_public_key():
        raise HEContextError("context: has no public key")
    got = context_params(ctx)
    try:
        validate(got)
    except HEParameterError as e:
        raise HEContextError(f"context: {e}") from None
    if got != expected:
        raise HEContextError(
            f"context: parameters {got.to_dict()} differ from the model's {expected.to_dict()}"
        )
    ctx.auto_relin = ctx.auto_rescale = ctx.auto_mod_switch = True
    return ctx


def batches(n: int, size: int) -> list[slice]:
    """Consecutive slices of at most ``size`` covering ``range(n)``."""
    return [slice(i, min(i + size, n)) for i in range(0, n, size)]


def encrypt_columns(ctx: ts.Context, X: np.ndarray) -> list[ts.CKKSVector]:
    """One ciphertext per feature column of ``X`` (``n <= slots`` rows; feature-major packing)."""
    X = np.asarray(X, dtype=np.float64)
    return [ts.ckks_vector(ctx, X[:, j].tolist()) for j in range(X.shape[1])]


def encrypt_rows(ctx: ts.Context, X: np.ndarray) -> list[ts.CKKSVector]:
    """One ciphertext per sample (the baseline layout)."""
    return [ts.ckks_vector(ctx, row.tolist()) for row in np.asarray(X, dtype=np.float64)]


def load_vectors(ctx: ts.Context, blobs: list[bytes], slots: int) -> list[ts.CKKSVector]:
    """Deserialize ciphertexts against ``ctx``; errors name the ciphertext's index."""
    out = []
    for i, blob in enumerate(blobs):
        try:
            vec = ts.ckks_vector_from(ctx, blob)
        except Exception as e:
            raise HEContextError(
                f"ciphertexts[{i}]: not a CKKS vector for this context: {e}"
            ) from None
        if not 1 <= vec.size() <= slots:
            raise HEContextError(f"ciphertexts[{i}]: must hold 1..{slots} values, got {vec.size()}")
        out.append(vec)
    return out


def decrypt(vec: ts.CKKSVector, ctx: ts.Context) -> np.ndarray:
    """Decrypt with the secret key of the client's private ``ctx``."""
    return np.asarray(vec.decrypt(ctx.secret_key()), dtype=np.float64)
