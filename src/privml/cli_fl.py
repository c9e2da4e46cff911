"""`privml fl ...`: federated training on Flower with client-level DP.

- ``privml fl simulate SPEC --out DIR``: all clients in this process (no Ray needed).
- ``privml fl deploy SPEC --out DIR --supernodes N``: a real Flower deployment on loopback: a
  ``flower-superlink``, N ``flower-supernode`` processes (one per client) and a ``flwr run``.
- ``privml fl app DIR``: write the Flower App folder, for a deployment across machines by hand.

Invalid input exits 2 with ``error: <field>: ...``; a run the budget ledger refuses exits 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

fl_app = typer.Typer(
    help="Federated learning on Flower: DP-FedAvg, simulation and deployment.",
    no_args_is_help=True,
)

DEPLOY_HELP = """Run SPEC on a local Flower deployment: SuperLink + N SuperNodes + flwr run.

Starts `flower-superlink --insecure` on a free loopback port, N `flower-supernode --insecure
--superlink 127.0.0.1:PORT --node-config "partition-id=i num-partitions=N"` processes (N must
equal the spec's data.clients), writes the Flower App to DIR/deployment/flwr_app and submits
each variant with `flwr run DIR/deployment/flwr_app privml-local --run-config
'plan-file="..." out-dir="..."'` (FLWR_HOME is private to the run). The ServerApp writes its
outcome to out-dir; this command waits for it, stops every process, then measures and reports.
Across machines, run the same flower-superlink / flower-supernode commands on each machine
(privml installed everywhere) and `flwr run` against your SuperLink connection.
"""


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _run(spec: Path, out: Path, quiet: bool, executor=None) -> None:  # noqa: ANN001
    from privml.federated.runner import run_federated
    from privml.specfile import SpecError

    say = (lambda s: None) if quiet else (lambda s: typer.echo(s, err=True))
    try:
        res = run_federated(spec, out, executor=executor, progress=say)
    except SpecError as exc:
        _fail(str(exc))
    except Exception as exc:
        if type(exc).__name__ == "BudgetExceeded":
            _fail(f"budget: {exc}", 1)
        raise
    u = res["utility"]
    line = f"private accuracy {u['private']['accuracy']:.4f}"
    if "baseline" in u:
        line += f", baseline {u['baseline']['accuracy']:.4f}"
    eps = res["privacy"].get("epsilon")
    line += f", ε = {eps:.2f}" if eps is not None else ", no DP"
    auc = res["attacks"]["private"]["membership"]["loss"]["auc"]
    typer.echo(f"{line}, membership AUC {auc:.3f}; report: {out / 'report.html'}")


@fl_app.command("simulate")
def simulate_cmd(
    spec: Annotated[Path, typer.Argument(help="federated spec (task: federated)")],
    out: Annotated[Path, typer.Option("--out", help="run folder")],
    quiet: Annotated[bool, typer.Option("--quiet", help="no progress lines")] = False,
) -> None:
    """Simulate SPEC on this machine: every client in-process, the same Server/ClientApp code."""
    _run(spec, out, quiet)


@fl_app.command("deploy", help=DEPLOY_HELP)
def deploy_cmd(
    spec: Annotated[Path, typer.Argument(help="federated spec (task: federated)")],
    out: Annotated[Path, typer.Option("--out", help="run folder")],
    supernodes: Annotated[int, typer.Option("--supernodes", help="SuperNodes (= clients)")],
    timeout: Annotated[float, typer.Option("--timeout", help="seconds per variant")] = 1800.0,
    quiet: Annotated[bool, typer.Option("--quiet", help="no progress lines")] = False,
) -> None:
    from privml.federated.runner import deploy_executor
    from privml.federated.spec import load_spec
    from privml.specfile import SpecError

    try:
        clients = load_spec(spec, out).data.clients
    except SpecError as exc:
        _fail(str(exc))
    if supernodes != clients:
        _fail(f"--supernodes: must equal data.clients ({clients}), got {supernodes}")
    _run(spec, out, quiet, deploy_executor(out, supernodes, timeout))


@fl_app.command("app")
def app_cmd(folder: Annotated[Path, typer.Argument(help="folder to write the Flower App to")]):
    """Write privml's Flower App (pyproject.toml naming its ServerApp and ClientApp)."""
    from privml.federated.deploy import write_app

    typer.echo(str(write_app(folder)))


if __name__ == "__main__":
    fl_app()
