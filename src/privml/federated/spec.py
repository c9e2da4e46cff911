"""The federated run spec (``task: federated``): who the clients are, how they train, DP-FedAvg.

Validated with pydantic through :mod:`privml.specfile`, so errors name the field, e.g.
``dp.target_epsilon: must be > 0, got -1``. Relative paths are relative to the spec file and
``${out}`` stands for the ``--out`` folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from privml.specfile import read_yaml, validate


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FedData(Strict):
    dataset: Literal["adult", "text"] = Field(
        "adult", description="adult: the tabular classifier; text: next-word model, one user each"
    )
    private: str | None = Field(
        None, description="text: JSONL of {user_id, text} (default: the demo corpus, generated)"
    )
    vocab_size: int = Field(2048, ge=64, description="text: public-only tokenizer vocabulary")
    setting: Literal["cross_silo", "cross_device"] = Field(
        "cross_silo", description="a client is one silo (unit 'client') or one user ('user')"
    )
    clients: int = Field(20, ge=2, description="training clients (the DP population)")
    holdout_clients: int = Field(
        5, ge=1, description="non-member clients: never trained on, the attack's controls"
    )
    partition: Literal["iid", "dirichlet"] = "dirichlet"
    alpha: float = Field(1.0, gt=0, description="Dirichlet concentration (smaller: more skew)")
    max_rows: int | None = Field(
        None, ge=100, description="use a seeded subset of Adult's train split of this size"
    )
    eval_rows: int | None = Field(None, ge=100, description="test rows evaluated each round")


class FedModel(Strict):
    architecture: Literal["logreg", "mlp", "tiny-gpt"] = Field(
        "logreg", description="logreg or mlp for adult; tiny-gpt for text"
    )
    hidden: list[int] = Field([32], description="hidden widths of the MLP")
    d_model: int = Field(64, ge=8, description="tiny-gpt width")
    layers: int = Field(2, ge=1, description="tiny-gpt layers")
    heads: int = Field(2, ge=1, description="tiny-gpt attention heads")
    context: int = Field(32, ge=8, le=512, description="tiny-gpt context (tokens)")


class FedTraining(Strict):
    rounds: int = Field(20, ge=1)
    sampling_rate: float = Field(
        0.5, gt=0, le=1, description="each client joins a round with this probability (Poisson)"
    )
    local_epochs: int = Field(1, ge=1)
    batch_size: int = Field(32, ge=1)
    lr: float = Field(0.1, gt=0, description="client learning rate")
    optimizer: Literal["sgd", "adam"] = "sgd"
    server_lr: float = Field(1.0, gt=0)
    server_momentum: float = Field(0.9, ge=0, lt=1)
    round_timeout: float = Field(300.0, gt=0, description="seconds to wait for replies")
    min_clients: int = Field(1, ge=1, description="fewer valid updates: the round is skipped")


class FedDP(Strict):
    enabled: bool = True
    target_epsilon: float = Field(4.0, gt=0)
    delta: float | None = Field(None, gt=0, lt=1, description="default min(1/(10N), 1e-5)")
    clipping: Literal["fixed", "adaptive"] = "fixed"
    clip_norm: float = Field(1.0, gt=0, description="C (adaptive: its initial value)")
    target_quantile: float = Field(0.5, gt=0, lt=1, description="adaptive: γ")
    clip_lr: float = Field(0.2, gt=0, description="adaptive: η_C (geometric update)")
    quantile_noise: float | None = Field(
        None, gt=0, description="adaptive: σ_b of the clipped-count noise (default qN/20)"
    )
    noise: Literal["central", "distributed"] = Field(
        "central", description="distributed: each client adds its share of the noise"
    )
    min_noise_shares: int | None = Field(
        None, ge=1, description="distributed: m, the shares that make the full noise"
    )
    accountant: Literal["prv", "pld", "tight", "rdp"] = "prv"


class FedAttacks(Strict):
    membership: list[Literal["loss"]] = ["loss"]


class FederatedSpec(Strict):
    task: Literal["federated"]
    name: str = "federated"
    seed: int = 0
    data: FedData = FedData()
    model: FedModel = FedModel()
    training: FedTraining = FedTraining()
    dp: FedDP = FedDP()
    secure_aggregation: bool = False
    baseline: bool = Field(True, description="also train the non-private federated model")
    attacks: FedAttacks = FedAttacks()
    ledger: str | None = Field(None, description="budget ledger URL or path")

    @model_validator(mode="after")
    def _consistent(self) -> FederatedSpec:
        text = self.data.dataset == "text"
        if text != (self.model.architecture == "tiny-gpt"):
            raise ValueError(
                "model.architecture: tiny-gpt goes with data.dataset: text, logreg/mlp with "
                f"adult; got {self.model.architecture!r} for {self.data.dataset!r}"
            )
        if text and self.data.setting != "cross_device":
            raise ValueError("data.setting: text clients are single users: use cross_device")
        if text and self.model.d_model % self.model.heads:
            raise ValueError(
                f"model.d_model ({self.model.d_model}) must be divisible by model.heads "
                f"({self.model.heads})"
            )
        if self.training.min_clients > self.data.clients:
            raise ValueError(
                f"training.min_clients: must be <= data.clients ({self.data.clients}), "
                f"got {self.training.min_clients}"
            )
        if self.secure_aggregation and self.dp.enabled and self.dp.noise == "central":
            if self.dp.clipping == "adaptive":
                raise ValueError(
                    "dp.clipping: adaptive clipping with secure aggregation needs "
                    "dp.noise: distributed (the server never sees single updates)"
                )
        return self

    @property
    def unit(self) -> str:
        return "user" if self.data.setting == "cross_device" else "client"


def _expand(value: str | None, base: Path, out: Path | None) -> str | None:
    if value is None or "://" in value:
        return value
    if "${out}" in value:
        if out is None:
            return value
        value = value.replace("${out}", str(out))
    p = Path(value)
    return str(p if p.is_absolute() else base / p)


def load_spec(path: str | Path, out: str | Path | None = None) -> FederatedSpec:
    """The validated spec at ``path`` (SpecError names the field); resolves ``ledger``."""
    path = Path(path)
    spec = validate(FederatedSpec, read_yaml(path), str(path))
    spec.ledger = _expand(spec.ledger, path.parent, Path(out) if out is not None else None)
    spec.data.private = _expand(
        spec.data.private, path.parent, Path(out) if out is not None else None
    )
    return spec


def spec_from_dict(raw: dict, source: str = "spec") -> FederatedSpec:
    return validate(FederatedSpec, raw, source)
