"""Membership inference on the federated model: members are participating clients' data.

The target is the final global model. Members are the rows of every training client that
contributed an accepted update at least once; non-members are the rows of the held-out clients,
which no round ever sampled (the controls). Row level is the attack suite's loss attack
(``membership.loss``); client level scores each client by its rows' mean loss
(``membership.client_loss``), the unit DP-FedAvg protects.
"""

from __future__ import annotations

import numpy as np

from privml.attacks.membership import loss_scores
from privml.attacks.metrics import membership_metrics
from privml.federated.task_tabular import set_weights
from privml.federated.tasks import task_for


def _without_curve(m: dict) -> dict:
    return {k: v for k, v in m.items() if k != "roc"}


def membership(weights: list[np.ndarray], cfg: dict, participants: list[int], delta: float) -> dict:
    """Loss-attack metrics at example level (rows; users for text) and at client level."""
    task = task_for(cfg)
    ds = task.dataset(cfg)
    model = task.model(cfg, ds)
    set_weights(model, weights)
    per_client = task.scores(model, ds)  # training clients first, then the held-out ones
    holdout = list(range(int(cfg["clients"]), len(per_client)))
    if not participants:
        raise ValueError("membership: no client contributed, so there are no members")
    rows_in = np.concatenate([per_client[c] for c in participants])
    rows_out = np.concatenate([per_client[c] for c in holdout])
    out = {"loss": membership_metrics(loss_scores(rows_in), loss_scores(rows_out), delta=delta)}
    per_in = np.array([per_client[c].mean() for c in participants])
    per_out = np.array([per_client[c].mean() for c in holdout])
    out["client_loss"] = _without_curve(
        membership_metrics(loss_scores(per_in), loss_scores(per_out), delta=delta)
    )
    return out
