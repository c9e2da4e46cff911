"""The public corpus shipped with privml (see resources/public/SOURCES.md)."""

from __future__ import annotations

from importlib import resources

PUBLIC_FILES = {
    "tinyshakespeare": "tinyshakespeare.txt",
    "wikitext2": ("wikitext2_valid.txt", "wikitext2_test.txt"),
}


def public_lines(names: tuple[str, ...] = ("wikitext2", "tinyshakespeare")) -> list[str]:
    """Non-empty lines of the named public corpora (WikiText headings dropped)."""
    root = resources.files("privml") / "resources" / "public"
    out: list[str] = []
    for name in names:
        if name not in PUBLIC_FILES:
            raise ValueError(f"unknown public corpus {name!r}; choose from {sorted(PUBLIC_FILES)}")
        files = PUBLIC_FILES[name]
        for fname in (files,) if isinstance(files, str) else files:
            for line in (root / fname).read_text(encoding="utf-8").splitlines():
                line = line.strip()
                if line and not line.startswith("="):
                    out.append(line)
    return out
