"""`privml mpc ...`: secure multi-party training and inference from the command line.

``train`` and ``predict`` run ONE party (each organisation runs its own on its own host);
``launch`` and ``launch-predict`` start every party locally as subprocesses on free loopback
ports, for demos and tests. Parses arguments, calls ``privml.crypto.mpc`` and prints; nothing
more. Invalid input (spec, flags) exits 2 naming the field; an MPC failure (a party that did not
connect, mismatched schemas, a lost connection) exits 1 with ``error: ...`` naming the party.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

mpc_app = typer.Typer(
    help="Secure multi-party computation (MPyC, 3+ parties, semi-honest, honest majority): "
    "train logistic regression on horizontally split data, or score rows with a model nobody "
    "else sees.",
    no_args_is_help=True,
)

SpecArg = Annotated[Path, typer.Argument(help="MPC spec (YAML)")]
Party = Annotated[int, typer.Option("--party", help="this party's index I (0-based)")]
Parties = Annotated[
    str, typer.Option("--parties", help="host:port of every party, in party order, comma-separated")
]
OutOpt = Annotated[Path | None, typer.Option("--out", help="output folder (default: spec's out)")]
OutReq = Annotated[Path, typer.Option("--out", help="output folder")]


def _fail(message: str, code: int) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _out(cli: Path | None, spec_out: str | None, spec: Path) -> Path:
    if cli is not None:
        return cli
    if spec_out is None:
        _fail("--out: required (the spec has no out: field)", 2)
    return spec.parent / spec_out


def _party(spec: Path, party: int, parties: str, out: Path | None, kind: str) -> None:
    """Load ``spec``, then run party ``party`` of ``kind`` (train or predict); print results."""
    from privml.crypto.mpc.runtime import MPCError, parse_parties
    from privml.crypto.mpc.spec import SpecError, load_predict_spec, load_train_spec

    try:
        s = (load_train_spec if kind == "train" else load_predict_spec)(spec)
        addresses = parse_parties(parties)
        folder = _out(out, s.out, spec)
    except (SpecError, MPCError) as e:
        _fail(str(e), 2)
    try:
        if kind == "train":
            from privml.crypto.mpc.train import train_party as run
        else:
            from privml.crypto.mpc.predict import predict_party as run
        results = run(s, party, addresses, folder, base=spec.parent)
    except (SpecError, MPCError) as e:
        _fail(str(e), 1)
    typer.echo(json.dumps(results, indent=2))


@mpc_app.command()
def train(spec: SpecArg, party: Party, parties: Parties, out: OutOpt = None) -> None:
    """Run party I of the secure training; only the final model is revealed."""
    _party(spec, party, parties, out, "train")


@mpc_app.command()
def predict(spec: SpecArg, party: Party, parties: Parties, out: OutOpt = None) -> None:
    """Run party I of the secure inference; only the feature owner learns the labels."""
    _party(spec, party, parties, out, "predict")


@mpc_app.command()
def launch(spec: SpecArg, out: OutReq) -> None:
    """Run every party of the training locally, then the same recipe in plaintext; compare."""
    from privml.crypto.mpc.compare import launch_train
    from privml.crypto.mpc.runtime import MPCError
    from privml.crypto.mpc.spec import SpecError

    try:
        summary = launch_train(spec, out)
    except SpecError as e:
        _fail(str(e), 2)
    except MPCError as e:
        _fail(str(e), 1)
    typer.echo(json.dumps(summary, indent=2))


@mpc_app.command("launch-predict")
def launch_predict(
    spec: SpecArg,
    out: OutReq,
    n: Annotated[int, typer.Option("--n-parties", min=3, help="number of parties")] = 3,
) -> None:
    """Run every party of the secure inference locally; print each party's results."""
    from privml.crypto.mpc.compare import launch_predict as run
    from privml.crypto.mpc.runtime import MPCError
    from privml.crypto.mpc.spec import SpecError

    try:
        results = run(spec, out, m=n)
    except SpecError as e:
        _fail(str(e), 2)
    except MPCError as e:
        _fail(str(e), 1)
    typer.echo(json.dumps(results, indent=2))


if __name__ == "__main__":
    mpc_app()
