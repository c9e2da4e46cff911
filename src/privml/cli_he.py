"""`privml he ...`: homomorphic-encryption inference (train, serve, predict).

``privml he train --model logreg|mlp --out MODEL.npz`` trains an HE-friendly model on Adult
(seeded). ``privml he serve MODEL --port P`` serves it over HTTP (FastAPI + uvicorn); the CKKS
parameters are chosen from the model's depth unless given, and parameters below 128-bit security
or too shallow for the model are refused. ``privml he predict --server URL DATA --out OUT``
generates keys locally, sends only public keys and ciphertexts, decrypts the scores and prints
what crossed the wire. Parses arguments, calls ``privml.crypto.he`` and prints; nothing more.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import typer

he_app = typer.Typer(
    help="Homomorphic-encryption inference: train an HE-friendly model, serve it, and "
    "predict on encrypted data (only the client can decrypt).",
    no_args_is_help=True,
)


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _mb(n: float) -> str:
    return f"{n / 2**20:.2f} MiB"


@he_app.command()
def train(
    out: Annotated[Path, typer.Option("--out", help="model file to write (.npz)")],
    model: Annotated[
        Literal["logreg", "mlp"], typer.Option("--model", help="logreg or mlp")
    ] = "logreg",
    seed: Annotated[int, typer.Option(help="seed of weights and batch order")] = 0,
    hidden: Annotated[int, typer.Option(help="MLP hidden units", min=1)] = 32,
    epochs: Annotated[int | None, typer.Option(help="epochs (default 10)", min=1)] = None,
) -> None:
    """Train an HE-friendly model on the packaged Adult training split and save it."""
    from dataclasses import replace

    from privml.crypto.he.params import choose_params
    from privml.crypto.he.train import default_recipe, train_model
    from privml.data.adult import load_adult

    recipe = default_recipe(model)
    if epochs is not None:
        recipe = replace(recipe, epochs=epochs)
    tr, te = load_adult("train"), load_adult("test")
    _, he_model = train_model(
        model, tr.X, tr.y, tr.feature_names, seed=seed, hidden=hidden, recipe=recipe
    )
    acc = float(((he_model.plain_scores(te.X) > 0) == te.y).mean())
    he_model.meta["test_accuracy"] = acc
    he_model.save(out)
    p = choose_params(he_model.depth)
    typer.echo(f"model: {out} ({model}, test accuracy {acc:.4f}, depth {he_model.depth})")
    typer.echo(f"CKKS parameters: {json.dumps(p.to_dict())}")


@he_app.command()
def serve(
    model: Annotated[Path, typer.Argument(help="model file from `privml he train`")],
    port: Annotated[int, typer.Option(help="TCP port", min=1, max=65535)] = 8000,
    host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
    max_request_mb: Annotated[float, typer.Option(help="request body limit (MiB)")] = 256.0,
    poly_modulus_degree: Annotated[
        int | None, typer.Option(help="ring degree N (default: chosen from the model's depth)")
    ] = None,
    coeff_mod_bit_sizes: Annotated[
        str | None, typer.Option(help="modulus chain, e.g. 60,40,60 (with --poly-modulus-degree)")
    ] = None,
    scale_bits: Annotated[int, typer.Option(help="log2 of the CKKS scale")] = 40,
) -> None:
    """Serve MODEL for encrypted inference over HTTP."""
    from privml.crypto.he.model import HEModel, HEModelError
    from privml.crypto.he.params import HEParameterError, HEParams, parse_bit_sizes
    from privml.crypto.he.service import create_app
    from privml.crypto.he.service import serve as run

    if (poly_modulus_degree is None) != (coeff_mod_bit_sizes is None):
        _fail("--poly-modulus-degree and --coeff-mod-bit-sizes: give both or neither")
    if not max_request_mb > 0:
        _fail(f"--max-request-mb: must be > 0, got {max_request_mb}")
    try:
        he_model = HEModel.load(model)
        params = None
        if poly_modulus_degree is not None and coeff_mod_bit_sizes is not None:
            sizes = parse_bit_sizes(coeff_mod_bit_sizes)
            params = HEParams(poly_modulus_degree, sizes, scale_bits)
        app = create_app(he_model, params, max_request_bytes=int(max_request_mb * 2**20))
    except (HEModelError, HEParameterError) as e:
        _fail(str(e))
    p = app.state.he.params
    typer.echo(
        f"serving {he_model.kind} (depth {he_model.depth}) on http://{host}:{port} with "
        f"CKKS {json.dumps(p.to_dict())}; the server holds no secret key"
    )
    run(app, host=host, port=port)


@he_app.command()
def predict(
    data: Annotated[Path, typer.Argument(help="Adult-format file or CSV of model features")],
    server: Annotated[str, typer.Option("--server", help="server URL, e.g. http://127.0.0.1:8000")],
    out: Annotated[Path, typer.Option("--out", help="predictions (.csv, or .jsonl)")],
    layout: Annotated[
        Literal["columns", "rows"],
        typer.Option(help="columns: samples batched in slots; rows: one sample per ciphertext"),
    ] = "columns",
) -> None:
    """Encrypt DATA, have SERVER score it without the secret key, decrypt, write OUT."""
    import httpx

    from privml.crypto.he.client import HEClient, HEServiceError
    from privml.crypto.he.data import HEDataError, read_features, write_predictions

    try:
        with HEClient(server) as client:
            info = client.info()
            X, y = read_features(data, tuple(info["feature_names"]))
            result = client.predict(X, layout=layout)
    except (HEServiceError, HEDataError, httpx.HTTPError, ValueError) as e:
        _fail(str(e))
    write_predictions(out, result.scores, y)
    s, n = result.sizes, len(X)
    typer.echo(f"predictions: {out} ({n} rows, {info['kind']}, layout {layout})")
    if y is not None:
        typer.echo(f"accuracy against DATA's labels: {float((result.labels == y).mean()):.4f}")
    typer.echo(
        f"keys sent: public {_mb(s['public_key'])}, relinearization {_mb(s['relin_keys'])}, "
        f"Galois {_mb(s['galois_keys'])} (context upload {_mb(s['context_upload'])}); "
        "secret key: not sent"
    )
    typer.echo(
        f"ciphertexts: up {_mb(s['ciphertexts_up'])} ({s['up_bytes_per_sample']:.0f} B/sample), "
        f"down {_mb(s['ciphertexts_down'])} ({s['down_bytes_per_sample']:.0f} B/sample), "
        f"{s['requests']} requests"
    )
    t = result.seconds
    typer.echo(
        "seconds: " + ", ".join(f"{k} {v:.2f}" for k, v in t.items()) + f"; total "
        f"{sum(t.values()) / n * 1e3:.2f} ms/sample"
    )


if __name__ == "__main__":
    he_app()
