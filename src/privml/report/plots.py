"""Charts for the run report, rendered off-screen to PNG bytes.

Uses the non-interactive "Agg" backend (no display on the machines that run privml) and builds
``matplotlib.figure.Figure`` objects directly, so nothing is left in pyplot's global figure list.
Only variant names and numbers reach a chart; never canary text.
"""

from __future__ import annotations

import io
import math
from typing import Any

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402

from privml.report.verdict import dig, label, num  # noqa: E402

VARIANT_ORDER = ("public_only", "baseline", "private", "dp_only", "scrub_only")
VARIANT_COLORS = {
    "public_only": "#8c8c8c",
    "baseline": "#c0392b",
    "private": "#1e8449",
    "dp_only": "#2471a3",
    "scrub_only": "#d68910",
}
_FALLBACK_COLORS = ("#7d3c98", "#117a65", "#a04000", "#566573")
REPETITION_LEVELS = (1, 4, 16)
DPI = 110


def ordered_variants(keys: Any) -> list[str]:
    """Known variants in a fixed order, then any others alphabetically."""
    keys = [k for k in keys]
    known = [v for v in VARIANT_ORDER if v in keys]
    return known + sorted((k for k in keys if k not in VARIANT_ORDER), key=str)


def repetition_levels(attacks: Any) -> list[int]:
    """Repetition counts N with a ``mean_N`` exposure in any variant; (1, 4, 16) when none."""
    levels = set()
    for attack in (attacks or {}).values() if isinstance(attacks, dict) else ():
        for key in dig(attack, "exposure") or {}:
            if isinstance(key, str) and key.startswith("mean_") and key[5:].isdigit():
                levels.add(int(key[5:]))
    return sorted(levels) or list(REPETITION_LEVELS)


def _color(variant: str, index: int) -> str:
    return VARIANT_COLORS.get(variant, _FALLBACK_COLORS[index % len(_FALLBACK_COLORS)])


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def _no_data(ax: Any, text: str = "no data") -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#666666")


def _legend_or_no_data(ax: Any, has_data: Any, loc: str) -> None:
    if has_data:
        ax.legend(loc=loc, fontsize=8)
    else:
        _no_data(ax)


def _finite_pairs(xs: Any, ys: Any) -> list[tuple[float, float]]:
    if not isinstance(xs, list | tuple) or not isinstance(ys, list | tuple):
        return []
    pairs = []
    for x, y in zip(xs, ys, strict=False):
        x, y = num(x), num(y)
        if x is not None and y is not None and math.isfinite(x) and math.isfinite(y):
            pairs.append((x, y))
    return pairs


def roc_plot_png(curves: dict[str, dict]) -> bytes:
    """Membership-inference ROC curves, log-log (left) and linear (right), one line per variant.

    ``curves``: ``{variant: {"fpr": [...], "tpr": [...], "auc": float}}``.
    """
    curves = curves if isinstance(curves, dict) else {}
    fig = Figure(figsize=(10, 4.2), layout="constrained")
    ax_log, ax_lin = fig.subplots(1, 2)
    drawn = 0
    min_fpr = 1.0
    for i, variant in enumerate(ordered_variants(curves)):
        pairs = _finite_pairs(dig(curves, variant, "fpr"), dig(curves, variant, "tpr"))
        if not pairs:
            continue
        auc = num(dig(curves, variant, "auc"))
        name = label(variant) + (f" (AUC {auc:.3f})" if auc is not None else "")
        fpr, tpr = zip(*pairs, strict=True)
        color = _color(variant, i)
        ax_lin.plot(fpr, tpr, color=color, label=name, linewidth=1.6)
        positive = [(x, y) for x, y in pairs if x > 0 and y > 0]
        if positive:
            lx, ly = zip(*positive, strict=True)
            ax_log.plot(lx, ly, color=color, label=name, linewidth=1.6)
            min_fpr = min(min_fpr, min(lx))
        drawn += 1

    lo = max(min(min_fpr, 1e-3), 1e-6)
    ax_log.plot([lo, 1], [lo, 1], linestyle=":", color="#999999", label="chance")
    ax_log.set_xscale("log")
    ax_log.set_yscale("log")
    ax_log.set_xlim(lo, 1)
    ax_log.set_ylim(lo, 1.05)
    ax_log.set_title("ROC, log-log (the low-FPR region matters)")
    ax_lin.plot([0, 1], [0, 1], linestyle=":", color="#999999", label="chance")
    ax_lin.set_xlim(0, 1)
    ax_lin.set_ylim(0, 1)
    ax_lin.set_title("ROC, linear")
    for ax in (ax_log, ax_lin):
        ax.set_xlabel("false positive rate")
        ax.set_ylabel("true positive rate")
        ax.grid(True, which="major", alpha=0.3)
        _legend_or_no_data(ax, drawn, "lower right")
    return _png(fig)


