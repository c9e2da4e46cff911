"""Attacks that measure leakage: canary exposure, extraction, membership inference."""

from privml.attacks.exposure import ExposureResult, canary_exposure
from privml.attacks.extraction import TabResult, tab_attack
from privml.attacks.lm import CausalLMScorer, TorchLMScorer
from privml.attacks.membership import loss_attack, membership_metrics, tpr_at_fpr

__all__ = [
    "CausalLMScorer",
    "ExposureResult",
    "TabResult",
    "TorchLMScorer",
    "canary_exposure",
    "loss_attack",
    "membership_metrics",
    "tab_attack",
    "tpr_at_fpr",
]
