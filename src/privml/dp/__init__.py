"""Differentially private training: DP-SGD (book-keeping or Opacus clipping), secure noise."""

from privml.dp.engine import DPConfig, DPPlan, DPStats, plan_dp, train_dp
from privml.dp.fast_clip import BookkeepingClipper
from privml.dp.secure_random import secure_normal, secure_poisson_batches

__all__ = [
    "BookkeepingClipper",
    "DPConfig",
    "DPPlan",
    "DPStats",
    "plan_dp",
    "secure_normal",
    "secure_poisson_batches",
    "train_dp",
]
