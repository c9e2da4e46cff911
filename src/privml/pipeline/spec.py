"""The run spec: one YAML file, validated with pydantic, that says what a run does.

Relative paths are resolved against the spec file's folder. ``${out}`` in a path stands for the
run's output folder, so a spec can point at data that ``privml demo-data`` wrote there.
Validation errors name the field and the problem, e.g. ``dp.target_epsilon: must be > 0, got -1``
or ``threat_model.access[1]: must be one of 'top1', 'scores', 'weights' or 'snapshots', got 'x'``.

The optional ``threat_model:`` section (:mod:`privml.governance.threat_model`) derives privacy
requirements; :func:`enforce_threat_model` refuses a run that breaks them before any work. Without
the section there is no privacy review (the report says so).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from privml.governance.requirements import Requirement, check_spec, derive_requirements
from privml.governance.threat_model import ThreatModel
from privml.specfile import SpecError, read_yaml, validate

if TYPE_CHECKING:
    from privml.pipeline.encrypted_spec import EncryptedSpec
    from privml.pipeline.tabular_spec import TabularSpec

VARIANTS = ("baseline", "private", "dp_only", "scrub_only")
ATTACKS = ("exposure", "extraction", "membership", "sampling_extraction", "model_update")


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataSpec(StrictModel):
    private: str = Field(description="JSONL file of {user_id, text} records")
    text_field: str = "text"
    user_field: str = "user_id"
    heldout_fraction: float = Field(0.1, gt=0, lt=1, description="share of users held out")
    utility_max_messages: int | None = Field(
        None, ge=100, description="held-out messages scored for utility (seeded sample; null: all)"
    )
    pii_labels: str | None = Field(None, description="optional planted-PII labels (evaluation)")
    canaries: str | None = Field(None, description="optional planted canaries (exposure, tab)")
    public: list[Literal["wikitext2", "tinyshakespeare"]] = ["wikitext2", "tinyshakespeare"]
    public_max_rows: int = Field(12000, ge=100, description="rows of public text for pre-training")


class TrainSpec(StrictModel):
    epochs: int = Field(ge=1)
    batch_size: int = Field(ge=1)
    lr: float = Field(gt=0)


class DPVocabSpec(StrictModel):
    """Extend the public tokenizer with words released by DP set union from the private text.

    Charged to every training user in the ledger, on top of the DP-SGD run (so with the default
    cap of ε = 4, the training ε must leave room for it).
    """

    enabled: bool = False
    epsilon: float = Field(0.5, gt=0)
    delta: float = Field(1e-7, gt=0, lt=1)
    max_per_user: int = Field(50, ge=1, description="Δ0: distinct words one user contributes")
    algorithm: Literal[
        "policy_gaussian", "policy_laplace", "weighted_gaussian", "weighted_laplace"
    ] = "policy_gaussian"
    selection: Literal["random", "frequent"] = Field(
        "random", description="which Δ0 words a user contributes: uniform (paper) or most used"
    )


class ModelSpec(StrictModel):
    architecture: Literal["tiny-gpt"] = "tiny-gpt"
    vocab_size: int = Field(4096, ge=64)
    dp_vocab: DPVocabSpec = DPVocabSpec()
    d_model: int = Field(128, ge=8)
    layers: int = Field(2, ge=1)
    heads: int = Field(4, ge=1)
    context: int = Field(48, ge=16, le=512)
    pretrain: TrainSpec = TrainSpec(epochs=1, batch_size=64, lr=3e-3)
    finetune: TrainSpec = TrainSpec(epochs=5, batch_size=32, lr=1e-3)

    @model_validator(mode="after")
    def _heads_divide(self) -> ModelSpec:
        if self.d_model % self.heads:
            raise ValueError(f"d_model ({self.d_model}) must be divisible by heads ({self.heads})")
        return self


class ScrubSpec(StrictModel):
    enabled: bool = True
    entities: list[str] | None = None
    score_threshold: float = Field(0.5, ge=0, le=1)
    ner: bool = Field(
        True, description="also run the learned NER recognizer (names, places, organisations)"
    )


class DPSpec(StrictModel):
    enabled: bool = True
    target_epsilon: float = Field(4.0, gt=0)
    delta: float | None = Field(
        None, gt=0, lt=1, description="default: 1/(10·N) for N privacy units (always < 1/N)"
    )
    unit: Literal["user", "example"] = "user"
    max_grad_norm: float = Field(1.0, gt=0)
    epochs: float = Field(5, gt=0)
    batch_size: int = Field(256, ge=1, description="expected units per Poisson batch")
    lr: float = Field(3e-3, gt=0)
    accountant: Literal["prv", "pld", "tight", "rdp"] = "prv"
    max_rows_per_unit: int = Field(64, ge=1, description="contribution bound for one unit")
    rows_per_step: int | None = Field(
        1, ge=1, description="rows drawn from each sampled unit per step (null: all its rows)"
    )
    clipping: Literal["bookkeeping", "opacus"] = Field(
        "bookkeeping", description="per-unit clipping: one-pass book-keeping, or Opacus's hooks"
    )


class AttackSpec(StrictModel):
    run: list[
        Literal["exposure", "extraction", "membership", "sampling_extraction", "model_update"]
    ] = ["exposure", "extraction", "membership"]
    exposure_samples: int = Field(2000, ge=100)
    membership_max: int = Field(2000, ge=50)
    extraction_samples: int = Field(
        200, ge=1, description="sampling_extraction: samples generated from the model"
    )
    extraction_tokens: int = Field(48, ge=4, description="sampling_extraction: tokens a sample")
    update_beam_width: int = Field(
        64, ge=1, description="model_update: beam width of the differential-rank search"
    )
    show_secrets: bool = Field(
        False, description="report extracted phrases in clear (default: keyed-hash tags)"
    )


class RunSpec(StrictModel):
    task: Literal["text-prediction"] = "text-prediction"
    name: str = "privml-run"
    seed: int = 0
    data: DataSpec
    model: ModelSpec = ModelSpec()
    scrub: ScrubSpec = ScrubSpec()
    dp: DPSpec = DPSpec()
    variants: list[Literal["dp_only", "scrub_only"]] = Field(
        default_factory=list, description="extra variants beyond baseline and private"
    )
    attacks: AttackSpec = AttackSpec()
    output: str | None = Field(None, description="output folder (``--out`` overrides)")
    ledger: str | None = Field(
        None,
        description="budget ledger URL or SQLite file (${out} allowed); "
        "default: $PRIVML_LEDGER, else the per-user default path",
    )
    threat_model: ThreatModel | None = Field(
        None, description="who attacks with what access; absent: no privacy review"
    )

    @model_validator(mode="after")
    def _canaries_for_canary_attacks(self) -> RunSpec:
        needs = {"exposure", "extraction"} & set(self.attacks.run)
        if needs and not self.data.canaries:
            raise ValueError(f"attacks {sorted(needs)} need data.canaries (a canaries.json)")
        if "dp_only" in self.variants and not self.dp.enabled:
            raise ValueError("variant dp_only needs dp.enabled: true")
        if "scrub_only" in self.variants and not self.scrub.enabled:
            raise ValueError("variant scrub_only needs scrub.enabled: true")
        return self

    def variant_settings(self) -> dict[str, dict[str, bool]]:
        """Which mitigations each variant of this run applies, in run order."""
        out = {
            "baseline": {"scrub": False, "dp": False},
            "private": {"scrub": self.scrub.enabled, "dp": self.dp.enabled},
        }
        for v in self.variants:
            out[v] = {"scrub": v == "scrub_only", "dp": v == "dp_only"}
        return out


def resolve_path(value: str, base: Path, out: Path) -> Path:
    """Resolve a spec path: ``${out}`` is the run folder; relative means relative to ``base``."""
    p = Path(value.replace("${out}", str(out.resolve())))
    return p if p.is_absolute() else (base / p)


def enforce_threat_model(spec: RunSpec, source: str = "spec") -> list[Requirement] | None:
    """The threat model's requirements, or None without one; SpecError lists every violation."""
    if spec.threat_model is None:
        return None
    requirements = derive_requirements(spec.threat_model)
    problems = check_spec(requirements, spec, available=ATTACKS)
    if problems:
        raise SpecError(f"{source}: the threat model refuses this run:\n  " + "\n  ".join(problems))
    return requirements


TASKS = ("text-prediction", "tabular", "encrypted")


def parse_spec(raw: object, source: str = "spec") -> RunSpec | TabularSpec | EncryptedSpec:
    """Validate a spec mapping; ``task:`` picks the kind (default: text-prediction)."""
    from privml.pipeline.encrypted_spec import EncryptedSpec
    from privml.pipeline.tabular_spec import TabularSpec

    if not isinstance(raw, dict):
        raise SpecError(f"{source}: the spec must be a YAML mapping, got {type(raw).__name__}")
    task = raw.get("task", "text-prediction")
    if task not in TASKS:
        raise SpecError(f"{source}: invalid spec:\n  task: must be one of {TASKS}, got {task!r}")
    kinds = {"tabular": TabularSpec, "encrypted": EncryptedSpec}
    return validate(kinds.get(task, RunSpec), raw, source)


def load_spec(path: str | Path) -> RunSpec | TabularSpec | EncryptedSpec:
    return parse_spec(read_yaml(path), str(path))
