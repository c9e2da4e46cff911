"""`privml scrub ...`: PII detection and replacement from the command line.

``privml scrub IN --out OUT`` scrubs a file (the ``run`` command is the group's default: any
first argument that is not a command name is taken as ``run``'s input, so ``privml scrub run IN``
works too, and an input file literally named ``eval`` needs ``privml scrub run eval``).
``privml scrub eval LABELED`` scores the scrubber. Add a command with ``@scrub_app.command``:
the default-command rule picks up its name automatically.

Parses arguments, calls ``privml.scrub`` and prints; nothing more. The key is read from
``--key-file`` or ``$PRIVML_SCRUB_KEY`` (never a command-line value: those end up in shell
history and process lists) and is never printed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

KEY_ENV = "PRIVML_SCRUB_KEY"


class DefaultRunGroup(TyperGroup):
    """A group whose first argument, if not a command name or ``--help``, goes to ``run``."""

    default_command = "run"

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # noqa: D102
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


scrub_app = typer.Typer(
    cls=DefaultRunGroup,
    help="Find PII in text files and replace it (privml scrub IN --out OUT), or score the "
    "detector on labeled data (privml scrub eval LABELED).",
    no_args_is_help=True,
)

Quiet = Annotated[bool, typer.Option("--quiet", help="no progress messages")]
Entities = Annotated[
    list[str] | None,
    typer.Option("--entities", help="entity types to look for (repeat or comma-separate)"),
]
Ner = Annotated[
    bool,
    typer.Option(
        "--ner/--no-ner",
        help="also run the learned NER recognizer (PERSON, LOCATION, ORGANIZATION, ADDRESS)",
    ),
]
Threshold = Annotated[
    float | None, typer.Option("--score-threshold", help="minimum detector score (default 0.5)")
]


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _entities(values: list[str] | None) -> tuple[str, ...] | None:
    if not values:
        return None
    return tuple(e.strip() for v in values for e in v.split(",") if e.strip())


def _read_key(key_file: Path | None) -> bytes | None:
    """The key from --key-file (trailing newline dropped) or $PRIVML_SCRUB_KEY, if any."""
    if key_file is not None:
        try:
            return key_file.read_bytes().rstrip(b"\r\n")
        except OSError as e:
            _fail(f"--key-file: cannot read {key_file} ({e.strerror})")
    value = os.environ.get(KEY_ENV)
    return value.encode("utf-8") if value else None


def _operator_for(values: list[str] | None) -> tuple[tuple[str, str], ...]:
    out = []
    for v in values or ():
        typ, sep, name = v.partition("=")
        if not sep or not typ.strip() or not name.strip():
            _fail(f"--operator-for: expected TYPE=OPERATOR, got {v!r}")
        out.append((typ.strip(), name.strip()))
    return tuple(out)


@scrub_app.command("run")
def run(
    src: Annotated[Path, typer.Argument(metavar="IN", help="input file (.jsonl, .csv or .txt)")],
    out: Annotated[Path, typer.Option("--out", help="output file")],
    text_field: Annotated[
        str, typer.Option("--text-field", help="JSON field or CSV column to scrub")
    ] = "text",
    fmt: Annotated[
        str | None, typer.Option("--format", help="jsonl, csv or text (default: extension)")
    ] = None,
    operator: Annotated[
        str, typer.Option("--operator", help="tag, redact, pseudonymize or fake")
    ] = "tag",
    operator_for: Annotated[
        list[str] | None,
        typer.Option("--operator-for", help="TYPE=OPERATOR for one type (repeatable)"),
    ] = None,
    entities: Entities = None,
    score_threshold: Threshold = None,
    key_file: Annotated[
        Path | None,
        typer.Option("--key-file", help=f"file holding the HMAC key (else ${KEY_ENV})"),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="seed of the fake operator")] = 0,
    workers: Annotated[int, typer.Option("--workers", min=1, help="worker processes")] = 1,
    errors: Annotated[
        str, typer.Option("--errors", help="non-UTF-8 bytes: strict (stop) or replace (U+FFFD)")
    ] = "strict",
    summary: Annotated[
        Path | None, typer.Option("--summary", help="summary JSON (default: OUT.summary.json)")
    ] = None,
    quiet: Quiet = False,
    ner: Ner = True,
) -> None:
    """Scrub IN into --out: each detected value is replaced by its operator's output."""
    from privml.data.records import DataError
    from privml.scrub.base import DEFAULT_SCORE_THRESHOLD
    from privml.scrub.runner import ScrubConfig, scrub_file

    if errors not in ("strict", "replace"):
        _fail(f"--errors: expected strict or replace, got {errors!r}")
    config = ScrubConfig(
        entities=_entities(entities),
        score_threshold=DEFAULT_SCORE_THRESHOLD if score_threshold is None else score_threshold,
        operator=operator,
        operator_for=_operator_for(operator_for),
        key=_read_key(key_file),
        seed=seed,
        ner=ner,
    )

    def progress(n: int) -> None:
        typer.echo(f"\r{n} records", err=True, nl=False)

    try:
        result = scrub_file(
            src,
            out,
            config,
            fmt=fmt,  # type: ignore[arg-type]
            text_field=text_field,
            errors=errors,  # type: ignore[arg-type]
            workers=workers,
            summary=summary,
            progress=None if quiet else progress,
        )
    except (DataError, ValueError) as exc:
        if not quiet:
            typer.echo("", err=True)
        _fail(str(exc))
    if not quiet:
        typer.echo("", err=True)
    typer.echo(f"scrubbed {result['records']} records into {out} in {result['seconds']:.1f} s")
    typer.echo(f"replaced (counts): {json.dumps(result['counts'])}")
    if result["replaced_lines"] or result["skipped_lines"]:
        typer.echo(
            f"lines with non-UTF-8 bytes replaced: {result['replaced_lines']}; "
            f"blank lines skipped: {result['skipped_lines']}"
        )


