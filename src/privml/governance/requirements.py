"""Requirements derived from a threat model, checked before a run and reviewed after it.

All rules live in one table, :data:`RULES`: when a row's condition holds for the threat model, it
demands mitigations, a maximum ε, a privacy unit, attacks to run, and limits on attack success.
When several rows demand the same thing, the strictest demand wins (the smallest ε or limit), and
the review cites every row that set it. The sources paraphrase the regulation, paper or policy a
row rests on. No law names an ε or an attack-success limit: those numbers are privml's policy, and
the source says so.

Adversary and access, briefly: ``honest-but-curious`` and ``external`` add nothing beyond their
stated access; ``top1`` and ``scores`` are treated alike, because the suite's loss-based attacks
already assume scores and so over- rather than under-estimate a top-1-only adversary.

- :func:`derive_requirements` applies the table and combines the rows;
- :func:`check_spec` lists what must refuse a run before any work starts;
- :func:`review` matches each requirement to evidence in ``results.json``; evidence for attack
  limits and ε comes from the ``private`` variant only, the model a run ships. Ablations
  (``dp_only``, ``scrub_only``) are not released, so they cannot fail the review; the report's
  verdict table still shows their attack results.

The spec is duck-typed (``spec.scrub.enabled``, ``spec.dp.*``, ``spec.attacks.run``,
``spec.threat_model``) because governance must not import the pipeline.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass
from typing import Any

from privml.governance.threat_model import ThreatModel

EVIDENCE_VARIANT = "private"
TEXT_PIPELINE_ATTACKS = (
    "membership",
    "exposure",
    "extraction",
    "sampling_extraction",
    "model_update",
)
PIPELINE_NAME = "the text-prediction pipeline"

MITIGATION_TEXT = {"scrub": "PII scrubbing", "dp": "differential privacy (DP-SGD)"}
ATTACK_TEXT = {
    "membership": "membership inference attack",
    "exposure": "canary exposure attack",
    "extraction": "secret extraction (tab attack)",
    "model_update": "model-update attack",
}
# limit key -> (path under attacks.<variant>, plain name, unit suffix)
LIMIT_TEXT = {
    "max_auc": ("membership.auc", "membership AUC", ""),
    "max_tpr_1pct": ("membership.tpr_at_1pct_fpr", "membership TPR at 1% FPR", ""),
    "max_exposure_16": ("exposure.mean_16", "mean exposure of the 16x canaries", " bits"),
    "max_extracted": ("extraction.secrets_extracted", "planted secrets extracted", ""),
}


@dataclass(frozen=True)
class Need:
    """What one rule demands; a field left empty demands nothing."""

    mitigate: tuple[str, ...] = ()
    max_epsilon: float | None = None
    unit: str | None = None
    attacks: tuple[str, ...] = ()
    max_auc: float | None = None
    max_tpr_1pct: float | None = None
    max_exposure_16: float | None = None
    max_extracted: int | None = None


@dataclass(frozen=True)
class Rule:
    """One row of the rules table: condition (words + test), demands, and why."""

    when: str
    applies: Callable[[ThreatModel], bool]
    need: Need
    source: str


_NO_LAW = "No law names an ε; "

RULES: tuple[Rule, ...] = (
    Rule(
        "always",
        lambda t: True,
        Need(attacks=("membership",), max_auc=0.6, max_tpr_1pct=0.05),
        "Membership inference is the basic test of what a model reveals about its training set "
        "(Shokri et al., IEEE S&P 2017); success must be read at low false-positive rates, not "
        "only as AUC (Carlini et al., IEEE S&P 2022). Loose privml limits for any data: AUC ≤ 0.6, "
        "TPR ≤ 5% at 1% FPR (chance is 1%).",
    ),
    Rule(
        "the data is about people",
        lambda t: t.about_people,
        Need(max_auc=0.55, max_tpr_1pct=0.03),
        "For data about people, membership itself can be sensitive (being in a health or "
        "customer data set). privml limits the attack to near chance: AUC ≤ 0.55, TPR ≤ 3% at "
        "1% FPR (3x chance, above the sampling noise of a few hundred members).",
    ),
    Rule(
        "the data includes PII",
        lambda t: "pii" in t.data,
        Need(attacks=("exposure", "extraction"), max_exposure_16=6.0, max_extracted=0),
        "Language models memorise rare sequences such as numbers and addresses: measure canary "
        "exposure (Carlini et al., 'The Secret Sharer', USENIX Security 2019) and try to extract "
        "secrets by prompting (Carlini et al., USENIX Security 2021). privml limits: no planted "
        "secret extracted; mean exposure of the 16x canaries ≤ 6 bits.",
    ),
    Rule(
        "GDPR or CCPA applies and the data includes PII",
        lambda t: "pii" in t.data and bool({"gdpr", "ccpa"} & set(t.regulations)),
        Need(mitigate=("scrub",)),
        "GDPR Art. 5(1)(c) (data minimisation) and Art. 25(1) (data protection by design, which "
        "names pseudonymisation): identifiers that next-word prediction does not need should not "
        "be trained on. CCPA §1798.140 treats information as deidentified only when it cannot "
        "reasonably be linked to a consumer; removing direct identifiers is the first step.",
    ),
    Rule(
        "HIPAA applies",
        lambda t: "hipaa" in t.regulations,
        Need(mitigate=("scrub",)),
        "HIPAA Privacy Rule, 45 CFR §164.514(b)(2) ('Safe Harbor'): health information counts as "
        "de-identified only once listed identifiers (names, contact details, dates, record and "
        "account numbers, …) are removed.",
    ),
    Rule(
        "the data includes financial data",
        lambda t: "financial" in t.data,
        Need(mitigate=("scrub",)),
        "Account and card numbers are direct identifiers with immediate misuse value (fraud); "
        "e.g. CCPA §1798.150 lets consumers sue when such data is exposed unredacted through a "
        "lack of reasonable security.",
    ),
    Rule(
        "the data includes health data",
        lambda t: "health" in t.data,
        Need(mitigate=("scrub", "dp"), max_epsilon=2.0, unit="user"),
        "Health data is a special category (GDPR Art. 9) whose disclosure does lasting harm. "
        + _NO_LAW
        + "privml halves its default per-person cap (ε = 4) to ε ≤ 2 per person.",
    ),
    Rule(
        "the model is released to the public and the data is about people",
        lambda t: t.release == "public" and t.about_people,
        Need(mitigate=("scrub", "dp"), max_epsilon=4.0, unit="user"),
        "Anyone may query or copy a public model, so only a guarantee that holds against every "
        "attack will do; GDPR Art. 25 and 32 ask for measures matching the risk and the state of "
        "the art. "
        + _NO_LAW
        + "ε ≤ 4 per person is privml's default budget cap. Scrubbing removes the identifiers "
        "DP cannot hide when a person repeats them often.",
    ),
    Rule(
        "the model is released to partners and the data is about people",
        lambda t: t.release == "partners" and t.about_people,
        Need(mitigate=("dp",), max_epsilon=8.0, unit="user"),
        "The model leaves the organisation; partners are bound by contract (e.g. GDPR Art. 28) "
        "but their access and security are outside the run owner's control. "
        + _NO_LAW
        + "ε ≤ 8 per person lies in the 'reasonable' tier (ε ≤ 10) suggested by Ponomareva et "
        "al., 'How to DP-fy ML', JAIR 2023.",
    ),
    Rule(
        "the adversary has the weights and the data is about people",
        lambda t: "weights" in t.access and t.about_people,
        Need(mitigate=("dp",), unit="user"),
        "With the weights an adversary can run any attack, including ones not in this suite; "
        "only DP bounds them all. The suite's loss-based membership test stays meaningful: for "
        "white-box access the optimal attack depends on the loss (Sablayrolles et al., ICML "
        "2019).",
    ),
    Rule(
        "the adversary sees several model snapshots",
        lambda t: "snapshots" in t.access,
        Need(attacks=("model_update",)),
        "Comparing two snapshots reveals what was added to the training data between them "
        "(Zanella-Béguelin et al., 'Analyzing Information Leakage of Updates to Natural Language "
        "Models', ACM CCS 2020); the model-update attack measures that leak.",
    ),
    Rule(
        "the adversary is a malicious participant and the data is about people",
        lambda t: t.adversary == "malicious-participant" and t.about_people,
        Need(mitigate=("dp",), unit="user"),
        "A participant who can add training data can poison it so that other people's records "
        "leak more (Tramèr et al., 'Truth Serum', ACM CCS 2022); measured attacks and scrubbing "
        "give no bound against that, DP's guarantee holds whatever the other records are.",
    ),
)


@dataclass(frozen=True)
class Requirement:
    """One combined requirement: what, the strictest value demanded, and the rules that set it."""

    key: str  # "mitigation:dp", "max_epsilon", "unit", "attack:membership", "limit:max_auc"
    text: str
    value: bool | float | str
    because: tuple[str, ...]  # the ``when`` of every rule that set this value
    sources: tuple[str, ...]

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ReviewRow:
    """One line of the privacy review: requirement, its source, the evidence, pass/fail."""

    key: str
    requirement: str
    because: str  # the conditions of the rules that set it
    source: str  # their justifications
    evidence: str
    passed: bool

    def as_dict(self) -> dict:
        return asdict(self)


def _g(x: float) -> str:
    return f"{x:g}" if isinstance(x, int | float) and math.isfinite(x) else str(x)


def _demands(need: Need) -> list[tuple[str, bool | float | str]]:
    out: list[tuple[str, bool | float | str]] = [(f"mitigation:{m}", True) for m in need.mitigate]
    if need.max_epsilon is not None:
        out.append(("max_epsilon", need.max_epsilon))
    if need.unit is not None:
        out.append(("unit", need.unit))
    out += [(f"attack:{a}", True) for a in need.attacks]
    out += [(f"limit:{k}", getattr(need, k)) for k in LIMIT_TEXT if getattr(need, k) is not None]
    return out


def _text(key: str, value: bool | float | str) -> str:
    kind, _, name = key.partition(":")
    if kind == "mitigation":
        return f"{MITIGATION_TEXT[name]} is on"
    if kind == "max_epsilon":
        return f"ε ≤ {_g(value)} (per privacy unit)"
    if kind == "unit":
        return f"privacy unit is {value}-level (protects a person's whole data)"
    if kind == "attack":
        return f"{ATTACK_TEXT[name]} is run"
    _, plain, suffix = LIMIT_TEXT[name]
    return f"{plain} {'=' if value == 0 else '≤'} {_g(value)}{suffix}"


def _order(key: str) -> tuple[int, int]:
    kind, _, name = key.partition(":")
    kinds = ("mitigation", "max_epsilon", "unit", "attack", "limit")
    names = (*MITIGATION_TEXT, *ATTACK_TEXT, *LIMIT_TEXT)
    return kinds.index(kind), names.index(name) if name in names else 0


def derive_requirements(
    threat_model: ThreatModel, rules: tuple[Rule, ...] = RULES
) -> list[Requirement]:
    """Apply every matching rule; combine by keeping the strictest value of each requirement."""
    found: dict[str, list[tuple[bool | float | str, Rule]]] = {}
    for rule in rules:
        if rule.applies(threat_model):
            for key, value in _demands(rule.need):
                found.setdefault(key, []).append((value, rule))
    out = []
    for key, demands in found.items():
        values = [v for v, _ in demands]
        # numbers are maxima (smaller is stricter); flags and the unit are all-or-nothing
        numeric = all(isinstance(v, float | int) and not isinstance(v, bool) for v in values)
        strictest = min(values) if numeric else values[0]
        binding = [r for v, r in demands if v == strictest]
        out.append(
            Requirement(
                key,
                _text(key, strictest),
                strictest,
                tuple(r.when for r in binding),
                tuple(r.source for r in binding),
            )
        )
    return sorted(out, key=lambda r: _order(r.key))


def _why(req: Requirement) -> str:
    return "; ".join(req.because)


def check_spec(
    requirements: list[Requirement],
    spec: Any,
    *,
    available: Collection[str] = TEXT_PIPELINE_ATTACKS,
    pipeline: str = PIPELINE_NAME,
) -> list[str]:
    """Problems that must refuse the run before any work, each naming the spec field."""
    problems = []
    reqs = {r.key: r for r in requirements}
    dp_on = bool(spec.dp.enabled)
    for name, enabled, field in (
        ("scrub", spec.scrub.enabled, "scrub.enabled"),
        ("dp", dp_on, "dp.enabled"),
    ):
        req = reqs.get(f"mitigation:{name}")
        if req and not enabled:
            problems.append(
                f"{field}: {MITIGATION_TEXT[name]} is mandatory under this threat model "
                f"({_why(req)}), but it is switched off"
            )
    eps = reqs.get("max_epsilon")
    if eps and dp_on and spec.dp.target_epsilon > eps.value:
        problems.append(
            f"dp.target_epsilon: {_g(spec.dp.target_epsilon)} is above the maximum ε = "
            f"{_g(eps.value)} for this threat model ({_why(eps)})"
        )
    unit = reqs.get("unit")
    if unit and dp_on and spec.dp.unit != unit.value:
        problems.append(
            f"dp.unit: must be {unit.value!r} under this threat model ({_why(unit)}), "
            f"got {spec.dp.unit!r}"
        )
    for req in requirements:
        kind, _, attack = req.key.partition(":")
        if kind != "attack":
            continue
        if attack not in available:
            problems.append(
                f"attacks.run: the {ATTACK_TEXT[attack]} is required by this threat model "
                f"({_why(req)}), but it is not available in {pipeline} yet"
            )
        elif attack not in spec.attacks.run:
            problems.append(
                f"attacks.run: the {ATTACK_TEXT[attack]} is mandatory under this threat "
                f"model ({_why(req)}), but it is not listed"
            )
    return problems


def _dig(obj: Any, path: str) -> Any:
    for key in path.split("."):
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def _num(value: Any) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if ok else None


def _evidence(req: Requirement, results: dict) -> tuple[str, bool]:
    kind, _, name = req.key.partition(":")
    v = EVIDENCE_VARIANT
    if kind == "mitigation":
        on = _dig(results, f"training.variants.{v}.{name}")
        if not isinstance(on, bool):
            return f"training.variants.{v}.{name}: not recorded", False
        return f"training.variants.{v}.{name} = {str(on).lower()}", on
    if kind in ("max_epsilon", "unit"):
        privacy = results.get("privacy") if isinstance(results.get("privacy"), dict) else {}
        eps, unit = _num(privacy.get("epsilon")), privacy.get("unit")
        if privacy.get("variant") not in (None, v) or eps is None:  # None: as the verdict reads it
            return f"no DP guarantee recorded for the {v} model", False
        if kind == "unit":
            return f"privacy.unit = {unit}", unit == req.value
        delta, acc = privacy.get("delta"), privacy.get("accountant")
        target = _num(privacy.get("target_epsilon"))
        text = f"privacy.epsilon = {eps:.4g}, unit {unit}"
        text += f", δ = {delta:.2g}" if _num(delta) is not None else ""
        text += f" ({acc} accountant)" if acc else ""
        text += f"; dp.target_epsilon = {target:g}" if target is not None else ""
        return text, eps <= float(req.value)
    if kind == "attack":
        section = _dig(results, f"attacks.{v}.{name}")
        if not isinstance(section, dict) or not section:
            return f"attacks.{v}.{name}: not run", False
        if name == "membership":
            m, n = _num(section.get("members")), _num(section.get("non_members"))
            if m is not None and n is not None:
                return f"attacks.{v}.membership: {m:.0f} members, {n:.0f} non-members", True
        if name == "extraction" and _num(section.get("secrets_total")) is not None:
            return f"attacks.{v}.extraction: {section['secrets_total']} secrets tried", True
        if name == "exposure" and isinstance(section.get("per_canary"), list):
            return f"attacks.{v}.exposure: {len(section['per_canary'])} canaries", True
        return f"attacks.{v}.{name}: run", True
    path, _, suffix = LIMIT_TEXT[name]
    value = _num(_dig(results, f"attacks.{v}.{path}"))
    if value is None:
        return f"attacks.{v}.{path}: not measured", False
    if name == "max_extracted":
        total = _num(_dig(results, f"attacks.{v}.extraction.secrets_total"))
        of = f" of {total:.0f}" if total is not None else ""
        return f"attacks.{v}.{path} = {value:.0f}{of}", value <= float(req.value)
    return f"attacks.{v}.{path} = {value:.4g}{suffix}", value <= float(req.value)


def review(requirements: list[Requirement], spec: Any, results: dict) -> list[ReviewRow]:
    """Each requirement against the evidence in ``results`` (the private variant's figures)."""
    del spec  # settings are read from results, which record what the run actually did
    rows = []
    for req in requirements:
        evidence, passed = _evidence(req, results if isinstance(results, dict) else {})
        source = " ".join(dict.fromkeys(req.sources))
        rows.append(ReviewRow(req.key, req.text, _why(req), source, evidence, bool(passed)))
    return rows


def review_section(spec: Any, requirements: list[Requirement] | None, results: dict) -> dict | None:
    """``results["review"]``: threat model, requirements, rows, passed; None without a model."""
    threat_model = getattr(spec, "threat_model", None)
    if threat_model is None or requirements is None:
        return None
    rows = review(requirements, spec, results)
    return {
        "threat_model": threat_model.model_dump(),
        "summary": threat_model.summary(),
        "evidence_variant": EVIDENCE_VARIANT,
        "requirements": [r.as_dict() for r in requirements],
        "rows": [r.as_dict() for r in rows],
        "passed": all(r.passed for r in rows),
    }
