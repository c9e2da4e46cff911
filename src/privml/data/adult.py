"""UCI Adult (census income), packaged with privml: parsing, encoding and sensitive attributes.

The tabular scenario's data. Categorical columns are one-hot encoded (``?`` for missing is its
own category; categories unseen in training encode as all zeros) and numeric columns
standardised, with both encoders fitted on the training split only so that train and test
share columns and no test statistics leak into the features. For attribute inference the
loader keeps the raw rows and the sensitive columns (``sex``, ``race``) as integer codes, and
can re-encode rows with a hypothesised value of one attribute or drop an attribute's columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from privml.data.records import DataError

COLUMNS = (
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education-num",
    "marital-status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital-gain",
    "capital-loss",
    "hours-per-week",
    "native-country",
)
NUMERIC = ("age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week")
CATEGORICAL = tuple(c for c in COLUMNS if c not in NUMERIC)
SENSITIVE = ("sex", "race")
LABEL = "Y"
POSITIVE = ">50K"  # label 1; "<=50K" is label 0
_LABELS = {"<=50K": 0, ">50K": 1}
_FILES = {"train": "adult.data", "test": "adult.test"}
_NUM_IDX = [COLUMNS.index(c) for c in NUMERIC]
_CAT_IDX = [COLUMNS.index(c) for c in CATEGORICAL]

Split = Literal["train", "test", "all"]


def read_adult_file(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Raw rows ``(n, 14)`` (object: floats for numeric columns, stripped strings otherwise)
    and labels ``(n,)`` int64 (1 for income >50K) from one Adult file with its header line.

    Blank lines are skipped; a trailing ``.`` on the label (the test split's quirk) is dropped.
    Raises ``DataError`` (a ``ValueError``) naming the file and 1-based line; messages never
    quote row content.
    """
    text = Path(path).read_text(encoding="utf-8")
    return _parse(text, str(path))


def _parse(text: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    lines = text.splitlines()
    expected = [*COLUMNS, LABEL]
    if not lines or [h.strip() for h in lines[0].split(",")] != expected:
        raise DataError(name, 1, f"header must be {', '.join(expected)}")
    rows: list[list[object]] = []
    labels: list[int] = []
    for line_no, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = [f.strip() for f in line.split(",")]
        if len(fields) != len(expected):
            raise DataError(name, line_no, f"expected {len(expected)} fields, got {len(fields)}")
        row: list[object] = list(fields[:-1])
        for i in _NUM_IDX:
            try:
                row[i] = float(fields[i])
            except ValueError:
                raise DataError(name, line_no, f"column {COLUMNS[i]!r} is not a number") from None
        for i in _CAT_IDX:
            if not fields[i]:
                raise DataError(name, line_no, f"column {COLUMNS[i]!r} is empty")
        label = fields[-1].removesuffix(".")
        if label not in _LABELS:
            raise DataError(name, line_no, "label must be '<=50K' or '>50K' (optionally with '.')")
        rows.append(row)
        labels.append(_LABELS[label])
    if not rows:
        raise DataError(name, None, "no data rows")
    raw = np.empty((len(rows), len(COLUMNS)), dtype=object)
    raw[:] = rows
    return raw, np.asarray(labels, dtype=np.int64)


@lru_cache(maxsize=2)
def packaged_split(split: str) -> tuple[np.ndarray, np.ndarray]:
    """Raw rows and labels of the packaged ``train`` or ``test`` split (parsed once)."""
    node = resources.files("privml") / "resources" / "adult" / _FILES[split]
    return _parse(node.read_text(encoding="utf-8"), f"privml/resources/adult/{_FILES[split]}")


class AdultEncoder:
    """Standardised numerics then one-hot categoricals, fitted once on the raw training rows."""

    def __init__(self, raw_train: np.ndarray) -> None:
        self.onehot = OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float32)
        self.onehot.fit(raw_train[:, _CAT_IDX].astype(str))
        self.scaler = StandardScaler().fit(raw_train[:, _NUM_IDX].astype(np.float64))
        names = self.onehot.get_feature_names_out(list(CATEGORICAL))
        self.feature_names: tuple[str, ...] = (*NUMERIC, *(str(n) for n in names))

    def transform(self, raw: np.ndarray) -> np.ndarray:
        """``(n, 14)`` raw rows -> ``(n, d)`` float32 features."""
        numeric = self.scaler.transform(raw[:, _NUM_IDX].astype(np.float64)).astype(np.float32)
        return np.hstack([numeric, self.onehot.transform(raw[:, _CAT_IDX].astype(str))])

    def categories(self, column: str) -> tuple[str, ...]:
        """The training split's categories of ``column`` (sorted; ``?`` included if present)."""
        return tuple(str(c) for c in self.onehot.categories_[_categorical(column)])

    def columns(self, column: str) -> np.ndarray:
        """Indices of ``column``'s one-hot features in the encoded matrix."""
        j = _categorical(column)
        start = len(NUMERIC) + sum(len(c) for c in self.onehot.categories_[:j])
        return np.arange(start, start + len(self.onehot.categories_[j]))


