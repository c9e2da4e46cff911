"""HE-friendly models (exported weights), their file format and encrypted evaluation.

Two models, both scoring one number per sample: the **score** is the pre-sigmoid logit of the
positive class, ``logit[1] - logit[0]`` of the two-class torch model (label = score > 0, the
probability is ``sigmoid(score)``, computed by the client after decryption).

* ``logreg``: ``score = w . x + b``. Multiplicative depth 1.
* ``mlp``: ``h = W1 x + b1``, ``score = w2 . act(h) + b2`` with ``act(h) = a h^2 + b h + c``
  trained as such (no approximation step). The server folds ``act`` into the output layer,
  ``score = sum_k (a w2_k) h_k^2 + sum_k (b w2_k) h_k + (c sum w2 + b2)``, so the depth is 3
  (``W1`` product, square, output product), not 4.

File format: one ``.npz`` (no pickle; loaded with ``allow_pickle=False``) with the weight arrays
and ``meta``, a JSON string (format, kind, feature names, training summary).

Encrypted layouts (the server never holds a secret key; it only adds and multiplies):

* ``columns`` (batched): ciphertext j holds feature j of up to N/2 samples, one per slot.
  Every operation is slot-wise, so there are no rotations and **no Galois keys**: the LR needs
  only plaintext-ciphertext products, the MLP also relinearisation keys for the square.
* ``rows`` (the one-sample-per-ciphertext baseline): a ciphertext holds one sample's features;
  dot products and vector-matrix products use TenSEAL's rotation-based ``dot``/``mm`` (Galois
  keys needed). Kept for the benchmark and for clients that send samples one at a time.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import tenseal as ts

from privml.atomic import write_bytes

FORMAT = "privml-he-model"
VERSION = 1
Kind = Literal["logreg", "mlp"]
Layout = Literal["columns", "rows"]
_ARRAYS: dict[str, tuple[str, ...]] = {
    "logreg": ("w", "b"),
    "mlp": ("W1", "b1", "act", "w2", "b2"),
}


class HEModelError(ValueError):
    """A model file or an evaluation request that does not fit the model."""


@dataclass(frozen=True, eq=False)
class HEModel:
    """Exported weights (float64) of an HE-friendly binary classifier; see module doc."""

    kind: Kind
    arrays: dict[str, np.ndarray]
    feature_names: tuple[str, ...]
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check(self.kind, self.arrays, len(self.feature_names))

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    @property
    def depth(self) -> int:
        """Multiplicative depth of the encrypted evaluation (1 for LR, 3 for the MLP)."""
        return 1 if self.kind == "logreg" else 3

    @property
    def needs_relin_keys(self) -> bool:
        return self.kind == "mlp"

    def needs_galois_keys(self, layout: Layout) -> bool:
        return layout == "rows"

    def plain_scores(self, X: np.ndarray) -> np.ndarray:
        """Plaintext scores (float64) of ``X`` ``(n, d)``: the reference for HE results."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise HEModelError(f"X: expected shape (n, {self.n_features}), got {X.shape}")
        a = self.arrays
        if self.kind == "logreg":
            return X @ a["w"] + a["b"]
        h = X @ a["W1"].T + a["b1"]
        c0, c1, c2 = a["act"]
        return (c2 * h * h + c1 * h + c0) @ a["w2"] + a["b2"]

    # ---- encrypted evaluation (server side: public context, no secret key) ----

    def eval_columns(self, cts: list[ts.CKKSVector]) -> ts.CKKSVector:
        """Scores of the samples packed slot-wise in ``cts`` (one ciphertext per feature)."""
        if len(cts) != self.n_features:
            raise HEModelError(
                f"ciphertexts: columns layout needs {self.n_features} (one per feature), "
                f"got {len(cts)}"
            )
        sizes = {ct.size() for ct in cts}
        if len(sizes) != 1:
            raise HEModelError("ciphertexts: all feature columns must hold the same sample count")
        a = self.arrays
        if self.kind == "logreg":
            return _linear(cts, a["w"]) + float(a["b"])
        hidden = [_linear(cts, a["W1"][k]) + float(a["b1"][k]) for k in range(len(a["b1"]))]
        return _poly_output(hidden, a)

    def eval_rows(self, cts: list[ts.CKKSVector]) -> list[ts.CKKSVector]:
        """One score ciphertext per one-sample ciphertext (rotations: Galois keys needed)."""
        out = []
        a = self.arrays
        for i, ct in enumerate(cts):
            if ct.size() != self.n_features:
                raise HEModelError(
                    f"ciphertexts[{i}]: rows layout needs {self.n_features} features, "
                    f"got {ct.size()}"
                )
            if self.kind == "logreg":
                out.append(ct.dot(a["w"].tolist()) + float(a["b"]))
                continue
            h = ct.mm(a["W1"].T.tolist()) + a["b1"].tolist()
            c0, c1, c2 = (float(v) for v in a["act"])
            w2 = a["w2"]
            const = c0 * float(w2.sum()) + float(a["b2"])
            out.append(h.square().dot((c2 * w2).tolist()) + h.dot((c1 * w2).tolist()) + const)
        return out

    # ---- file format ----

    def save(self, path: str | Path) -> Path:
        """Write the ``.npz`` atomically."""
        meta = {
            **self.meta,
            "format": FORMAT,
            "version": VERSION,
            "kind": self.kind,
            "feature_names": list(self.feature_names),
        }
        buf = io.BytesIO()
        np.savez(buf, meta=np.array(json.dumps(meta)), **self.arrays)
        return write_bytes(path, buf.getvalue())

    @classmethod
    def load(cls, path: str | Path) -> HEModel:
        """Read a model written by ``save``; errors name the file and field."""
        try:
            with np.load(Path(path), allow_pickle=False) as z:
                files = {k: z[k] for k in z.files}
        except (OSError, ValueError, EOFError) as e:
            raise HEModelError(f"{path}: not a privml HE model (.npz): {e}") from None
        if "meta" not in files:
            raise HEModelError(f"{path}: meta: missing")
        try:
            meta = json.loads(str(files.pop("meta")))
        except json.JSONDecodeError:
            raise HEModelError(f"{path}: meta: not valid JSON") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise HEModelError(f"{path}: meta.format: must be {FORMAT!r}")
        if meta.get("version") != VERSION:
            got = meta.get("version")
            raise HEModelError(f"{path}: meta.version: must be {VERSION}, got {got}")
        kind = meta.get("kind")
        if kind not in _ARRAYS:
            raise HEModelError(f"{path}: meta.kind: must be 'logreg' or 'mlp', got {kind!r}")
        names = meta.get("feature_names")
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise HEModelError(f"{path}: meta.feature_names: must be a list of strings")
        arrays = {k: np.asarray(v, dtype=np.float64) for k, v in files.items()}
        rest = {k: v for k, v in meta.items() if k not in ("format", "version", "kind")}
        rest.pop("feature_names")
        try:
            return cls(kind, arrays, tuple(names), rest)
        except HEModelError as e:
            raise HEModelError(f"{path}: {e}") from None


