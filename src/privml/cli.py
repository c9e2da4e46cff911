"""Command-line interface: parses arguments and calls the packages, nothing more."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from privml.cli_budget import budget_app
from privml.cli_dpstats import dpstats_app
from privml.cli_fl import fl_app
from privml.cli_he import he_app
from privml.cli_mpc import mpc_app
from privml.cli_scrub import scrub_app
from privml.cli_telemetry import telemetry_app

# = privml.pipeline.demo.DEMO_USERS (not imported here: that module loads torch; a test checks)
DEMO_USERS_DEFAULT = 40_000

app = typer.Typer(
    help="privml: train and ship models on sensitive data with privacy you can measure.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
accountant_app = typer.Typer(
    help="Privacy accounting for DP-SGD runs: upper bounds on epsilon (PRV, PLD or RDP), as JSON.",
    no_args_is_help=True,
)
app.add_typer(accountant_app, name="accountant")
app.add_typer(budget_app, name="budget")
app.add_typer(scrub_app, name="scrub")
app.add_typer(dpstats_app, name="dpstats")
app.add_typer(telemetry_app, name="telemetry")
app.add_typer(he_app, name="he")
app.add_typer(mpc_app, name="mpc")
app.add_typer(fl_app, name="fl")

Out = Annotated[Path, typer.Option("--out", help="output folder")]
Quiet = Annotated[bool, typer.Option("--quiet", help="no progress bars")]
SamplingRate = Annotated[float, typer.Option("--sampling-rate", help="Poisson sampling rate q")]
Steps = Annotated[int, typer.Option("--steps", help="number of DP-SGD steps")]
Delta = Annotated[float, typer.Option("--delta", help="target delta")]


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _task_of(spec: Path) -> str | None:
    """The spec's ``task:`` if it can be read (errors are left to the loader to report)."""
    from privml.specfile import SpecError, read_yaml

    try:
        raw = read_yaml(spec)
    except SpecError:
        return None
    return raw.get("task") if isinstance(raw, dict) else None


def _summary(results: dict, out: Path) -> None:
    p = results.get("privacy", {})
    v = results.get("verdict", {})
    typer.echo(f"verdict: {v.get('status', '?')}: {v.get('summary', '')}")
    if results.get("task") == "tabular":
        for name, u in results.get("utility", {}).items():
            eps = p.get(name, {}).get("epsilon")
            typer.echo(
                f"{name}: accuracy={u['accuracy']:.3f} "
                + (f"epsilon={eps:.2f}" if eps is not None else "(no DP)")
            )
    elif results.get("task") == "encrypted":
        for kind, r in results.get("he", {}).items():
            typer.echo(
                f"HE {kind}: max |error| {r['max_abs_error']:.2e}, labels agree "
                f"{100 * r['label_agreement']:.2f}%, {r['ms_per_sample']:.3f} ms/sample"
            )
        if "mpc" in results:
            m = results["mpc"]
            typer.echo(
                f"MPC: accuracy {100 * m['mpc']['test_accuracy']:.2f}% vs plaintext "
                f"{100 * m['plaintext']['test_accuracy']:.2f}%, "
                f"{m['mpc']['train_seconds']:.1f} s, {m['mpc']['bytes_sent_total']:,} bytes"
            )
    elif p.get("epsilon") is not None:
        typer.echo(
            f"privacy: epsilon={p['epsilon']:.3f} delta={p['delta']:.2e} "
            f"unit={p['unit']} accountant={p['accountant']}"
        )
    typer.echo(f"results: {out / 'results.json'}")
    typer.echo(f"report:  {out / 'report.html'}")


@app.command()
def run(
    spec: Annotated[Path, typer.Argument(help="run spec (YAML)")],
    out: Out,
    quiet: Quiet = False,
    skip_bad_rows: Annotated[
        bool, typer.Option("--skip-bad-rows", help="skip malformed rows instead of stopping")
    ] = False,
    show_secrets: Annotated[
        bool,
        typer.Option(
            "--show-secrets",
            help="report phrases found by extraction and model-update attacks in clear text "
            "(default: keyed-hash tags); the run's leak check will then flag them",
        ),
    ] = False,
) -> None:
    """Run the pipeline described by SPEC and write results.json and report.html to --out."""
    from privml.governance import BudgetError
    from privml.pipeline.spec import RunSpec, load_spec
    from privml.pipeline.text_prediction import run_pipeline

    if _task_of(spec) == "federated":  # `privml fl simulate` by another name
        from privml.cli_fl import simulate_cmd

        simulate_cmd(spec, out, quiet)
        return
    try:
        parsed = load_spec(spec)
        if isinstance(parsed, RunSpec):
            if show_secrets:
                parsed.attacks.show_secrets = True
            results = run_pipeline(
                parsed,
                spec.parent,
                out,
                quiet=quiet,
                skip_bad_rows=skip_bad_rows,
                spec_label=str(spec),
            )
        elif getattr(parsed, "task", None) == "encrypted":
            from privml.pipeline.encrypted import run_encrypted

            results = run_encrypted(parsed, out, quiet=quiet, spec_label=str(spec))
        else:
            from privml.pipeline.tabular import run_tabular

            results = run_tabular(parsed, spec.parent, out, quiet=quiet, spec_label=str(spec))
    except (BudgetError, ValueError, RuntimeError) as exc:  # SpecError, DataError, MPCError
        _fail(str(exc))
    _summary(results, out)