@scrub_app.command("eval")
def eval_(
    labeled: Annotated[Path, typer.Argument(help="Presidio-style JSON or CoNLL file")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="json or conll (default: .json is json)")
    ] = None,
    entities: Entities = None,
    score_threshold: Threshold = None,
    iou: Annotated[float, typer.Option("--iou", help="minimum span IoU for a match")] = 0.5,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="first N examples")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    ner: Ner = True,
) -> None:
    """Precision, recall and F1 per entity type (same type and character IoU >= --iou)."""
    from rich.console import Console
    from rich.table import Table

    from privml.data.records import DataError
    from privml.scrub.base import DEFAULT_SCORE_THRESHOLD, make_scrubber
    from privml.scrub.evaluate import evaluate, read_labeled

    try:
        scrubber = make_scrubber(
            _entities(entities),
            DEFAULT_SCORE_THRESHOLD if score_threshold is None else score_threshold,
            ner=ner,
        )
        report = evaluate(read_labeled(labeled, fmt), scrubber, iou_threshold=iou, limit=limit)
    except (DataError, ValueError) as exc:
        _fail(str(exc))
    data = report.to_dict()
    if as_json:
        typer.echo(json.dumps(data))
        return
    t = Table(title=f"{labeled.name}: {data['examples']} examples, {data['matching']}")
    for col in ("type", "precision", "recall", "F1", "TP", "FP", "FN"):
        t.add_column(col, justify="left" if col == "type" else "right")
    rows = [*data["per_type"].items(), ("ALL (micro)", data["ALL"])]
    for name, s in rows:
        t.add_row(
            name,
            f"{s['precision']:.3f}",
            f"{s['recall']:.3f}",
            f"{s['f1']:.3f}",
            str(s["tp"]),
            str(s["fp"]),
            str(s["fn"]),
        )
    Console().print(t)
    if data["ignored_gold"]:
        typer.echo(f"gold spans not evaluated (label: count): {json.dumps(data['ignored_gold'])}")


@scrub_app.command("train-ner")
def train_ner_cmd(
    out: Annotated[Path, typer.Option("--out", help="model folder to write")] = Path(
        "src/privml/resources/ner/model"
    ),
    seed: Annotated[int, typer.Option(help="training seed (same seed, same weights)")] = 0,
    epochs: Annotated[int, typer.Option(min=1)] = 25,
    quiet: Quiet = False,
) -> None:
    """Train the NER recognizer from the CC-BY NER corpora and synthetic PII in ../shared/data.

    Reproducible from --seed; a few minutes on 2 cores. Prints held-out metrics as JSON.
    """
    from privml.scrub.ner_train import train_ner

    def progress(epoch: int, loss: float) -> None:
        if not quiet:
            typer.echo(f"epoch {epoch + 1}/{epochs}: training loss {loss:.1f}", err=True)

    try:
        metrics = train_ner(out, seed=seed, epochs=epochs, progress=progress)
    except FileNotFoundError as exc:
        _fail(
            f"{exc.filename}: training data not found (train-ner reads ../shared/data beside "
            "the repo, or the folder in $PRIVML_SHARED_DATA; the packaged model needs neither)"
        )
    except ValueError as exc:
        _fail(str(exc))
    typer.echo(json.dumps(metrics, indent=2))
