"""privml.report: the run report a privacy reviewer reads and signs.

- ``make_verdict(results)``: pass / warn / fail status, plain-language summary, and the checks.
- ``render_report(results)``: one self-contained HTML page (inline CSS, embedded PNG charts).
- ``write_report(results, out_dir)``: writes ``out_dir/report.html`` atomically.
"""

from privml.report.html import render_report, write_report
from privml.report.verdict import make_verdict

__all__ = ["make_verdict", "render_report", "write_report"]
