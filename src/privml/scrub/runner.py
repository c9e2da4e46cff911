"""Scrub a whole file: read records, detect and replace PII, write the output atomically.

Workers: with ``workers > 1``, a ``spawn`` pool of ``workers - 1`` processes and this process
scrub chunks of records; each builds its scrubber and operators once (pool initializer). Chunks
are handed out in order and only a few are in flight, so output order is the input order and
memory stays bounded (``Pool.imap`` would read the whole input ahead). ``workers == 1`` runs
in-process with the same code. The output and the summary go to a temporary file renamed on
success: an error leaves no half-written file. The summary holds counts, never values, and
never the key or the seed.
"""

from __future__ import annotations

import multiprocessing
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.pool import AsyncResult
from pathlib import Path
from typing import Any

from privml.atomic import atomic_open, write_json
from privml.data.records import DataError
from privml.scrub.base import (
    DEFAULT_SCORE_THRESHOLD,
    ENTITY_TYPES,
    analyze_many,
    make_scrubber,
)
from privml.scrub.operators import apply_operators, make_operator, make_operators
from privml.scrub.stream import ErrorMode, Format, Item, detect_format, read_items, render

CHUNK_RECORDS = 256
CHUNK_CHARS = 1_000_000


@dataclass(frozen=True)
class ScrubConfig:
    """How to detect and replace: everything a worker needs to build its own pipeline."""

    entities: tuple[str, ...] | None = None
    score_threshold: float = DEFAULT_SCORE_THRESHOLD
    operator: str = "tag"
    operator_for: tuple[tuple[str, str], ...] = ()
    key: bytes | None = field(default=None, repr=False)
    seed: int = 0
    ner: bool = True  # the learned NER recognizer (PERSON, LOCATION, ORGANIZATION, ADDRESS)

    def operator_names(self) -> dict[str, str]:
        """``{"default": name, TYPE: name, ...}``: what the summary reports."""
        return {"default": self.operator, **dict(self.operator_for)}

    def validate(self) -> None:
        """Raise ``ValueError`` for bad settings here, not in a worker (where it would hang)."""
        known = self.entities or ENTITY_TYPES
        unknown = [e for e in (*known, *dict(self.operator_for)) if e not in ENTITY_TYPES]
        if unknown:
            raise ValueError(f"unknown entity types {unknown}; known: {list(ENTITY_TYPES)}")
        for name in {self.operator, *dict(self.operator_for).values()}:
            make_operator(name, key=self.key, seed=self.seed)  # unknown name, missing key
        if self.ner:
            from privml.scrub.ner_inference import inference_dtype

            inference_dtype()  # a bad PRIVML_NER_DTYPE fails now, not after the model loads


class Pipeline:
    """One scrubber plus its operators; ``scrub(texts)`` returns texts and per-type counts."""

    def __init__(self, config: ScrubConfig) -> None:
        self.scrubber = make_scrubber(config.entities, config.score_threshold, ner=config.ner)
        self.operators = make_operators(
            config.operator,
            dict(config.operator_for),
            entities=self.scrubber.entities,
            key=config.key,
            seed=config.seed,
        )

    def scrub(self, texts: list[str]) -> tuple[list[str], Counter[str]]:  # noqa: D102
        out: list[str] = []
        counts: Counter[str] = Counter()
        for text, spans in zip(texts, analyze_many(self.scrubber, texts), strict=True):
            result = apply_operators(text, spans, self.operators)
            out.append(result.text)
            counts.update(result.counts)
        return out, counts


_WORKER: Pipeline | BaseException | None = None


def _init_worker(config: ScrubConfig) -> None:
    """Build the worker's pipeline once; keep an error to raise on the first task (an exception
    escaping a pool initializer makes the pool respawn workers forever)."""
    global _WORKER
    try:
        _torch_threads(1)  # for the worker's whole life (see _one_torch_thread)
        _WORKER = Pipeline(config)
    except Exception as exc:  # noqa: BLE001 - re-raised in _scrub_in_worker
        _WORKER = exc


