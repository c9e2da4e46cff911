"""The tabular run spec (``task: tabular``): a classifier on UCI Adult, non-private and DP-SGD
at several ε, measured by the attack suite.

``privml run`` trains the targets and measures them; ``privml audit`` measures targets that are
already trained (``models:``, as written by a run to ``DIR/audit.yaml``). Validation errors name
the field, as in the text spec (shared formatter in :mod:`privml.pipeline.spec`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from privml.pipeline.spec import StrictModel

MEMBERSHIP_ATTACKS = ("loss", "lira", "rmia")


class TabularData(StrictModel):
    dataset: Literal["adult"] = "adult"
    pool_size: int = Field(
        20000, ge=200, description="rows of Adult's train split forming the membership pool"
    )
    sensitive: list[Literal["sex", "race"]] = ["sex"]


class TabularTrain(StrictModel):
    epochs: int = Field(ge=1)
    batch_size: int = Field(ge=1)
    lr: float = Field(gt=0)
    optimizer: Literal["adam", "sgd"] = "adam"
    weight_decay: float = Field(0.0, ge=0)


class TabularModel(StrictModel):
    architecture: Literal["mlp", "logreg"] = "mlp"
    hidden: list[int] = Field([64], description="hidden widths of the MLP")
    train: TabularTrain = TabularTrain(epochs=60, batch_size=256, lr=1e-3)

    @field_validator("hidden")
    @classmethod
    def _positive(cls, v: list[int]) -> list[int]:
        if any(h < 1 for h in v):
            raise ValueError(f"every hidden width must be >= 1, got {v}")
        return v


class TabularDP(StrictModel):
    epsilons: list[float] = Field([1.0, 4.0, 8.0], description="one DP-SGD target per ε")
    delta: float | None = Field(None, gt=0, lt=1, description="default: 1/(10·N), N = members")
    max_grad_norm: float = Field(1.0, gt=0)
    accountant: Literal["prv", "pld", "tight", "rdp"] = "prv"
    train: TabularTrain = TabularTrain(epochs=20, batch_size=512, lr=2e-3)

    @field_validator("epsilons")
    @classmethod
    def _valid_epsilons(cls, v: list[float]) -> list[float]:
        if any(not e > 0 for e in v):
            raise ValueError(f"every epsilon must be > 0, got {v}")
        if len(set(v)) != len(v):
            raise ValueError(f"epsilons must be distinct, got {v}")
        return v


class TabularAttacks(StrictModel):
    membership: list[Literal["loss", "lira", "rmia"]] = list(MEMBERSHIP_ATTACKS)
    reference_models: int = Field(64, ge=2, description="LiRA/RMIA reference models per target")
    dp_reference_models: int = Field(
        16, ge=2, description="reference models for each DP target (DP training costs more)"
    )
    attribute: bool = True
    audit_canaries: int = Field(1000, ge=0, description="one-run audit canaries (0: no audit)")
    property_inference: bool = True

    @model_validator(mode="after")
    def _even_references(self) -> TabularAttacks:
        for name in ("reference_models", "dp_reference_models"):
            if getattr(self, name) % 2:
                raise ValueError(f"{name} must be even (each example is in half of them)")
        return self


class TrainedModel(StrictModel):
    """A target already trained by a run (``privml audit``)."""

    path: str = Field(description="checkpoint written by privml run (DIR/models/NAME.pt)")


class TabularSpec(StrictModel):
    task: Literal["tabular"]
    name: str = "privml-tabular"
    seed: int = 0
    data: TabularData = TabularData()
    model: TabularModel = TabularModel()
    dp: TabularDP = TabularDP()
    attacks: TabularAttacks = TabularAttacks()
    models: dict[str, TrainedModel] | None = Field(
        None, description="already-trained targets for `privml audit` (name -> checkpoint)"
    )
    output: str | None = None

    @field_validator("models")
    @classmethod
    def _names(cls, v: dict[str, TrainedModel] | None) -> dict[str, TrainedModel] | None:
        if v is not None and not v:
            raise ValueError("must name at least one model")
        return v
