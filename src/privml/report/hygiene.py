"""Artifact hygiene: prove that no run artifact contains a planted secret in clear text.

Every planted PII value and canary secret is searched for in every artifact, byte for byte
(binary checkpoints included), case-insensitively. The values are compiled into one trie-shaped
regular expression so a scan costs one pass per file whatever the number of values.
Findings are reported by type and artifact only; the value itself is never written out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path


def planted_secrets(pii_labels: Path | None, canaries: Path | None) -> dict[str, str]:
    """Map each planted value to its type, from ``pii_labels.jsonl`` and ``canaries.json``."""
    out: dict[str, str] = {}
    if pii_labels and pii_labels.exists():
        with pii_labels.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    row = json.loads(line)
                    out[str(row["value"])] = str(row["type"])
    if canaries and canaries.exists():
        for c in json.loads(canaries.read_text(encoding="utf-8")):
            secret = str(c["secret"])
            out[secret] = "CANARY"
            out[secret.replace(" ", "")] = "CANARY"
    return {k: v for k, v in out.items() if len(k) >= 4}  # shorter strings match by chance


def _trie_pattern(words: Iterable[bytes]) -> bytes:
    trie: dict = {}
    for w in words:
        node = trie
        for ch in w:
            node = node.setdefault(ch, {})
        node[None] = {}

    def emit(node: dict) -> bytes:
        end = None in node
        branches = [
            re.escape(bytes([ch])) + emit(child) for ch, child in node.items() if ch is not None
        ]
        if not branches:
            return b""
        body = branches[0] if len(branches) == 1 else b"(?:" + b"|".join(branches) + b")"
        if end:
            body = b"(?:" + body + b")?"
        return body

    return emit(trie)


def _leaks(blob: bytes, name: str, lowered: dict[bytes, str]) -> list[dict]:
    """Leaks of the (lower-cased, UTF-8) values in ``lowered`` found in ``blob``."""
    if not lowered:
        return []
    regex = re.compile(_trie_pattern(lowered), re.IGNORECASE)
    found = {m.group(0).lower() for m in regex.finditer(blob)}
    # the trie may match a prefix of a longer value only; keep whole values
    return [{"artifact": name, "type": lowered[v]} for v in sorted(found) if v in lowered]


def _lowered(secrets: dict[str, str]) -> dict[bytes, str]:
    return {k.lower().encode("utf-8"): v for k, v in secrets.items()}


def scan_artifacts(paths: Iterable[Path], secrets: dict[str, str], root: Path) -> dict:
    """Search ``paths`` for any of ``secrets``; report leaks without the values."""
    paths = sorted(p for p in paths if p.is_file())
    lowered = _lowered(secrets)
    leaks = [x for p in paths for x in _leaks(p.read_bytes(), str(p.relative_to(root)), lowered)]
    return {
        "passed": not leaks,
        "artifacts_checked": len(paths),
        "values_checked": len(lowered),
        "leaks": leaks,
    }


def scan_text(name: str, text: str, secrets: dict[str, str]) -> list[dict]:
    """Leaks of ``secrets`` in an in-memory artifact (used before writing it)."""
    return _leaks(text.encode("utf-8"), name, _lowered(secrets))
