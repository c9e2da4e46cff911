"""Render the run report: one self-contained HTML file a privacy reviewer can read offline and sign.

What the template shows is built by :func:`privml.report.view.build_view` as pre-formatted strings
from whitelisted keys only, so secret text in the results dict never reaches the page. Charts are
embedded as base64 PNG data URIs, CSS is inline, and Jinja2 autoescaping is on, so the file needs
no network and cannot run injected markup.
"""

from __future__ import annotations

from pathlib import Path

import jinja2

from privml.atomic import write_text

# Re-exported: the formatting helpers and view builders were defined here before the split.
from privml.report.formatting import (  # noqa: F401
    DASH,
    _special,
    fmt_bool,
    fmt_change,
    fmt_float,
    fmt_g,
    fmt_int,
    fmt_pct,
    fmt_seconds,
    fmt_text,
)
from privml.report.view import (  # noqa: F401
    ACCOUNTANT_NAMES,
    STATUS_TEXT,
    UNIT_EXPLANATIONS,
    VARIANT_DESCRIPTIONS,
    _attack_rows,
    _attacks_view,
    _canary_table,
    _chart,
    _data_view,
    _dict,
    _hygiene_view,
    _log2_space,
    _model_view,
    _privacy_view,
    _run_view,
    _training_view,
    _utility_view,
    build_view,
    log,
)

TEMPLATE_DIR = Path(__file__).parent / "templates"
TEMPLATE_NAME = "report.html.j2"
REPORT_FILENAME = "report.html"


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_report(results: dict) -> str:
    """The full, self-contained HTML report for one run's results dict."""
    return _environment().get_template(TEMPLATE_NAME).render(**build_view(results))


def write_report(results: dict, out_dir: str | Path) -> Path:
    """Render and atomically write ``out_dir/report.html``; returns its path."""
    return write_text(Path(out_dir) / REPORT_FILENAME, render_report(results))
