"""Measure one tabular target: membership (loss, LiRA, RMIA), attribute inference, the audit.

Measurement may train models of its own (reference models, the audit's canary run); it never
retrains the target. Reference models and the audit run reuse the target's recipe: the same
epochs, batch size and optimizer, and for a DP target the same noise multiplier, clipping norm
and sampling rate (LiRA's assumption that the attacker knows how the target was trained).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from privml.attacks.attribute import attribute_attack, predict_proba
from privml.attacks.audit import audit_classifier
from privml.attacks.membership import lira_scores, loss_scores, rmia_scores
from privml.attacks.metrics import membership_metrics
from privml.attacks.targets import score_examples
from privml.classifiers.ensemble import EnsembleDP, fit_ensemble, random_half_masks
from privml.classifiers.train import fit, predict_logits
from privml.data.adult import AdultData
from privml.dp.classifier import train_dp_classifier
from privml.pipeline.tabular_targets import Target, net_factory


@dataclass
class Scenario:
    """The data every target is measured on."""

    pool: AdultData  # membership pool (a seeded subset of Adult's train split)
    test: AdultData  # utility and RMIA's population rows; no model trains on them
    delta: float


def accuracy(model: torch.nn.Module, X: np.ndarray, y: np.ndarray) -> float:
    return float((predict_logits(model, X).argmax(-1).numpy() == y).mean())


def _references(target: Target, scenario: Scenario, k: int, seed: int, progress=None):
    pool = scenario.pool
    masks = random_half_masks(k, len(pool), seed=seed)
    dp = None
    if target.dp is not None:
        dp = EnsembleDP(
            noise_multiplier=target.dp["noise_multiplier"],
            max_grad_norm=target.dp["max_grad_norm"],
            sampling_rate=target.dp["sampling_rate"],
        )
    make = net_factory(target.architecture, target.in_features, target.classes, target.hidden)
    ens = fit_ensemble(
        make, pool.X, pool.y, masks, target.recipe, seed=seed, dp=dp, progress=progress
    )
    return ens, masks


def membership(
    target: Target, scenario: Scenario, attacks: list[str], k: int, seed: int, progress=None
) -> dict:
    """Every requested membership attack's metrics on the target's pool (members vs not)."""
    pool, pop = scenario.pool, scenario.test
    t = score_examples(target.model, pool.X, pool.y)
    scores = {"loss": loss_scores(t.loss)} if "loss" in attacks else {}
    if {"lira", "rmia"} & set(attacks):
        ens, masks = _references(target, scenario, k, seed, progress)
        r = score_examples(ens, pool.X, pool.y)
        if "lira" in attacks:
            scores["lira"] = lira_scores(t.logit_conf, r.logit_conf, masks, online=True)
            scores["lira_offline"] = lira_scores(t.logit_conf, r.logit_conf, masks, online=False)
        if "rmia" in attacks:
            tp, rp = score_examples(target.model, pop.X, pop.y), score_examples(ens, pop.X, pop.y)
            scores["rmia"] = rmia_scores(
                t.prob_true, r.prob_true, tp.prob_true, rp.prob_true, ref_in=masks
            )
    m = target.members
    return {a: membership_metrics(s[m], s[~m], delta=scenario.delta) for a, s in scores.items()}


def attribute(target: Target, scenario: Scenario, column: str) -> dict:
    """Attribute inference of ``column`` on members, with non-members for comparison."""
    pool = scenario.pool
    values = list(range(len(pool.sensitive_categories[column])))

    def part(rows: np.ndarray) -> tuple:
        raw = pool.raw[rows]
        return (
            (lambda v: pool.with_attribute(raw, column, v)),
            pool.y[rows],
            pool.sensitive[column][rows],
        )

    # The attacker knows the population's distribution of the attribute (from the test split),
    # so her guess is the Bayes choice argmax_v P(true label | row with v) * P(v); without the
    # prior the guess is worse than always answering the most common value.
    codes = scenario.test.sensitive[column]
    prior = np.bincount(codes[codes >= 0], minlength=len(values)) / max(1, (codes >= 0).sum())
    out = attribute_attack(
        lambda X: predict_proba(target.model, X),
        values,
        members=part(target.members),
        non_members=part(~target.members),
        prior=prior,
    )
    return {
        "attribute": column,
        "advantage": out["members"]["advantage"],
        "accuracy": out["members"]["accuracy"],
        "prior_accuracy": out["members"]["prior_accuracy"],
        "nonmember_advantage": out["non_members"]["advantage"],
        **out,
    }


def one_run_audit(target: Target, scenario: Scenario, canaries: int, seed: int) -> dict:
    """Steinke et al.'s one-run audit of the target's training recipe (a fresh run)."""
    pool = scenario.pool
    make = net_factory(target.architecture, target.in_features, target.classes, target.hidden)
    dp = target.dp

    def train_fn(X: np.ndarray, y: np.ndarray) -> torch.nn.Module:
        torch.manual_seed(seed)
        if dp is None:
            return fit(make(), X, y, target.recipe, seed=seed)
        model, _ = train_dp_classifier(
            make(),
            X,
            y,
            recipe=target.recipe,
            target_epsilon=dp["epsilon"],
            delta=dp["delta"],
            max_grad_norm=dp["max_grad_norm"],
            accountant=dp.get("accountant", "prv"),
        )
        return model

    m = target.members
    delta = dp["delta"] if dp else scenario.delta
    return audit_classifier(train_fn, pool.X[m], pool.y[m], canaries, delta, seed=seed)


PROPERTY_FRACTIONS = (0.1, 0.25, 0.4, 0.55, 0.7)  # victim shares of women to estimate
PROPERTY_VICTIM_ROWS = 2000
PROPERTY_POISON_ROWS = 100  # 5% of the victim's rows


def property_inference(spec, scenario: Scenario) -> dict:
    """Estimate the share of women (sex = Female) in a victim's training set, without and with
    poisoning, and with poisoning against a DP-SGD victim (the spec's middle ε).

    Victim and shadow sets are drawn from the pool at chosen shares; the attacker's poison and
    query rows come from Adult's test split (people she can sample, not the victim's). Models
    are logistic regressions (10 epochs), so the 17 trainings per condition stay cheap.
    Keys: ``mae_<condition>`` plus each condition's details.
    """
    from privml.attacks.property import property_inference as attack
    from privml.classifiers import Recipe

    pool, test = scenario.pool, scenario.test
    female = pool.sensitive_categories["sex"].index("Female")
    has, other = (
        np.flatnonzero(pool.sensitive["sex"] == female),
        np.flatnonzero(pool.sensitive["sex"] != female),
    )
    attacker_rows = test.X[test.sensitive["sex"] == female]
    # A victim set must fit in the pool at the largest share (small pools in tests).
    n = min(PROPERTY_VICTIM_ROWS, int(len(has) / max(PROPERTY_FRACTIONS)), len(other))

    def make_dataset(t: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        k = round(t * n)
        idx = np.concatenate([rng.choice(has, k, replace=False), rng.choice(other, n - k)])
        return pool.X[idx], pool.y[idx]

    def property_rows(k: int, rng: np.random.Generator) -> np.ndarray:
        return attacker_rows[rng.choice(len(attacker_rows), k)]

    # Logistic regression keeps the 51 trainings cheap; the poison moves its sex = Female
    # weight by an amount diluted by the genuine female rows, which is what the attack reads.
    make = net_factory("logreg", pool.X.shape[1], 2, [])
    recipe = Recipe(epochs=10, batch_size=128, lr=1e-2)
    eps = sorted(spec.dp.epsilons)[len(spec.dp.epsilons) // 2]

    def plain(X: np.ndarray, y: np.ndarray) -> torch.nn.Module:
        return fit(make(), X, y, recipe, seed=spec.seed)

    def private(X: np.ndarray, y: np.ndarray) -> torch.nn.Module:
        model, _ = train_dp_classifier(
            make(),
            X,
            y,
            recipe=Recipe(epochs=10, batch_size=256, lr=1e-2),
            target_epsilon=eps,
            delta=1.0 / (10 * len(y)),
            max_grad_norm=spec.dp.max_grad_norm,
            accountant=spec.dp.accountant,
        )
        return model

    conditions = {
        "no_poisoning": (plain, 0),
        "poisoning": (plain, PROPERTY_POISON_ROWS),
        f"poisoning_dp_eps_{eps:g}": (private, PROPERTY_POISON_ROWS),
    }
    out: dict = {
        "property": "sex = Female",
        "victim_rows": n,
        "poison_rows": PROPERTY_POISON_ROWS,
    }
    for name, (train_fn, poison) in conditions.items():
        r = attack(
            train_fn, make_dataset, property_rows, PROPERTY_FRACTIONS, poison, seed=spec.seed
        )
        out[f"mae_{name}"] = r["mae"]
        out[name] = r
    return out
