"""The flat run configuration the server rounds read, built from a spec and a variant.

Flat scalars only, because it travels as Flower run-config and message ConfigRecords. The DP
plan is computed once here (calibration takes seconds) and travels as its dict.
"""

from __future__ import annotations

from privml.federated.dp import DPPlan, default_delta, plan_dp
from privml.federated.spec import FederatedSpec

VARIANTS = ("private", "baseline")


def make_plan(spec: FederatedSpec, policy_delta: float = 1e-5) -> DPPlan | None:
    """The private variant's DP-FedAvg plan (None when DP is off)."""
    dp, tr = spec.dp, spec.training
    if not dp.enabled:
        return None
    return plan_dp(
        clients=spec.data.clients,
        sampling_rate=tr.sampling_rate,
        rounds=tr.rounds,
        target_epsilon=dp.target_epsilon,
        delta=dp.delta or default_delta(spec.data.clients, policy_delta),
        clipping=dp.clipping,
        clip_norm=dp.clip_norm,
        target_quantile=dp.target_quantile,
        clip_lr=dp.clip_lr,
        quantile_noise=dp.quantile_noise,
        noise=dp.noise,
        noise_shares=dp.min_noise_shares,
        accountant=dp.accountant,
    )


def build_config(spec: FederatedSpec, variant: str, node_timeout: float = 60.0) -> dict:
    """Flat settings of one variant's run (``private`` follows the spec, ``baseline`` has no DP)."""
    if variant not in VARIANTS:
        raise ValueError(f"variant: must be one of {VARIANTS}, got {variant!r}")
    d, m, t = spec.data, spec.model, spec.training
    return {
        "variant": variant,
        "seed": spec.seed,
        "clients": d.clients,
        "holdout-clients": d.holdout_clients,
        "partition": d.partition,
        "alpha": d.alpha,
        "max-rows": d.max_rows or 0,
        "eval-rows": d.eval_rows or 0,
        "dataset": d.dataset,
        "architecture": m.architecture,
        "hidden": ",".join(str(h) for h in m.hidden),
        "d-model": m.d_model,
        "layers": m.layers,
        "heads": m.heads,
        "context": m.context,
        "private-path": "",  # text: set by the runner once the corpus and tokenizer exist
        "tokenizer-path": "",
        "rounds": t.rounds,
        "sampling-rate": t.sampling_rate,
        "local-epochs": t.local_epochs,
        "batch-size": t.batch_size,
        "lr": t.lr,
        "optimizer": t.optimizer,
        "server-lr": t.server_lr,
        "server-momentum": t.server_momentum,
        "round-timeout": t.round_timeout,
        "min-clients": t.min_clients,
        "secagg": bool(spec.secure_aggregation and variant == "private"),
        "node-timeout": node_timeout,
    }
