"""MPC specs (YAML, validated with pydantic) and each party's data: sources, schema, hashes.

A training spec says which party holds which rows, the feature schema, the recipe, the time
to wait for the other parties and where results go. Every party reads the same spec (in a
real deployment: its own copy, which the parties agree on out of band) but loads only its own
slice. Relative paths are resolved against the spec file's folder.

Data sources are strings: ``adult:train[0:1000]`` (rows 0..999 of the packaged Adult training
split; ``adult:test`` without a range is the whole split) or a path to a file in Adult's CSV
format (header line, 14 columns then the label).

The feature schema is the list of Adult columns used. Encoding uses privml's reference Adult
encoder (categories and standardisation constants from the packaged training split), which
plays the part of preprocessing the parties agreed on in advance: it is public, so
standardising with it reveals nothing about any party's rows. A party's *schema hash* covers
the encoded feature names in order and the encoder's constants, so parties whose copies
disagree (different columns, a different encoder) are caught before any data is shared.

A training spec::

    name: adult-3way
    parties: ["adult:train[0:2000]", "adult:train[2000:4000]", "hospital_c.csv"]
    schema: {columns: [age, education-num, capital-gain, hours-per-week, marital-status, sex]}
    recipe: {epochs: 5, learning_rate: 1.0, batch_size: 256, bits: 32, frac_bits: 16, seed: 0}
    test: adult:test          # optional: each receiver scores the revealed model on it
    timeout_s: 60             # wait this long for the other parties to connect
    reveal_to: [0, 1, 2]      # optional: who receives the model (default: every party)
    out: runs/mpc             # optional: default for --out

A prediction spec has ``schema``, ``model`` (the model owner's ``model.json``), ``features``
(the feature owner's rows), ``model_owner`` (default 0), ``feature_owner`` (default 1),
``bits``, ``frac_bits``, ``timeout_s`` and ``out``.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from privml.specfile import SpecError, read_yaml, validate

_SOURCE = re.compile(r"^adult:(train|test)(?:\[(\d*):(\d*)\])?$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _check_source(value: str) -> str:
    if value.startswith("adult:") and not _SOURCE.match(value):
        raise ValueError(
            f"must be adult:train or adult:test with an optional [start:stop], got {value!r}"
        )
    if not value.strip():
        raise ValueError("must be a data source, got an empty string")
    return value


Source = Annotated[str, AfterValidator(_check_source)]


class Schema(_Strict):
    columns: list[str] = Field(min_length=1, description="Adult columns used as features")

    @field_validator("columns")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        from privml.data.adult import COLUMNS

        for c in value:
            if c not in COLUMNS:
                raise ValueError(f"unknown column {c!r}; must be among {', '.join(COLUMNS)}")
        if len(set(value)) != len(value):
            raise ValueError("columns must not repeat")
        return value


class _FixedPoint(_Strict):
    """Secure fixed-point numbers ``SecFxp(bits, frac_bits)``: values in +-2^(bits-frac_bits-1).

    The defaults (32, 16) give a resolution of 1.5e-5 and a range of +-32768; the largest
    values in training are a batch's gradient sums (at most batch_size x the largest
    standardised feature, ~13 for Adult's capital-gain), far inside it. Overflow in MPC is
    silent, so keep batch_size x max |feature| well below the range when changing these.
    """

    bits: int = Field(32, ge=16, le=96, description="fixed-point bit length l")
    frac_bits: int = Field(16, ge=4, description="fixed-point fractional bits f")

    @model_validator(mode="after")
    def _frac(self) -> _FixedPoint:
        if not self.frac_bits < self.bits:
            raise ValueError(f"frac_bits ({self.frac_bits}) must be < bits ({self.bits})")
        return self


class Recipe(_FixedPoint):
    """Mini-batch gradient descent on the logistic loss with the hard sigmoid (see recipe.py)."""

    epochs: int = Field(ge=1)
    learning_rate: float = Field(gt=0)
    batch_size: int = Field(ge=1)
    seed: int = Field(0, ge=0, description="seed of the public batch order")


class TrainSpec(_Strict):
    name: str = "mpc-train"
    parties: list[Source] = Field(min_length=3, description="party i's data source")
    schema_: Schema = Field(alias="schema")
    recipe: Recipe
    test: Source | None = Field(None, description="data to evaluate the revealed model on")
    timeout_s: float = Field(60, gt=0, description="how long to wait for the other parties")
    reveal_to: list[int] | None = Field(
        None, min_length=1, description="parties that receive the model (default: all)"
    )
    out: str | None = Field(None, description="output folder (default: --out)")

    @model_validator(mode="after")
    def _receivers(self) -> TrainSpec:
        for i in self.reveal_to or []:
            if not 0 <= i < len(self.parties):
                raise ValueError(f"reveal_to: {i} is not a party (0..{len(self.parties) - 1})")
        return self


class PredictSpec(_FixedPoint):
    name: str = "mpc-predict"
    schema_: Schema = Field(alias="schema")
    model_owner: int = Field(0, ge=0)
    feature_owner: int = Field(1, ge=0)
    model: str = Field(description="model.json from `mpc train` (read by the model owner only)")
    features: Source = Field(description="rows to score (read by the feature owner only)")
    timeout_s: float = Field(60, gt=0, description="how long to wait for the other parties")
    out: str | None = Field(None, description="output folder (default: --out)")

    @model_validator(mode="after")
    def _roles(self) -> PredictSpec:
        if self.model_owner == self.feature_owner:
            raise ValueError("feature_owner must differ from model_owner")
        return self


def load_train_spec(path: str | Path) -> TrainSpec:
    path = Path(path)
    return validate(TrainSpec, read_yaml(path), str(path))


def load_predict_spec(path: str | Path) -> PredictSpec:
    path = Path(path)
    return validate(PredictSpec, read_yaml(path), str(path))


@dataclass(frozen=True)
class Table:
    """Encoded rows of one source: features ``X`` (n, d) float64 and labels ``y`` (n,)."""

    X: np.ndarray
    y: np.ndarray
    feature_names: tuple[str, ...]


def resolve(source: str, base: Path | None) -> str:
    """A file source relative to the spec's folder; ``adult:`` sources unchanged."""
    if source.startswith("adult:") or base is None or Path(source).is_absolute():
        return source
    return str(base / source)


