"""Attacks that measure leakage: membership inference (loss, LiRA, RMIA) and its metrics,
canary exposure, extraction, the model-update attack, attribute and property inference, and
the one-run privacy audit. Each works on per-example scores, so on any model."""

from privml.attacks.exposure import ExposureResult, canary_exposure
from privml.attacks.extraction import ExtractionReport, TabResult, sample_extraction, tab_attack
from privml.attacks.hf import HFCausalLMScorer
from privml.attacks.lm import CausalLMScorer, SamplingLMScorer, TorchLMScorer
from privml.attacks.membership import (
    lira_scores,
    logit_confidence,
    loss_attack,
    loss_scores,
    rmia_scores,
)
from privml.attacks.metrics import (
    best_epsilon_lower_bound,
    epsilon_lower_bound,
    membership_metrics,
    metrics_from_labels,
    tpr_at_fpr,
)
from privml.attacks.model_update import (
    RankEstimate,
    differential_rank,
    differential_rank_search,
    differential_score,
    differential_scores,
    model_update_attack,
)
from privml.attacks.secrets import redact
from privml.attacks.targets import ExampleScores, score_examples

__all__ = [
    "CausalLMScorer",
    "ExampleScores",
    "ExposureResult",
    "ExtractionReport",
    "HFCausalLMScorer",
    "RankEstimate",
    "SamplingLMScorer",
    "TabResult",
    "TorchLMScorer",
    "best_epsilon_lower_bound",
    "canary_exposure",
    "differential_rank",
    "differential_rank_search",
    "differential_score",
    "differential_scores",
    "epsilon_lower_bound",
    "lira_scores",
    "logit_confidence",
    "loss_attack",
    "loss_scores",
    "membership_metrics",
    "metrics_from_labels",
    "model_update_attack",
    "redact",
    "rmia_scores",
    "sample_extraction",
    "score_examples",
    "tab_attack",
    "tpr_at_fpr",
]