def _torch_threads(n: int) -> int:
    """Let this process's NER model compute on ``n`` threads; returns the previous count."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    return before


@contextmanager
def _one_torch_thread() -> Iterator[None]:
    """One process per core: inside, this process's NER model computes on one thread (PyTorch
    starts one per core in every process, and the processes would fight over the cores)."""
    before = _torch_threads(1)
    try:
        yield
    finally:
        _torch_threads(before)


def _scrub_in_worker(texts: list[str]) -> tuple[list[str], Counter[str]]:
    if isinstance(_WORKER, BaseException):
        raise _WORKER
    assert _WORKER is not None, "worker not initialised"
    return _WORKER.scrub(texts)


def _chunks(items: Iterable[Item]) -> Iterator[list[Item]]:
    chunk: list[Item] = []
    chars = 0
    for item in items:
        chunk.append(item)
        chars += len(item.text)
        if len(chunk) >= CHUNK_RECORDS or chars >= CHUNK_CHARS:
            yield chunk
            chunk, chars = [], 0
    if chunk:
        yield chunk


def _texts(chunk: list[Item]) -> list[str]:
    return ["" if it.extra.get("header") else it.text for it in chunk]


def _scrub_chunks(
    chunks: Iterator[list[Item]], config: ScrubConfig, workers: int
) -> Iterator[tuple[list[Item], list[str], Counter[str]]]:
    """``(chunk, scrubbed texts, counts)`` in input order.

    With ``workers`` > 1, ``workers - 1`` pool processes scrub and so does this one: it keeps
    each pool process four chunks ahead and scrubs the next chunk itself meanwhile (its own
    reading and writing are light), so ``--workers N`` keeps N processes busy on N cores. With
    a separate parent process as well, two workers on two cores ran at 83% of twice one.
    """
    if workers <= 1:
        local = Pipeline(config)
        for chunk in chunks:
            yield (chunk, *local.scrub(_texts(chunk)))
        return
    with _one_torch_thread():  # this process scrubs beside the pool: one core each
        yield from _scrub_alongside_pool(chunks, config, workers)


def _scrub_alongside_pool(
    chunks: Iterator[list[Item]], config: ScrubConfig, workers: int
) -> Iterator[tuple[list[Item], list[str], Counter[str]]]:
    """The ``workers > 1`` case of :func:`_scrub_chunks`."""
    pipeline: Pipeline | None = None
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(workers - 1, initializer=_init_worker, initargs=(config,)) as pool:
        ahead = 4 * (workers - 1)  # chunks queued for the pool while this process scrubs one
        pending: deque[tuple[list[Item], Any]] = deque()
        for chunk in chunks:
            if sum(isinstance(r, AsyncResult) for _, r in pending) < ahead:
                pending.append((chunk, pool.apply_async(_scrub_in_worker, (_texts(chunk),))))
            else:
                if pipeline is None:  # built once the pool has work, while it starts
                    pipeline = Pipeline(config)
                pending.append((chunk, pipeline.scrub(_texts(chunk))))
            while pending and (len(pending) > 4 * ahead or _ready(pending[0][1])):
                done, res = pending.popleft()
                yield (done, *_result(res))
        while pending:
            done, res = pending.popleft()
            yield (done, *_result(res))


def _ready(res: Any) -> bool:
    return not isinstance(res, AsyncResult) or res.ready()


def _result(res: Any) -> tuple[list[str], Counter[str]]:
    return res.get() if isinstance(res, AsyncResult) else res


def summary_path_for(out: str | Path) -> Path:
    """The default summary file: ``OUT.summary.json`` next to the output."""
    out = Path(out)
    return out.with_name(out.name + ".summary.json")


def scrub_file(
    src: str | Path,
    out: str | Path,
    config: ScrubConfig,
    *,
    fmt: Format | None = None,
    text_field: str = "text",
    errors: ErrorMode = "strict",
    workers: int = 1,
    summary: str | Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Scrub ``src`` into ``out`` and write the summary; return the summary dict.

    Raises ``DataError`` (``file:line: reason``) for unreadable or malformed input, and
    ``ValueError`` for bad settings; in both cases neither output nor summary is written.
    """
    src, out = Path(src), Path(out)
    fmt = fmt or detect_format(src)
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if src.resolve() == out.resolve():
        raise ValueError("--out must not be the input file")
    config.validate()
    summary_file = Path(summary) if summary is not None else summary_path_for(out)
    started = time.perf_counter()
    totals: Counter[str] = Counter()
    try:
        fh = open(src, "rb")  # closed by the `with` below
    except OSError as e:
        raise DataError(src, None, f"cannot open file ({e.strerror})") from None
    with fh, atomic_open(out, "wb") as dst:
        items, stats = read_items(fh, src, fmt, text_field, errors)
        done = 0
        for chunk, texts, counts in _scrub_chunks(_chunks(items), config, workers):
            for item, text in zip(chunk, texts, strict=True):
                dst.write(render(item, text, fmt, text_field))
            totals.update(counts)
            done += sum(1 for it in chunk if not it.extra.get("header"))
            if progress is not None:
                progress(done)
    result = {
        "input": str(src),
        "output": str(out),
        "format": fmt,
        "records": stats.records,
        "counts": {t: totals[t] for t in sorted(totals)},
        "skipped_lines": stats.skipped_lines,
        "replaced_lines": stats.replaced_lines,
        "errors": errors,
        "entities": list(config.entities or ENTITY_TYPES),
        "operators": config.operator_names(),
        "keyed": config.key is not None,
        "workers": workers,
        "seconds": round(time.perf_counter() - started, 3),
    }
    write_json(summary_file, result)
    return result
