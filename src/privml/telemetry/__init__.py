"""Local-DP telemetry (Ding, Kulkarni & Yekhanin, NeurIPS 2017): 1BitMean and dBitFlip.

Clients (``OneBitMeanClient``, ``DBitFlipClient``) randomize on the device with memoization,
so repeated collection of an unchanged value reveals nothing new; the estimators turn their
reports into unbiased means and histograms with exact variance formulas. Charts live in
``privml.telemetry.plot`` (imports matplotlib, so not imported here).
"""

from privml.telemetry.dbitflip import DBitFlipClient, DBitFlipReport, randomize_histogram
from privml.telemetry.estimators import (
    estimate_histogram,
    estimate_mean,
    histogram_variance,
    histogram_variance_bound,
    mean_error_bound,
    mean_variance,
    mean_variance_bound,
)
from privml.telemetry.one_bit_mean import OneBitMeanClient, alpha_round, randomize_mean
from privml.telemetry.randomness import RandomSource, SecureSource, SeededSource
from privml.telemetry.simulate import SimulationConfig, SimulationRow, simulate

__all__ = [
    "DBitFlipClient",
    "DBitFlipReport",
    "OneBitMeanClient",
    "RandomSource",
    "SecureSource",
    "SeededSource",
    "SimulationConfig",
    "SimulationRow",
    "alpha_round",
    "estimate_histogram",
    "estimate_mean",
    "histogram_variance",
    "histogram_variance_bound",
    "mean_error_bound",
    "mean_variance",
    "mean_variance_bound",
    "randomize_histogram",
    "randomize_mean",
    "simulate",
]
