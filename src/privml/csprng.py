"""Cryptographically secure randomness in NumPy, from the operating system's CSPRNG.

Every DP noise draw and every cryptographic choice in privml comes from ``os.urandom`` (never
Python's ``random`` or NumPy's default generator, whose state is predictable from their seed).
Torch-free, so DP statistics and telemetry clients do not import the DP-SGD stack; the torch
wrappers for DP-SGD are in :mod:`privml.dp.secure_random`.
"""

from __future__ import annotations

import os

import numpy as np

_TWO_POW_53 = float(2**53)


def secure_uniform(n: int) -> np.ndarray:
    """``n`` uniforms in (0, 1) with 53 random bits each, from os.urandom."""
    raw = np.frombuffer(os.urandom(8 * int(n)), dtype=np.uint64) >> np.uint64(11)
    return (raw.astype(np.float64) + 0.5) / _TWO_POW_53


def _box_muller(n: int) -> np.ndarray:
    m = (n + 1) // 2
    u1, u2 = secure_uniform(m), secure_uniform(m)
    r = np.sqrt(-2.0 * np.log(u1))
    z = np.concatenate([r * np.cos(2 * np.pi * u2), r * np.sin(2 * np.pi * u2)])
    return z[:n]


def secure_standard_normal(n: int) -> np.ndarray:
    """``n`` draws of N(0, 1) (float64). Following Opacus's secure mode (Holohan & Braghin
    2021), each is the scaled sum of two draws, which hardens it against floating-point attacks
    on the noise's low bits."""
    return (_box_muller(n) + _box_muller(n)) / np.sqrt(2.0)


def secure_laplace(n: int, scale: float) -> np.ndarray:
    """``n`` draws of Laplace(0, ``scale``), by inverting the CDF at secure uniforms."""
    u = secure_uniform(n) - 0.5
    return -scale * np.sign(u) * np.log1p(-2.0 * np.abs(u))
