"""The simulation's chart: estimation error against ε, observed (dots) and theory (lines).

Rendered off-screen with Agg on a bare ``Figure`` (nothing left in pyplot's state) and
written atomically, like privml's report charts.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import NullFormatter  # noqa: E402

from privml.atomic import write_bytes, write_json  # noqa: E402
from privml.telemetry.simulate import (  # noqa: E402
    SimulationConfig,
    SimulationRow,
    config_dict,
    summary,
)

_TITLES = {"1bitmean": "1BitMean: error of the mean", "dbitflip": "dBitFlip: error per bucket"}


def error_figure(rows: Sequence[SimulationRow]) -> Figure:
    """One log-log panel per mechanism; one colour per N."""
    mechanisms = list(dict.fromkeys(r.mechanism for r in rows))
    fig = Figure(figsize=(5.2 * len(mechanisms), 4.0))
    for i, mech in enumerate(mechanisms):
        ax = fig.add_subplot(1, len(mechanisms), i + 1)
        mine = [r for r in rows if r.mechanism == mech]
        for j, n in enumerate(sorted({r.clients for r in mine})):
            cell = sorted((r for r in mine if r.clients == n), key=lambda r: r.epsilon)
            eps = [r.epsilon for r in cell]
            color = f"C{j}"
            ax.plot(eps, [r.theory_std for r in cell], "--", color=color, lw=1.2)
            ax.plot(eps, [r.rmse for r in cell], "o", color=color, label=f"N = {n:,}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ticks = sorted({r.epsilon for r in mine})
        ax.set_xticks(ticks, [f"{e:.3g}" for e in ticks])
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("ε")
        ax.set_ylabel("RMSE (dots) / theoretical std (dashes)")
        ax.set_title(_TITLES.get(mech, mech), fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def write_error_plot(rows: Sequence[SimulationRow], path: str | Path) -> Path:
    """Save the chart as PNG at ``path`` atomically."""
    buf = io.BytesIO()
    error_figure(rows).savefig(buf, format="png", dpi=110, metadata={"Software": None})
    return write_bytes(path, buf.getvalue())


def write_results(
    rows: Sequence[SimulationRow], config: SimulationConfig, out: str | Path
) -> tuple[Path, Path]:
    """``out/telemetry_simulation.json`` (config, rows, summary, formulas) and the PNG chart."""
    out = Path(out)
    data = {
        "config": config_dict(config),
        "rows": [r.to_dict() for r in rows],
        "summary": summary(rows),
        "formulas": FORMULAS,
    }
    json_path = write_json(out / "telemetry_simulation.json", data)
    return json_path, write_error_plot(rows, out / "telemetry_error.png")


FORMULAS = {
    "1bitmean": "Var = m^2/(n^2 t^2 (1-2g)^2) * sum_i q_i(1-q_i), t = tanh(eps/2), "
    "q_i = g + (1-2g)((1-t)/2 + t x_i/m); unchanged by alpha-point rounding",
    "dbitflip": "Var(h(v)) = k s2/(n d) + f_v (k/d - 1)/n, s2 = e^(eps/2)/(e^(eps/2)-1)^2; "
    "rmse and theory_std are per bucket (root of the mean over buckets)",
}
