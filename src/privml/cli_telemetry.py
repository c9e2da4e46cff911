"""`privml telemetry ...`: simulate local-DP telemetry collection from the command line.

Parses arguments, calls ``privml.telemetry`` and prints; nothing more. Invalid input exits 2
with ``error: <field>: ...``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

telemetry_app = typer.Typer(
    help="Local-DP telemetry (1BitMean, dBitFlip): simulate error against ε.",
    no_args_is_help=True,
)

DEFAULT_EPSILONS = (0.5, 1.0, 2.0, 4.0)


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


@telemetry_app.callback()
def _main() -> None:
    """Local-DP telemetry (1BitMean, dBitFlip): simulate error against ε."""


@telemetry_app.command("simulate")
def simulate_cmd(
    clients: Annotated[
        list[int] | None, typer.Option("--clients", "-n", help="N clients (repeat for several)")
    ] = None,
    epsilon: Annotated[
        list[float] | None, typer.Option("--epsilon", help="ε (repeat for several)")
    ] = None,
    epsilons: Annotated[
        str | None,
        typer.Option("--epsilons", help="0.5,1,2 or log grid LOW:HIGH:COUNT (adds to --epsilon)"),
    ] = None,
    mechanism: Annotated[
        str, typer.Option("--mechanism", help="1bitmean, dbitflip or both")
    ] = "both",
    repeats: Annotated[int, typer.Option("--repeats", help="simulated collections per cell")] = 200,
    seed: Annotated[int, typer.Option("--seed", help="seed of the simulation's PRNG")] = 0,
    out: Annotated[Path, typer.Option("--out", help="folder for the JSON and PNG")] = Path(
        "runs/telemetry"
    ),
    m: Annotated[float, typer.Option("--m", help="1BitMean values lie in [0, m]")] = 100.0,
    rounding: Annotated[
        int, typer.Option("--rounding", help="α-point rounding grid size s (0: off)")
    ] = 16,
    gamma: Annotated[float, typer.Option("--gamma", help="1BitMean output perturbation")] = 0.0,
    buckets: Annotated[int, typer.Option("--buckets", help="dBitFlip buckets k")] = 16,
    sample: Annotated[int, typer.Option("--sample", help="dBitFlip buckets per client d")] = 4,
) -> None:
    """Simulate N clients reporting once per ε; print observed RMSE against the theory."""
    from privml.telemetry.plot import write_results
    from privml.telemetry.simulate import (
        MECHANISMS,
        SimulationConfig,
        parse_epsilons,
        simulate,
        summary,
    )

    try:
        eps = list(epsilon or []) + (parse_epsilons(epsilons) if epsilons is not None else [])
        mechs = MECHANISMS if mechanism == "both" else (mechanism,)
        if mechanism not in (*MECHANISMS, "both"):
            raise ValueError(f"mechanism: must be 1bitmean, dbitflip or both, got {mechanism!r}")
        if rounding < 0:
            raise ValueError(f"rounding: must be an integer >= 0, got {rounding}")
        config = SimulationConfig(
            clients=tuple(clients or (10_000,)),
            epsilons=tuple(sorted(set(eps or DEFAULT_EPSILONS))),
            mechanisms=tuple(mechs),
            repeats=repeats,
            seed=seed,
            m=m,
            s=rounding or None,
            gamma=gamma,
            k=buckets,
            d=sample,
        )
        rows = simulate(config)
    except ValueError as exc:
        _fail(str(exc))
    header = f"{'mechanism':<9} {'ε':>6} {'N':>9} {'RMSE':>11} {'theory std':>11} {'ratio':>6}"
    typer.echo(header + f" {'worst-case std':>14}")
    for r in rows:
        typer.echo(
            f"{r.mechanism:<9} {r.epsilon:>6.3g} {r.clients:>9} {r.rmse:>11.4g} "
            f"{r.theory_std:>11.4g} {r.ratio:>6.3f} {r.worst_case_std:>14.4g}"
        )
    s = summary(rows)
    typer.echo(
        f"RMSE / theory std in [{s['min_ratio']:.3f}, {s['max_ratio']:.3f}] over "
        f"{repeats} repeats (sampling noise about ±{(2 * repeats) ** -0.5:.1%} per cell); "
        f"1BitMean RMSE is of the mean (range [0, {m:g}]), dBitFlip's per bucket fraction"
    )
    json_path, png_path = write_results(rows, config, out)
    typer.echo(f"wrote {json_path} and {png_path}")


if __name__ == "__main__":
    telemetry_app()
