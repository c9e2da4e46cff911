"""results.json of a federated run.

Interface keys: ``federated.rounds_completed``, ``federated.clients``,
``federated.secure_aggregation``, ``federated.dropped_clients``,
``federated.bytes_per_client_per_round``, ``privacy.epsilon``, ``privacy.unit``,
``utility.private.accuracy``, ``attacks.private.membership.loss.auc`` (and the same utility and
attack keys for ``baseline``). Per-round records are under ``federated.per_round.<variant>``.

Bytes per client and round: ``sent`` (model and round config, server -> client), ``received``
(the update, or under secure aggregation the masked vector), ``secure_aggregation`` (every
other SecAgg message both ways: keys, share ciphertexts, unmask request and shares);
``total`` is their sum. ``federated.aborted_rounds`` lists the rounds secure aggregation
aborted (too few clients left), with the engine's message; such a round changed nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from privml.federated.dp import DPPlan
from privml.federated.server import ServerResult
from privml.federated.spec import FederatedSpec


def _bytes(rounds: list[dict]) -> dict:
    def mean(key: str) -> float:
        vals = [r[key] for r in rounds if r.get("sampled")]
        return float(np.mean(vals)) if vals else 0.0

    sent, received = mean("bytes_sent_per_client"), mean("bytes_received_per_client")
    secagg = mean("secagg_bytes_per_client")
    return {
        "sent": sent,
        "received": received,
        "secure_aggregation": secagg,
        "total": sent + received + secagg,
    }


def _variant(res: ServerResult) -> dict:
    rounds = res.rounds
    return {
        "rounds_completed": sum(1 for r in rounds if not r["skipped"]),
        "initial_accuracy": res.initial.get("accuracy"),
        "participants": len(res.participants),
        "dropped_clients": sum(r["dropped"] for r in rounds),
        "aborted_rounds": [
            {"round": r["round"], "reason": r["aborted"]} for r in rounds if r.get("aborted")
        ],
        "rejected": res.rejected[:200],
        "bytes_per_client_per_round": _bytes(rounds),
        "seconds": float(sum(r["seconds"] for r in rounds)),
        "final_clip_norm": res.final_clip_norm,
        "per_round": rounds,
    }


def build_results(
    spec: FederatedSpec,
    plan: DPPlan | None,
    outcomes: dict[str, ServerResult],
    attacks: dict[str, dict],
    ledger: dict,
) -> dict:
    per = {v: _variant(r) for v, r in outcomes.items()}
    private = per["private"]
    fed = {
        "rounds_completed": private["rounds_completed"],
        "clients": spec.data.clients,
        "holdout_clients": spec.data.holdout_clients,
        "setting": spec.data.setting,
        "partition": spec.data.partition,
        "alpha": spec.data.alpha if spec.data.partition == "dirichlet" else None,
        "sampling_rate": spec.training.sampling_rate,
        "secure_aggregation": bool(spec.secure_aggregation),
        "dropped_clients": private["dropped_clients"],
        "aborted_rounds": private["aborted_rounds"],
        "bytes_per_client_per_round": private["bytes_per_client_per_round"]["total"],
        "bytes_per_client_per_round_detail": private["bytes_per_client_per_round"],
        "variants": per,
    }
    privacy: dict = {"unit": spec.unit, "dp": plan is not None}
    if plan is not None:
        privacy.update(
            {
                "epsilon": plan.epsilon,
                "target_epsilon": spec.dp.target_epsilon,
                "delta": plan.delta,
                "accountant": plan.accountant,
                "mechanism": "DP-FedAvg",
                "plan": plan.to_dict(),
            }
        )
    else:
        privacy["epsilon"] = None
    utility = {
        v: {
            "accuracy": r.rounds[-1]["accuracy"] if r.rounds else r.initial.get("accuracy"),
            "loss": r.rounds[-1]["loss"] if r.rounds else r.initial.get("loss"),
            "accuracy_per_round": [x["accuracy"] for x in r.rounds],
        }
        for v, r in outcomes.items()
    }
    if "baseline" in utility:
        gap = utility["baseline"]["accuracy"] - utility["private"]["accuracy"]
        utility["private"]["gap_to_baseline"] = gap
    return {
        "task": "federated",
        "run": {"name": spec.name, "finished": datetime.now(UTC).isoformat(timespec="seconds")},
        "federated": fed,
        "privacy": privacy,
        "utility": utility,
        "attacks": {v: {"membership": a} for v, a in attacks.items()},
        "budget": ledger,
    }