def load_source(source: str, schema: Schema) -> Table:
    """Read and encode one data source with the reference encoder, keeping schema columns."""
    from privml.data.adult import packaged_split, read_adult_file, reference_encoder

    match = _SOURCE.match(source)
    if match:
        raw, y = packaged_split(match.group(1))
        if match.group(2) is not None or match.group(3) is not None:
            start = int(match.group(2) or 0)
            stop = int(match.group(3)) if match.group(3) else len(y)
            if not 0 <= start < stop <= len(y):
                raise SpecError(f"{source}: rows must satisfy 0 <= start < stop <= {len(y)}")
            raw, y = raw[start:stop], y[start:stop]
    else:
        if not Path(source).is_file():
            raise SpecError(f"{source}: data file not found")
        raw, y = read_adult_file(source)
    enc = reference_encoder()
    cols = feature_columns(schema)
    return Table(
        X=enc.transform(raw)[:, cols].astype(np.float64),
        y=y.astype(np.int64),
        feature_names=tuple(enc.feature_names[i] for i in cols),
    )


def feature_columns(schema: Schema) -> np.ndarray:
    """Indices, in the reference encoding, of the schema's columns' features (schema order)."""
    from privml.data.adult import NUMERIC, reference_encoder

    enc = reference_encoder()
    parts = [
        np.array([NUMERIC.index(c)]) if c in NUMERIC else enc.columns(c) for c in schema.columns
    ]
    return np.concatenate(parts)


def schema_hash(schema: Schema) -> str:
    """SHA-256 of the encoded feature names and the encoder constants they depend on."""
    from privml.data.adult import NUMERIC, reference_encoder

    enc = reference_encoder()
    cols = feature_columns(schema)
    numeric = {
        c: [float(enc.scaler.mean_[i]), float(enc.scaler.scale_[i])]
        for i, c in enumerate(NUMERIC)
        if c in schema.columns
    }
    blob = json.dumps(
        {"features": [enc.feature_names[i] for i in cols], "standardise": numeric},
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def protocol_hash(spec: TrainSpec) -> str:
    """SHA-256 of the recipe, party count and receivers: parties running different protocols
    would wait on each other forever or compute garbage, so they must agree up front."""
    blob = json.dumps(
        {"recipe": spec.recipe.model_dump(), "m": len(spec.parties), "reveal": spec.reveal_to},
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()
