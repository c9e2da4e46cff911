"""HE inference on the Adult test set: accuracy against plaintext, time and bytes per sample.

For the logistic regression and the polynomial MLP (trained here, seeded, on the packaged Adult
training split), one run measures side by side:

* **batched** (``columns`` layout): the full test set (16,281 rows), N/2 samples per ciphertext,
  one ciphertext per feature;
* **one sample per ciphertext** (``rows`` layout, rotations + Galois keys): the first
  ``--rows-lr`` / ``--rows-mlp`` test rows (a subset: at ~1-2 s a sample the MLP baseline on all
  rows would take hours).

Each path runs the service's protocol in-process, without HTTP: the client makes keys and
encrypts, the ciphertexts are serialized, the "server" deserializes them against a public
context rebuilt from bytes (no secret key), evaluates and serializes the scores, and the client
deserializes and decrypts. Amortized time per sample is encrypt + server + decrypt (serialization
included) over the rows; key generation is a one-off per session and reported on its own. Bytes
are serialized ciphertexts up and down per sample, plus the keys sent once. Also reported: the
accuracy of each model in plaintext and under HE, and a ReLU MLP trained with the same recipe,
so the cost of the polynomial activation is visible.

    python benchmarks/he_inference.py [--rows-lr 200] [--rows-mlp 50] [--threads 2] [--out F]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from privml.atomic import write_json
from privml.classifiers.nets import MLP
from privml.classifiers.train import fit, predict_logits
from privml.crypto.he.context import (
    batches,
    decrypt,
    encrypt_columns,
    encrypt_rows,
    key_sizes,
    load_public_context,
    load_vectors,
    make_context,
    public_context_bytes,
)
from privml.crypto.he.model import HEModel
from privml.crypto.he.params import choose_params
from privml.crypto.he.train import default_recipe, train_model
from privml.data.adult import load_adult


def run_layout(model: HEModel, X: np.ndarray, layout: str, threads: int) -> dict:
    """Scores and costs of encrypted inference of ``X`` in ``layout``."""
    params = choose_params(model.depth)
    relin, galois = model.needs_relin_keys, model.needs_galois_keys(layout)
    t = time.perf_counter()
    ctx = make_context(params, relin=relin, galois=galois, n_threads=threads)
    pub = public_context_bytes(ctx, relin=relin, galois=galois)
    keygen = time.perf_counter() - t
    server_ctx = load_public_context(pub, params, n_threads=threads)
    assert not server_ctx.is_private()
    step = params.slots if layout == "columns" else 1
    sec = {"encrypt": 0.0, "server": 0.0, "decrypt": 0.0}
    up = down = 0
    scores = np.empty(len(X))
    for sl in batches(len(X), step):
        t = time.perf_counter()
        vecs = encrypt_columns(ctx, X[sl]) if layout == "columns" else encrypt_rows(ctx, X[sl])
        blobs = [v.serialize() for v in vecs]
        t1 = time.perf_counter()
        cts = load_vectors(server_ctx, blobs, params.slots)
        outs = [model.eval_columns(cts)] if layout == "columns" else model.eval_rows(cts)
        answers = [o.serialize() for o in outs]
        t2 = time.perf_counter()
        vals = [decrypt(load_vectors(ctx, [a], params.slots)[0], ctx) for a in answers]
        scores[sl] = vals[0][: sl.stop - sl.start] if layout == "columns" else vals[0][0]
        t3 = time.perf_counter()
        sec["encrypt"] += t1 - t
        sec["server"] += t2 - t1
        sec["decrypt"] += t3 - t2
        up += sum(map(len, blobs))
        down += sum(map(len, answers))
    n = len(X)
    plain = model.plain_scores(X)
    return {
        "layout": layout,
        "rows": n,
        "params": params.to_dict(),
        "max_abs_error": float(np.abs(scores - plain).max()),
        "label_agreement": float(((scores > 0) == (plain > 0)).mean()),
        "ms_per_sample": 1e3 * sum(sec.values()) / n,
        "ms_per_sample_parts": {k: 1e3 * v / n for k, v in sec.items()},
        "keygen_s": keygen,
        "up_bytes_per_sample": up / n,
        "down_bytes_per_sample": down / n,
        "keys_bytes": {**key_sizes(ctx, relin=relin, galois=galois), "context_upload": len(pub)},
        "scores": scores,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows-lr", type=int, default=200, help="test rows for the LR baseline")
    ap.add_argument("--rows-mlp", type=int, default=50, help="test rows for the MLP baseline")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="also write the results as JSON here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    tr, te = load_adult("train"), load_adult("test")
    results: dict = {"test_rows": len(te), "threads": args.threads, "models": {}}
    for kind, n_rows in (("logreg", args.rows_lr), ("mlp", args.rows_mlp)):
        _, model = train_model(kind, tr.X, tr.y, tr.feature_names, seed=args.seed)
        batched = run_layout(model, te.X, "columns", args.threads)
        single = run_layout(model, te.X[:n_rows], "rows", args.threads)
        plain = model.plain_scores(te.X)
        entry = {
            "depth": model.depth,
            "plaintext_accuracy": float(((plain > 0) == te.y).mean()),
            "he_accuracy": float(((batched.pop("scores") > 0) == te.y).mean()),
            "batched": batched,
            "one_per_ciphertext": {k: v for k, v in single.items() if k != "scores"},
            "speedup": single["ms_per_sample"] / batched["ms_per_sample"],
        }
        results["models"][kind] = entry
        print(json.dumps({kind: entry}, indent=2), flush=True)
    torch.manual_seed(args.seed)
    relu = MLP(tr.X.shape[1], 2, (32,))
    fit(relu, tr.X, tr.y, default_recipe("mlp"), seed=args.seed)
    relu_acc = float((predict_logits(relu, te.X).argmax(1).numpy() == te.y).mean())
    results["relu_mlp_plaintext_accuracy"] = relu_acc
    print(markdown(results))
    if args.out:
        write_json(args.out, results)


def markdown(r: dict) -> str:
    """The side-by-side table for BENCHMARKS.md."""
    lines = [
        "| model | layout | rows | ms/sample (enc + server + dec) | server ms/sample | "
        "bytes/sample up / down | keys sent | max abs error | label agreement |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for kind, e in r["models"].items():
        for name in ("batched", "one_per_ciphertext"):
            b = e[name]
            keys = b["keys_bytes"]
            lines.append(
                f"| {kind} (N={b['params']['poly_modulus_degree']}, depth {e['depth']}) | "
                f"{name} | {b['rows']} | {b['ms_per_sample']:.3f} | "
                f"{b['ms_per_sample_parts']['server']:.3f} | "
                f"{b['up_bytes_per_sample']:,.0f} / {b['down_bytes_per_sample']:,.0f} | "
                f"{keys['context_upload'] / 2**20:.1f} MiB | {b['max_abs_error']:.1e} | "
                f"{100 * b['label_agreement']:.2f}% |"
            )
    acc = ", ".join(
        f"{k}: plaintext {e['plaintext_accuracy']:.4f}, HE {e['he_accuracy']:.4f}"
        for k, e in r["models"].items()
    )
    return "\n".join(lines) + (
        f"\n\nTest accuracy ({r['test_rows']} rows): {acc}; "
        f"ReLU MLP (same recipe) {r['relu_mlp_plaintext_accuracy']:.4f}."
    )


if __name__ == "__main__":
    main()