def _categorical(column: str) -> int:
    if column not in CATEGORICAL:
        raise ValueError(f"column: must be one of {', '.join(CATEGORICAL)}, got {column!r}")
    return CATEGORICAL.index(column)


@lru_cache(maxsize=1)
def reference_encoder() -> AdultEncoder:
    """The encoder fitted on the packaged training split (the one every privml model uses)."""
    return AdultEncoder(packaged_split("train")[0])


@dataclass(frozen=True, eq=False)
class AdultData:
    """One split of Adult: features ``X`` (n, d) float32, labels ``y`` (n,) int64, raw rows.

    ``sensitive[c]`` are the integer codes of sensitive column ``c`` (index into
    ``sensitive_categories[c]``, the training split's categories; -1 if unseen in training).
    """

    X: np.ndarray
    y: np.ndarray
    raw: np.ndarray
    feature_names: tuple[str, ...]
    encoder: AdultEncoder
    split: str
    sensitive: dict[str, np.ndarray] = field(default_factory=dict)
    sensitive_categories: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, idx: np.ndarray) -> AdultData:
        """The rows ``idx`` (indices or a bool mask), with the same encoder and categories."""
        return AdultData(
            X=self.X[idx],
            y=self.y[idx],
            raw=self.raw[idx],
            feature_names=self.feature_names,
            encoder=self.encoder,
            split=self.split,
            sensitive={k: v[idx] for k, v in self.sensitive.items()},
            sensitive_categories=dict(self.sensitive_categories),
        )

    def encode(self, raw: np.ndarray) -> np.ndarray:
        """Encode raw rows (same layout as ``raw``) with the training-split encoders."""
        return self.encoder.transform(np.asarray(raw, dtype=object).reshape(-1, len(COLUMNS)))

    def attribute_columns(self, column: str) -> np.ndarray:
        """Indices in ``X`` of categorical ``column``'s one-hot features."""
        return self.encoder.columns(column)

    def without(self, column: str, X: np.ndarray | None = None) -> np.ndarray:
        """``X`` (default: this split's) without ``column``'s one-hot features."""
        return np.delete(self.X if X is None else X, self.attribute_columns(column), axis=1)

    def feature_names_without(self, column: str) -> tuple[str, ...]:
        """Feature names matching ``without(column)``."""
        drop = set(self.attribute_columns(column).tolist())
        return tuple(n for i, n in enumerate(self.feature_names) if i not in drop)

    def with_attribute(self, raw_rows: np.ndarray, column: str, value: int | str) -> np.ndarray:
        """Encode ``raw_rows`` with categorical ``column`` set to ``value`` (code or name).

        Attribute inference scores each candidate value v by the target's output on
        ``with_attribute(rows, "sex", v)``.
        """
        cats = self.encoder.categories(column)
        if isinstance(value, str):
            if value not in cats:
                raise ValueError(f"value: {column} must be one of {', '.join(cats)}, got {value!r}")
            name = value
        else:
            if not 0 <= int(value) < len(cats):
                raise ValueError(f"value: {column} code must be in [0, {len(cats)}), got {value}")
            name = cats[int(value)]
        rows = np.array(raw_rows, dtype=object).reshape(-1, len(COLUMNS))
        rows[:, COLUMNS.index(column)] = name
        return self.encode(rows)


def load_adult(split: Split = "train") -> AdultData:
    """The packaged Adult ``split`` (``train``, ``test`` or ``all`` = train then test)."""
    if split not in ("train", "test", "all"):
        raise ValueError(f"split: must be 'train', 'test' or 'all', got {split!r}")
    if split == "all":
        parts = [packaged_split("train"), packaged_split("test")]
        raw = np.concatenate([p[0] for p in parts])
        y = np.concatenate([p[1] for p in parts])
    else:
        raw, y = packaged_split(split)
        raw, y = raw.copy(), y.copy()
    enc = reference_encoder()
    sensitive, categories = {}, {}
    for col in SENSITIVE:
        cats = enc.categories(col)
        lookup = {c: i for i, c in enumerate(cats)}
        values = raw[:, COLUMNS.index(col)]
        sensitive[col] = np.array([lookup.get(v, -1) for v in values], dtype=np.int64)
        categories[col] = cats
    return AdultData(
        X=enc.transform(raw),
        y=y,
        raw=raw,
        feature_names=enc.feature_names,
        encoder=enc,
        split=split,
        sensitive=sensitive,
        sensitive_categories=categories,
    )
