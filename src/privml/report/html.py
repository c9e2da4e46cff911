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
from privml.report.view import build_view

TEMPLATE_DIR = Path(__file__).parent / "templates"
TEMPLATE_NAME = "report.html.j2"
REPORT_FILENAME = "report.html"


def environment() -> jinja2.Environment:
    """The report templates' Jinja2 environment: autoescaping on, undefined names are errors."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_report(results: dict) -> str:
    """The full, self-contained HTML report for one run's results dict."""
    return environment().get_template(TEMPLATE_NAME).render(**build_view(results))


def write_report(results: dict, out_dir: str | Path) -> Path:
    """Render and atomically write ``out_dir/report.html``; returns its path."""
    return write_text(Path(out_dir) / REPORT_FILENAME, render_report(results))
