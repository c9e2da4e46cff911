"""Homomorphic-encryption (CKKS, TenSEAL) inference for privml's tabular models.

``params`` picks 128-bit-secure CKKS parameters from a model's multiplicative depth, ``model``
holds the HE-friendly weights and evaluates them on ciphertexts, ``context`` does keys and
packing, ``service`` is the HTTP server and ``client`` the HTTP client that alone decrypts.
"""

from privml.crypto.he.model import HEModel, HEModelError
from privml.crypto.he.params import (
    HEParameterError,
    HEParams,
    InsecureParameters,
    ModelTooDeep,
    choose_params,
    validate,
)

__all__ = [
    "HEModel",
    "HEModelError",
    "HEParameterError",
    "HEParams",
    "InsecureParameters",
    "ModelTooDeep",
    "choose_params",
    "validate",
]
