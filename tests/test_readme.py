"""The README's Python examples run as written (docs that match the code).

Every ```python block of the attack-suite section is executed in order in one namespace, the
way a reader pastes them. (Other sections' snippets are fragments that assume a caller's data.)
"""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run(capsys):
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Measuring leakage") : text.index("### The tabular scenario")]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) >= 3
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)  # noqa: S102 - our own docs
    out = capsys.readouterr().out
    assert "lira" in out and "rmia" in out and "audit: epsilon >=" in out
    assert namespace["audit"]["epsilon_lower_bound"] < 2.0  # DP-SGD at ε = 2 is not refuted
    assert namespace["update"]["top_phrases"][0]["phrase"].startswith("hmac:")
