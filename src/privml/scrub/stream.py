"""Reading and writing record files line by line: JSONL, CSV and plain text.

Memory stays bounded by the longest record (a line of several MB is fine): files are read in
binary, one physical line at a time, and decoded here so that a bad byte is reported with its
line. Error messages are ``file:line: reason`` (``privml.data.records.DataError``) and never
contain the record's content. Output rows are produced as encoded bytes, ready to be written.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

from privml.data.records import DataError

Format = Literal["jsonl", "csv", "text"]
FORMATS: tuple[str, ...] = ("jsonl", "csv", "text")
ErrorMode = Literal["strict", "replace"]
_EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".txt": "text"}
CSV_FIELD_SIZE_LIMIT = 2**31 - 1  # a cell may hold a whole document

csv.field_size_limit(CSV_FIELD_SIZE_LIMIT)


def detect_format(path: str | Path) -> Format:
    """The format implied by the file extension (``.jsonl``, ``.ndjson``, ``.csv``, ``.txt``)."""
    fmt = _EXTENSIONS.get(Path(path).suffix.lower())
    if fmt is None:
        raise ValueError(f"{path}: cannot tell the format from the extension; pass --format")
    return fmt  # type: ignore[return-value]


@dataclass
class ReadStats:
    """What the reader saw: records read, blank lines skipped, lines with replaced bytes."""

    records: int = 0
    skipped_lines: int = 0
    replaced_lines: int = 0


@dataclass
class Item:
    """One record: its text and how to rebuild the output row around the scrubbed text."""

    line: int
    text: str
    row: Any = None  # the JSON object or CSV row the text came from
    extra: dict[str, Any] = field(default_factory=dict)


class Decoder:
    """Decodes physical lines with ``errors``, counting replaced lines (strict: stop)."""

    def __init__(self, path: str | Path, errors: ErrorMode, stats: ReadStats) -> None:
        if errors not in ("strict", "replace"):
            raise ValueError(f"errors must be 'strict' or 'replace', got {errors!r}")
        self.path, self.errors, self.stats = str(path), errors, stats

    def __call__(self, raw: bytes, line_no: int) -> str:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            if self.errors == "strict":
                raise DataError(
                    self.path,
                    line_no,
                    f"not UTF-8 (bad byte at offset {e.start} of the line); "
                    "use --errors replace to substitute U+FFFD",
                ) from None
            text = raw.decode("utf-8", errors="replace")
            self.stats.replaced_lines += 1
        if line_no == 1 and text.startswith("\ufeff"):  # tolerate a byte-order mark
            text = text[1:]
        return text


def _lines(fh: BinaryIO, decode: Decoder) -> Iterator[tuple[int, str]]:
    for line_no, raw in enumerate(fh, start=1):
        yield line_no, decode(raw, line_no)


def _json_type(value: object) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


def read_jsonl(fh: BinaryIO, decode: Decoder, text_field: str) -> Iterator[Item]:
    """One JSON object per line; ``text_field`` must be a string. Blank lines are skipped."""
    for line_no, line in _lines(fh, decode):
        if not line.strip():
            decode.stats.skipped_lines += 1
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(
                decode.path, line_no, f"invalid JSON: {e.msg} (column {e.colno})"
            ) from None
        except RecursionError:
            raise DataError(decode.path, line_no, "invalid JSON: nested too deeply") from None
        if not isinstance(row, dict):
            raise DataError(decode.path, line_no, f"not a JSON object (got {_json_type(row)})")
        if text_field not in row:
            raise DataError(decode.path, line_no, f"missing field {text_field!r}")
        value = row[text_field]
        if not isinstance(value, str):
            reason = f"field {text_field!r} must be a string (got {_json_type(value)})"
            raise DataError(decode.path, line_no, reason)
        decode.stats.records += 1
        yield Item(line=line_no, text=value, row=row)


def read_csv(fh: BinaryIO, decode: Decoder, text_field: str) -> Iterator[Item]:
    """A CSV file with a header row; the column ``text_field`` is scrubbed, the rest kept."""
    lines = (line for _, line in _lines(fh, decode))
    reader = csv.reader(lines)
    try:
        header = next(reader, None)
        if header is None:
            return
        if text_field not in header:
            raise DataError(decode.path, 1, f"missing field {text_field!r} (no such column)")
        col = header.index(text_field)
        yield Item(line=1, text="", row=header, extra={"header": True})
        for row in reader:
            if not row:
                decode.stats.skipped_lines += 1
                continue
            if col >= len(row):
                raise DataError(decode.path, reader.line_num, f"missing field {text_field!r}")
            decode.stats.records += 1
            yield Item(line=reader.line_num, text=row[col], row=row, extra={"col": col})
    except csv.Error as e:
        raise DataError(decode.path, reader.line_num, f"invalid CSV: {e}") from None


def read_text(fh: BinaryIO, decode: Decoder) -> Iterator[Item]:
    """Every line is a record (blank lines too, so the output keeps the line numbering)."""
    for line_no, line in _lines(fh, decode):
        decode.stats.records += 1
        yield Item(line=line_no, text=line.rstrip("\r\n"))


def read_items(
    fh: BinaryIO, path: str | Path, fmt: Format, text_field: str, errors: ErrorMode
) -> tuple[Iterator[Item], ReadStats]:
    """The records of an open binary file, and the stats the iterator fills in as it goes."""
    stats = ReadStats()
    decode = Decoder(path, errors, stats)
    if fmt == "jsonl":
        return read_jsonl(fh, decode, text_field), stats
    if fmt == "csv":
        return read_csv(fh, decode, text_field), stats
    if fmt == "text":
        return read_text(fh, decode), stats
    raise ValueError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")


def render(item: Item, scrubbed: str, fmt: Format, text_field: str) -> bytes:
    """The output line for ``item`` with its text replaced by ``scrubbed`` (UTF-8, ``\\n``)."""
    if fmt == "jsonl":
        row = dict(item.row)
        row[text_field] = scrubbed
        return (json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8")
    if fmt == "csv":
        row = list(item.row)
        if not item.extra.get("header"):
            row[item.extra["col"]] = scrubbed
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(row)
        return buf.getvalue().encode("utf-8")
    return (scrubbed + "\n").encode("utf-8")
