"""The HE client: generates keys, encrypts, talks to the service, and alone decrypts.

``HEClient(url).predict(X)`` asks the server for its model and CKKS parameters, generates a
fresh key set (secret key never leaves this process), uploads the public context once (public
key, relinearization keys if the model squares, Galois keys only if the layout rotates), sends
the samples in batches of N/2 (one ciphertext per feature, samples in slots) and decrypts the
encrypted scores. It reports what crossed the wire, so the cost of HE is visible.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

import httpx
import numpy as np
import tenseal as ts

from privml.crypto.he.context import (
    batches,
    decrypt,
    encrypt_columns,
    encrypt_rows,
    key_sizes,
    make_context,
    public_context_bytes,
)
from privml.crypto.he.frames import decode_frame, encode_frame
from privml.crypto.he.params import HEParams

ROWS_PER_REQUEST = 64  # rows layout: samples per request (each is one ciphertext)


class HEServiceError(RuntimeError):
    """The server answered with an error (its reason is in the message)."""


@dataclass
class PredictResult:
    """Decrypted scores (logits) and what the exchange cost."""

    scores: np.ndarray
    sizes: dict[str, int | float] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def labels(self) -> np.ndarray:
        return (self.scores > 0).astype(np.int64)

    @property
    def probabilities(self) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.scores))


class HEClient:
    """Client of one ``privml he serve`` server at ``url``."""

    def __init__(self, url: str, timeout: float = 600.0, n_threads: int | None = None) -> None:
        self.http = httpx.Client(base_url=url.rstrip("/"), timeout=timeout)
        self.n_threads = n_threads

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> HEClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kw) -> httpx.Response:
        resp = self.http.request(method, path, **kw)
        if resp.status_code >= 400:
            try:
                reason = resp.json().get("detail", resp.text)
            except ValueError:
                reason = resp.text
            raise HEServiceError(f"server: {method} {path}: {resp.status_code}: {reason}")
        return resp

    def info(self) -> dict:
        """The server's model description (``GET /v1/model``)."""
        return self._call("GET", "/v1/model").json()

    def predict(
        self, X: np.ndarray, layout: Literal["columns", "rows"] = "columns"
    ) -> PredictResult:
        """Encrypted scores of ``X`` ``(n, d)``, decrypted here; ``d`` must match the model."""
        info = self.info()
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != info["n_features"] or len(X) == 0:
            raise ValueError(f"X: expected shape (n >= 1, {info['n_features']}), got {X.shape}")
        params = HEParams.from_dict(info["params"])
        needs = info["layouts"][layout]
        t0 = time.perf_counter()
        ctx = make_context(
            params, relin=needs["relin_keys"], galois=needs["galois_keys"], n_threads=self.n_threads
        )
        keys = {"relin": needs["relin_keys"], "galois": needs["galois_keys"]}
        pub = public_context_bytes(ctx, **keys)
        seconds = {"keygen": time.perf_counter() - t0, "encrypt": 0.0, "server": 0.0}
        seconds["decrypt"] = 0.0
        sid = self._call("POST", "/v1/sessions", content=pub).json()["session_id"]
        up = down = requests = 0
        scores = np.empty(len(X))
        step = params.slots if layout == "columns" else ROWS_PER_REQUEST
        try:
            for sl in batches(len(X), step):
                t = time.perf_counter()
                if layout == "columns":
                    vecs = encrypt_columns(ctx, X[sl])
                else:
                    vecs = encrypt_rows(ctx, X[sl])
                body = encode_frame([v.serialize() for v in vecs])
                seconds["encrypt"] += time.perf_counter() - t
                t = time.perf_counter()
                resp = self._call(
                    "POST",
                    f"/v1/sessions/{sid}/predict",
                    params={"layout": layout},
                    content=body,
                    headers={"content-type": "application/octet-stream"},
                )
                seconds["server"] += time.perf_counter() - t
                t = time.perf_counter()
                scores[sl] = self._decrypt(ctx, resp.content, layout, sl.stop - sl.start)
                seconds["decrypt"] += time.perf_counter() - t
                up, down, requests = up + len(body), down + len(resp.content), requests + 1
        finally:
            self.http.request("DELETE", f"/v1/sessions/{sid}")
        n = len(X)
        sizes = {
            **key_sizes(ctx, **keys),
            "context_upload": len(pub),
            "ciphertexts_up": up,
            "ciphertexts_down": down,
            "requests": requests,
            "up_bytes_per_sample": up / n,
            "down_bytes_per_sample": down / n,
        }
        return PredictResult(scores, sizes, seconds)

    @staticmethod
    def _decrypt(ctx: ts.Context, content: bytes, layout: str, n: int) -> np.ndarray:
        blobs = decode_frame(content, max_count=max(n, 1))
        vecs = [ts.ckks_vector_from(ctx, b) for b in blobs]
        if layout == "columns":
            if len(vecs) != 1:
                raise HEServiceError(f"server: expected 1 score ciphertext, got {len(vecs)}")
            return decrypt(vecs[0], ctx)[:n]
        if len(vecs) != n:
            raise HEServiceError(f"server: expected {n} score ciphertexts, got {len(vecs)}")
        return np.array([decrypt(v, ctx)[0] for v in vecs])