def exposure_chart_png(attacks: dict, log2_space: float) -> bytes:
    """Grouped bars: per variant, mean exposure of canaries repeated 1, 4 and 16 times.

    (Whatever ``mean_N`` levels the results hold are drawn; 1, 4 and 16 is the standard set.)

    Dashed lines at log2|R| (the secret is the model's single most likely candidate) and at
    log2|R|/2 (the secret ranks within the top sqrt(|R|) candidates).
    """
    attacks = attacks if isinstance(attacks, dict) else {}
    levels = repetition_levels(attacks)
    variants = [
        v
        for v in ordered_variants(attacks)
        if any(num(dig(attacks, v, "exposure", f"mean_{r}")) is not None for r in levels)
    ]
    fig = Figure(figsize=(8, 4.2), layout="constrained")
    ax = fig.subplots()
    width = 0.8 / len(levels)
    blues = matplotlib.colormaps["Blues"]
    shades = [blues(0.3 + 0.65 * j / max(1, len(levels) - 1)) for j in range(len(levels))]
    for j, reps in enumerate(levels):
        xs, heights = [], []
        for i, variant in enumerate(variants):
            value = num(dig(attacks, variant, "exposure", f"mean_{reps}"))
            if value is not None and math.isfinite(value):
                xs.append(i + (j - (len(levels) - 1) / 2) * width)
                heights.append(value)
        ax.bar(xs, heights, width=width, color=shades[j], label=f"{reps}x repeated")
        for x, h in zip(xs, heights, strict=True):
            ax.annotate(f"{h:.1f}", (x, h), ha="center", va="bottom", fontsize=7)
    space = num(log2_space)
    if space is not None and math.isfinite(space) and space > 0:
        lines = (
            (space, f"log2|R| = {space:.1f} (fully memorised)", "#c0392b"),
            (space / 2, f"log2|R|/2 = {space / 2:.1f}", "#d68910"),
        )
        for y, _, color in lines:
            ax.axhline(y, linestyle="--", color=color, linewidth=1.2)
        for y, text, color in lines:
            ax.annotate(
                text,
                (0, y),
                xycoords=("axes fraction", "data"),
                xytext=(4, 3),
                textcoords="offset points",
                fontsize=8,
                color=color,
            )
        ax.set_ylim(0, space * 1.12)
    ax.set_xticks(range(len(variants)), [label(v) for v in variants])
    ax.set_ylabel("mean exposure (bits)")
    ax.set_title("Canary exposure by number of repetitions in training data")
    ax.grid(True, axis="y", alpha=0.3)
    _legend_or_no_data(ax, variants, "upper right")
    return _png(fig)


def utility_chart_png(utility: dict) -> bytes:
    """Next-word accuracy (left) and perplexity (right) per variant, as plain bars (linear axes)."""
    utility = utility if isinstance(utility, dict) else {}
    variants = ordered_variants(utility)
    fig = Figure(figsize=(9, 3.8), layout="constrained")
    ax_acc, ax_ppl = fig.subplots(1, 2)
    panels = (
        (ax_acc, "next_word_accuracy", "next-word accuracy (%)", 100.0, "{:.1f}%"),
        (ax_ppl, "perplexity", "perplexity (lower is better)", 1.0, "{:.0f}"),
    )
    for ax, key, title, scale, fmt in panels:
        names, heights, colors = [], [], []
        for i, variant in enumerate(variants):
            value = num(dig(utility, variant, key))
            if value is None or not math.isfinite(value):
                continue
            names.append(label(variant))
            heights.append(value * scale)
            colors.append(_color(variant, i))
        if heights:
            bars = ax.bar(range(len(heights)), heights, color=colors)
            ax.set_xticks(range(len(heights)), names, rotation=15)
            for bar, h in zip(bars, heights, strict=True):
                ax.annotate(
                    fmt.format(h),
                    (bar.get_x() + bar.get_width() / 2, h),
                    ha="center",
                    va="bottom",
                    fontsize=8,
                )
            ax.margins(y=0.15)
        else:
            _no_data(ax)
        ax.set_title(title)
        ax.grid(True, axis="y", alpha=0.3)
    return _png(fig)
