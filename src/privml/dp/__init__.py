"""Differentially private training: DP-SGD on Opacus with secure randomness."""

from privml.dp.engine import DPConfig, DPPlan, DPStats, plan_dp, train_dp
from privml.dp.secure_random import secure_normal, secure_poisson_batches

__all__ = [
    "DPConfig",
    "DPPlan",
    "DPStats",
    "plan_dp",
    "secure_normal",
    "secure_poisson_batches",
    "train_dp",
]
