"""Reading private records from JSONL: one ``{"user_id": ..., "text": ...}`` object per line.

Error messages name the file, the 1-based line and the problem, never the row's content: the
rows are private data and error messages end up in logs, terminals and bug reports.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

MAX_REASONS = 20  # skipped-row messages kept in ReadResult.skipped_reasons

_JSON_TYPE_NAMES = {
    dict: "object",
    list: "array",
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    type(None): "null",
}


@dataclass(frozen=True)
class Record:
    user_id: str
    text: str
    line: int  # 1-based line number in the source file


class DataError(ValueError):
    """A problem with an input data file; ``str(err)`` is ``"{path}:{line}: {reason}"``.

    ``path``, ``line`` (``None`` for whole-file problems) and ``reason`` are also attributes.
    """

    def __init__(self, path: str | Path, line: int | None, reason: str):
        self.path = str(path)
        self.line = line
        self.reason = reason
        where = self.path if line is None else f"{self.path}:{line}"
        super().__init__(f"{where}: {reason}")


@dataclass
class ReadResult:
    records: list[Record]
    skipped: int = 0  # bad rows skipped (only when skip_bad_rows)
    skipped_reasons: list[str] = field(default_factory=list)  # first MAX_REASONS messages

    @property
    def users(self) -> int:
        """Number of distinct user ids."""
        return len({r.user_id for r in self.records})


def _json_type(value: object) -> str:
    return _JSON_TYPE_NAMES.get(type(value), type(value).__name__)


def _parse_line(raw: bytes, line_no: int, text_field: str, user_field: str) -> Record | str:
    """A Record, or the reason (without any row content) why the line is bad."""
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return f"not valid UTF-8 (bad byte at offset {e.start} of the line)"
    if line_no == 1 and decoded.startswith("\ufeff"):  # tolerate a UTF-8 byte-order mark
        decoded = decoded[1:]
    try:
        row = json.loads(decoded)
    except json.JSONDecodeError as e:
        return f"invalid JSON: {e.msg} (column {e.colno})"
    except RecursionError:
        return "invalid JSON: nested too deeply"
    if not isinstance(row, dict):
        return f"row is not a JSON object (got {_json_type(row)})"

    if user_field not in row:
        return f"missing field {user_field!r}"
    user = row[user_field]
    if isinstance(user, bool) or not isinstance(user, str | int):
        return f"field {user_field!r} must be a string or an integer (got {_json_type(user)})"
    user = str(user)
    if not user.strip():
        return f"field {user_field!r} is empty"

    if text_field not in row:
        return f"missing field {text_field!r}"
    text = row[text_field]
    if not isinstance(text, str):
        return f"field {text_field!r} must be a string (got {_json_type(text)})"
    if not text.strip():
        return f"field {text_field!r} is empty or only whitespace"
    return Record(user_id=user, text=text, line=line_no)


def read_records(
    path: str | Path,
    *,
    skip_bad_rows: bool = False,
    text_field: str = "text",
    user_field: str = "user_id",
) -> ReadResult:
    """Read ``{user_field: str|int, text_field: str}`` rows from a JSONL file.

    Blank lines are ignored. The first bad row raises :class:`DataError` unless
    ``skip_bad_rows``, in which case bad rows are counted and the first few reasons kept.
    A missing or unreadable file, or a file without any good row, raises :class:`DataError`.
    """
    records: list[Record] = []
    skipped = 0
    reasons: list[str] = []
    try:
        fh = open(path, "rb")  # closed by the `with fh` below
    except FileNotFoundError:
        raise DataError(path, None, "file not found") from None
    except IsADirectoryError:
        raise DataError(path, None, "is a directory, expected a JSONL file") from None
    except OSError as e:
        raise DataError(path, None, f"cannot open file ({e.strerror})") from None
    with fh:
        try:
            for line_no, raw in enumerate(fh, start=1):
                raw = raw.rstrip(b"\r\n")
                if not raw.strip():
                    continue
                parsed = _parse_line(raw, line_no, text_field, user_field)
                if isinstance(parsed, Record):
                    records.append(parsed)
                    continue
                err = DataError(path, line_no, parsed)
                if not skip_bad_rows:
                    raise err
                skipped += 1
                if len(reasons) < MAX_REASONS:
                    reasons.append(str(err))
        except OSError as e:
            raise DataError(path, None, f"cannot read file ({e.strerror})") from None

    if not records:
        if skipped:
            raise DataError(path, None, f"no records (all {skipped} non-blank rows were bad)")
        raise DataError(path, None, "no records (the file is empty)")
    return ReadResult(records=records, skipped=skipped, skipped_reasons=reasons)