@app.command()
def audit(
    spec: Annotated[Path, typer.Argument(help="spec naming trained models (e.g. DIR/audit.yaml)")],
    out: Out,
    quiet: Quiet = False,
) -> None:
    """Measure models that are already trained (the spec's models:) and write a report to --out.

    Only measurements run: reference models and the one-run audit's canary run are trained as
    part of measuring, the targets themselves never are. `privml run` on a tabular spec writes
    DIR/audit.yaml, which names its trained targets.
    """
    from privml.pipeline.spec import RunSpec, SpecError, load_spec
    from privml.pipeline.tabular import audit_tabular

    try:
        parsed = load_spec(spec)
        if isinstance(parsed, RunSpec):
            raise SpecError(
                f"{spec}: privml audit measures trained tabular targets (task: tabular with "
                "models:); for a text-prediction spec use privml run"
            )
        results = audit_tabular(parsed, spec.parent, out, quiet=quiet, spec_label=str(spec))
    except ValueError as exc:
        _fail(str(exc))
    _summary(results, out)


@app.command()
def demo(
    out: Out = Path("runs/demo"),
    users: Annotated[
        int, typer.Option(help="users in the synthetic corpus", min=2000)
    ] = DEMO_USERS_DEFAULT,
    seed: Annotated[int, typer.Option(help="corpus seed")] = 0,
    quiet: Quiet = False,
) -> None:
    """Generate the demo corpus into OUT/data/ and run the demo spec on it."""
    from privml.governance import BudgetError
    from privml.pipeline.demo import run_demo

    try:
        results = run_demo(out, users=users, seed=seed, quiet=quiet)
    except BudgetError as exc:
        _fail(f"{exc}\n(the demo charges its ledger at {out}/ledger.sqlite; use a new --out)")
    _summary(results, out)


@app.command("demo-data")
def demo_data(
    out: Out,
    users: Annotated[int, typer.Option(help="number of users", min=1)] = 2000,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
) -> None:
    """Write a seeded synthetic private e-mail corpus with planted PII and canaries."""
    from privml.data.demo_corpus import generate_demo_corpus

    c = generate_demo_corpus(out, users=users, seed=seed)
    typer.echo(f"wrote {c.records} records from {c.users} users to {c.corpus_path}")
    typer.echo(f"planted PII (counts): {json.dumps(c.pii_counts)}")
    typer.echo(f"labels: {c.labels_path}  canaries: {c.canaries_path}")


@accountant_app.command("epsilon")
def accountant_epsilon(
    noise_multiplier: Annotated[float, typer.Option("--noise-multiplier")],
    sampling_rate: SamplingRate,
    steps: Steps,
    delta: Delta,
    accountant: Annotated[
        str, typer.Option("--accountant", help="prv (default), pld, tight or rdp")
    ] = "prv",
) -> None:
    """Upper bound on epsilon for DP-SGD with Poisson sampling, as JSON."""
    from privml.accounting.dpsgd import epsilon_payload

    try:
        out = epsilon_payload(noise_multiplier, sampling_rate, steps, delta, accountant)
    except ValueError as exc:
        _fail(str(exc))
    typer.echo(json.dumps(out))


@accountant_app.command("calibrate")
def accountant_calibrate(
    target_epsilon: Annotated[float, typer.Option("--target-epsilon")],
    sampling_rate: SamplingRate,
    steps: Steps,
    delta: Delta,
    accountant: Annotated[
        str, typer.Option("--accountant", help="prv (default), pld, tight or rdp")
    ] = "prv",
) -> None:
    """Smallest noise multiplier whose epsilon upper bound meets --target-epsilon, as JSON."""
    from privml.accounting.dpsgd import calibration_payload

    try:
        out = calibration_payload(target_epsilon, sampling_rate, steps, delta, accountant)
    except ValueError as exc:
        _fail(str(exc))
    typer.echo(json.dumps(out))


if __name__ == "__main__":
    app()
