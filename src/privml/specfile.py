"""YAML spec files validated with pydantic: reading, and error messages that name the field.

Shared by the pipeline's run specs and the technique packages' own specs (e.g. MPC parties), so
every spec error reads the same way: ``spec.yaml: invalid spec:\\n  dp.target_epsilon: must be >
0, got -1``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


class SpecError(ValueError):
    """A spec that cannot be read or does not validate. ``str()`` lists every problem."""


def _loc(parts: tuple) -> str:
    """``threat_model.access[1]``: dotted names, list positions in brackets."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(spec)"


def format_error(err: dict) -> str:
    """One pydantic error as ``field.path: what is wrong, got VALUE``."""
    loc = _loc(err["loc"])
    kind, ctx, got = err["type"], err.get("ctx", {}), err.get("input")
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        op = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<"}.get(kind, "<=")
        bound = next(iter(ctx.values()))
        if isinstance(bound, float) and bound.is_integer():
            bound = int(bound)
        return f"{loc}: must be {op} {bound}, got {got!r}"
    if kind == "missing":
        return f"{loc}: required field is missing"
    if kind == "extra_forbidden":
        return f"{loc}: unknown field"
    if kind == "value_error":
        return f"{loc}: {str(ctx.get('error', err['msg']))}"
    if kind == "literal_error":
        return f"{loc}: must be one of {ctx.get('expected')}, got {got!r}"
    if kind == "too_short":
        return f"{loc}: must have at least {ctx.get('min_length')} item(s), got {got!r}"
    return f"{loc}: {err['msg'].rstrip('.').lower()}, got {got!r}"


def validate(model: type[M], raw: Any, source: str) -> M:
    """``model`` from a parsed YAML mapping, or SpecError listing every problem."""
    if not isinstance(raw, dict):
        raise SpecError(f"{source}: the spec must be a YAML mapping, got {type(raw).__name__}")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        lines = [format_error(e) for e in exc.errors()]
        raise SpecError(f"{source}: invalid spec:\n  " + "\n  ".join(lines)) from None


def read_yaml(path: str | Path) -> Any:
    """The parsed YAML of ``path``; SpecError names the file (and line) on any problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"{path}: spec file not found") from None
    except UnicodeDecodeError as exc:
        raise SpecError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise SpecError(f"{path}{where}: invalid YAML: {getattr(exc, 'problem', exc)}") from None
