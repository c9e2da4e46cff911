"""Client-side input and output files for HE prediction.

Input (DATA) is either an **Adult-format file** (the header ``age, workclass, ..., Y`` as in
``privml/resources/adult``; rows are encoded with the packaged training split's encoder, like
the model's training data, and the labels are kept for an accuracy line) or a **CSV of encoded
features** whose header is exactly the model's feature names (no labels). Output is CSV, or
JSONL when OUT ends in ``.jsonl``: one row per sample with the score (logit), the probability
and the label, written atomically.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from privml.atomic import atomic_open, write_jsonl
from privml.data.adult import COLUMNS, LABEL, load_adult, read_adult_file


class HEDataError(ValueError):
    """An input file that is neither Adult-format nor the model's feature CSV."""


def read_features(
    path: str | Path, feature_names: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray | None]:
    """``(X, y)`` from ``path`` (``y`` is ``None`` for a feature CSV); see module doc."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8") as fh:
            header = [h.strip() for h in fh.readline().split(",")]
    except (OSError, UnicodeDecodeError) as e:
        raise HEDataError(f"{path}: cannot read: {e}") from None
    if header == [*COLUMNS, LABEL]:
        raw, y = read_adult_file(path)
        train = load_adult("train")
        if train.feature_names != tuple(feature_names):
            raise HEDataError(
                f"{path}: the model's feature names differ from the Adult encoder's; send a "
                "feature CSV instead"
            )
        return train.encode(raw), y
    if header == list(feature_names):
        return _read_csv(path, len(feature_names)), None
    raise HEDataError(
        f"{path}: header must be the Adult columns ({', '.join(COLUMNS)}, {LABEL}) or the "
        f"model's {len(feature_names)} feature names (first: {', '.join(feature_names[:3])}, ...)"
    )


def _read_csv(path: Path, d: int) -> np.ndarray:
    rows = []
    with path.open(encoding="utf-8") as fh:
        next(fh)
        for line_no, line in enumerate(fh, start=2):
            if not line.strip():
                continue
            fields = line.split(",")
            if len(fields) != d:
                raise HEDataError(f"{path}:{line_no}: expected {d} fields, got {len(fields)}")
            try:
                row = [float(f) for f in fields]
            except ValueError:
                raise HEDataError(f"{path}:{line_no}: a field is not a number") from None
            if not all(np.isfinite(row)):
                raise HEDataError(f"{path}:{line_no}: NaN or infinity")
            rows.append(row)
    if not rows:
        raise HEDataError(f"{path}: no data rows")
    return np.asarray(rows, dtype=np.float64)


def write_predictions(path: str | Path, scores: np.ndarray, y: np.ndarray | None = None) -> Path:
    """Scores, probabilities and labels (and true labels ``y`` if known) as CSV or JSONL."""
    path = Path(path)
    prob = 1.0 / (1.0 + np.exp(-scores))
    rows = []
    for i, (s, p) in enumerate(zip(scores, prob, strict=True)):
        row = {"row": i, "score": float(s), "probability": float(p), "label": int(s > 0)}
        if y is not None:
            row["y"] = int(y[i])
        rows.append(row)
    if path.suffix == ".jsonl":
        return write_jsonl(path, rows)
    with atomic_open(path, "w") as fh:
        keys = list(rows[0]) if rows else ["row", "score", "probability", "label"]
        fh.write(",".join(keys) + "\n")
        for row in rows:
            fh.write(",".join(_fmt(row[k]) for k in keys) + "\n")
    return path


def _fmt(v: float | int) -> str:
    return repr(v) if isinstance(v, float) else str(v)