def _check(kind: str, arrays: dict[str, np.ndarray], d: int) -> None:
    if kind not in _ARRAYS:
        raise HEModelError(f"kind: must be 'logreg' or 'mlp', got {kind!r}")
    if set(arrays) != set(_ARRAYS[kind]):
        raise HEModelError(f"arrays: {kind} needs exactly {', '.join(_ARRAYS[kind])}")
    shapes = {k: v.shape for k, v in arrays.items()}
    if kind == "logreg":
        want = {"w": (d,), "b": ()}
    else:
        h = arrays["b1"].shape[0] if arrays["b1"].ndim == 1 else -1
        want = {"W1": (h, d), "b1": (h,), "act": (3,), "w2": (h,), "b2": ()}
    for k, shape in want.items():
        if shapes[k] != shape:
            raise HEModelError(f"arrays.{k}: expected shape {shape}, got {shapes[k]}")
        if not np.all(np.isfinite(arrays[k])):
            raise HEModelError(f"arrays.{k}: contains NaN or infinity")


def _linear(cts: list[ts.CKKSVector], w: np.ndarray) -> ts.CKKSVector:
    """``sum_j w_j ct_j`` with one plaintext multiplication (then rescale) per nonzero weight.

    Zero weights are skipped: SEAL refuses a product with an all-zero plaintext (it would be a
    "transparent" ciphertext that leaks nothing but is rejected on principle).
    """
    acc = None
    for ct, wj in zip(cts, w, strict=True):
        if wj == 0.0:
            continue
        term = ct * float(wj)
        acc = term if acc is None else acc.add_(term)
    if acc is None:
        raise HEModelError("weights: a row of the model's weights is all zero")
    return acc


def _poly_output(hidden: list[ts.CKKSVector], a: dict[str, np.ndarray]) -> ts.CKKSVector:
    """``w2 . act(h) + b2`` with ``act`` folded into the weights (depth: square, then product)."""
    c0, c1, c2 = (float(v) for v in a["act"])
    w2 = a["w2"]
    parts = []
    if c2 != 0.0:
        parts.append(_linear([h.square() for h in hidden], c2 * w2))
    if c1 != 0.0:
        parts.append(_linear(hidden, c1 * w2))
    if not parts:
        raise HEModelError("arrays.act: the activation is constant (a = b = 0)")
    out = parts[0] if len(parts) == 1 else parts[0].add_(parts[1])
    return out + (c0 * float(w2.sum()) + float(a["b2"]))
