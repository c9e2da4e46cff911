"""Vetted primitives from ``cryptography`` for secure aggregation, in thin wrappers.

* X25519 key agreement, HKDF-SHA256 key derivation (bound to the round and a purpose label);
* AES-256-GCM for the client-to-client share channel, routed through (and opaque to) the server;
* the mask PRG: AES-256-CTR keyed with the *full* 32-byte seed, expanded into ``uint32`` words.
  Flower's own SecAgg+ expands masks with a Mersenne Twister seeded from 32 bits of the seed; a
  block cipher in counter mode keyed with all 256 bits is a cryptographic generator, and with
  AES-NI it expands 100k words in about 0.2 ms.

All randomness comes from the OS CSPRNG (``os.urandom`` via ``cryptography``'s key generation).
"""

from __future__ import annotations

import os
from functools import lru_cache

import numpy as np
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
CHANNEL_LABEL = b"privml-secagg/channel"
MASK_LABEL = b"privml-secagg/pairwise-mask"
_RAW = serialization.Encoding.Raw
_RAW_PRIV = serialization.PrivateFormat.Raw
_RAW_PUB = serialization.PublicFormat.Raw
_NO_ENC = serialization.NoEncryption()


def new_keypair() -> tuple[bytes, bytes]:
    """A fresh X25519 key pair as raw ``(private, public)`` 32-byte strings."""
    sk = X25519PrivateKey.generate()
    return sk.private_bytes(_RAW, _RAW_PRIV, _NO_ENC), sk.public_key().public_bytes(_RAW, _RAW_PUB)


def public_key(private: bytes) -> bytes:
    """The raw public key of a raw X25519 private key."""
    return X25519PrivateKey.from_private_bytes(private).public_key().public_bytes(_RAW, _RAW_PUB)


def private_key(private: bytes) -> X25519PrivateKey:
    """A raw X25519 private key as a key object (parse once, agree with many peers)."""
    return X25519PrivateKey.from_private_bytes(private)


def agree(
    private: bytes | X25519PrivateKey, peer_public: bytes, label: bytes, round_id: bytes
) -> bytes:
    """A 32-byte key shared with the peer: HKDF-SHA256 of the X25519 secret, bound to the round
    and to ``label`` (so the channel key and the mask seed of one pair are independent)."""
    if isinstance(private, bytes):
        private = private_key(private)
    shared = private.exchange(X25519PublicKey.from_public_bytes(peer_public))
    hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=round_id, info=label)
    return hkdf.derive(shared)


def encrypt(key: bytes, plaintext: bytes, associated: bytes) -> bytes:
    """AES-256-GCM with a random 96-bit nonce: ``nonce || ciphertext || tag``."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, associated)


def decrypt(key: bytes, blob: bytes, associated: bytes) -> bytes:
    """Open :func:`encrypt`'s output; raises ``cryptography.exceptions.InvalidTag`` if the key,
    the associated data or a single bit of the blob is wrong."""
    return AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], associated)


@lru_cache(maxsize=4)
def _zeros(size: int) -> bytes:
    """A cached all-zero plaintext (allocating it anew costs more than the encryption)."""
    return bytes(size)


def expand_mask(seed: bytes, length: int, dtype: type = np.uint32) -> np.ndarray:
    """``length`` pseudo-random words of ``dtype`` (``uint32`` or ``uint64``): the AES-256-CTR
    keystream under the 32-byte seed (read-only array).

    Every seed is used for one mask only (fresh per round), so a zero counter block is safe.
    """
    if len(seed) != KEY_BYTES:
        raise ValueError(f"seed: expected {KEY_BYTES} bytes, got {len(seed)}")
    encryptor = Cipher(algorithms.AES(seed), modes.CTR(bytes(16))).encryptor()
    stream = encryptor.update(_zeros(np.dtype(dtype).itemsize * length)) + encryptor.finalize()
    return np.frombuffer(stream, dtype=np.dtype(dtype).newbyteorder("<")).astype(dtype, copy=False)


def random_words(length: int) -> np.ndarray:
    """``length`` uniform ``uint32`` words from the CSPRNG (AES-CTR under a fresh OS key, which is
    several times faster than ``os.urandom`` for a 100k-word vector)."""
    return expand_mask(os.urandom(KEY_BYTES), length)
