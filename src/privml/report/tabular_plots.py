"""Charts for the tabular (privacy–utility sweep) report, as PNG bytes.

Only model names and numbers reach a chart.
"""

from __future__ import annotations

import math

from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from privml.report.plots import _png, roc_plot_png
from privml.report.verdict import dig, num

ATTACK_COLORS = {"loss": "#8c8c8c", "lira": "#c0392b", "rmia": "#2471a3", "lira_offline": "#d68910"}


def privacy_utility_png(results: dict, names: list[str]) -> bytes:
    """Test accuracy (left) and membership TPR at 0.1% FPR (right) against ε (log axis).

    DP targets are points at their measured ε; the non-private baseline (ε = ∞) is drawn as a
    dashed horizontal line, so the gap DP leaves is read directly off the chart.
    """
    fig = Figure(figsize=(10, 4), layout="constrained")
    ax_acc, ax_tpr = fig.subplots(1, 2)
    dp_names = [n for n in names if num(dig(results, "privacy", n, "epsilon")) is not None]
    eps = [num(dig(results, "privacy", n, "epsilon")) for n in dp_names]

    def series(ax, values: list[float | None], base: float | None, color: str, name: str):
        pts = [(e, v) for e, v in zip(eps, values, strict=True) if v is not None and e]
        if pts:
            xs, ys = zip(*pts, strict=True)
            ax.plot(xs, ys, marker="o", color=color, label=f"{name} (DP-SGD)")
        if base is not None:
            ax.axhline(base, linestyle="--", color=color, alpha=0.7, label=f"{name}, baseline")

    acc = [num(dig(results, "utility", n, "accuracy")) for n in dp_names]
    series(ax_acc, acc, num(dig(results, "utility", "baseline", "accuracy")), "#1e8449", "accuracy")
    ax_acc.set_ylabel("test accuracy")
    ax_acc.set_title("Utility against ε")
    attacks = sorted(
        {a for n in names for a in (dig(results, "attacks", n, "membership") or {})},
        key=lambda a: list(ATTACK_COLORS).index(a) if a in ATTACK_COLORS else 99,
    )
    for attack in attacks:
        key = ("membership", attack, "tpr_at_0.1pct_fpr")
        vals = [num(dig(results, "attacks", n, *key)) for n in dp_names]
        base = num(dig(results, "attacks", "baseline", *key))
        series(ax_tpr, vals, base, ATTACK_COLORS.get(attack, "#7d3c98"), attack)
    ax_tpr.axhline(0.001, linestyle=":", color="#999999", label="chance (TPR = FPR)")
    ax_tpr.set_ylabel("TPR at 0.1% FPR")
    ax_tpr.set_title("Membership attack power against ε")
    ticks = sorted({round(e, 2) for e in eps if e and math.isfinite(e)})
    for ax in (ax_acc, ax_tpr):
        ax.set_xscale("log")
        if ticks:
            ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("ε (log scale; baseline = ∞)")
        ax.grid(True, which="both", alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8, loc="best")
    if all(e is None or not math.isfinite(e) for e in eps):
        ax_acc.text(0.5, 0.5, "no DP targets", transform=ax_acc.transAxes, ha="center")
    return _png(fig)


def model_roc_png(membership: dict) -> bytes:
    """One model's ROC curves, one line per attack (log-log and linear)."""
    curves = {
        attack: {**(m.get("roc") or {}), "auc": m.get("auc")}
        for attack, m in (membership or {}).items()
        if isinstance(m, dict)
    }
    return roc_plot_png(curves)
