"""Streaming scrub of a large JSONL file: peak memory stays bounded, whatever the file size.

Writes ``--size-mb`` of synthetic JSONL (the demo corpus's messages, repeated with varied user
ids and fresh PII values from later seeds) into a temporary directory -- in a child process, so
that generation does not count towards this process's peak -- then scrubs it with
``privml.scrub.runner.scrub_file``, exactly what ``privml scrub IN --out OUT [--workers N]``
runs (NER on unless ``--no-ner``), and reports the peak RSS of this process (``ru_maxrss``,
``VmHWM``) and of the largest worker process, plus MB/s. Peak RSS after the scrub should be
close to the one after the first chunk: memory must not grow with the file.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/scrub_memory.py --size-mb 1024 [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from privml.data.demo_corpus import generate_demo_corpus
from privml.scrub.runner import ScrubConfig, scrub_file


def peak_rss_mb() -> dict[str, float | None]:
    """Peak resident memory of this process: ``ru_maxrss`` (KiB on Linux) and ``VmHWM``."""
    out: dict[str, float | None] = {
        "ru_maxrss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "vmhwm_mb": None,
    }
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    out["vmhwm_mb"] = round(int(line.split()[1]) / 1024, 1)
    except OSError:  # not Linux
        pass
    return out


def _demo_rows(tmp: Path, seed: int) -> list[dict]:
    corpus = generate_demo_corpus(tmp / f"demo{seed}", users=500, seed=seed)
    with open(corpus.corpus_path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def write_synthetic_jsonl(path: Path, size_mb: float, tmp: Path, n_seeds: int = 4) -> int:
    """Write about ``size_mb`` MB of ``{"user_id", "text"}`` lines; return the bytes written."""
    pools = [_demo_rows(tmp, seed) for seed in range(n_seeds)]
    target = int(size_mb * 1e6)
    written = 0
    rep = 0
    with open(path, "w", encoding="utf-8") as fh:
        while written < target:
            for row in pools[rep % n_seeds]:
                line = json.dumps({"user_id": f"{row['user_id']}-{rep}", "text": row["text"]})
                fh.write(line + "\n")
                written += len(line.encode()) + 1
                if written >= target:
                    break
            rep += 1
    return written


def scrub(src: Path, dst: Path, ner: bool, workers: int) -> dict:
    """Scrub ``src`` into ``dst`` with the CLI's file runner; return timing, memory, counts."""
    seen: list[dict] = []

    def progress(done: int) -> None:
        if not seen:  # after the first chunk: the scrubber (and model) is built and warm
            seen.append(peak_rss_mb())

    start = time.perf_counter()
    summary = scrub_file(src, dst, ScrubConfig(ner=ner), workers=workers, progress=progress)
    elapsed = time.perf_counter() - start
    n_text_bytes = 0
    with open(src, encoding="utf-8") as fh:
        for line in fh:
            n_text_bytes += len(json.loads(line)["text"].encode())
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "lines": summary["records"],
        "ner": ner,
        "workers": workers,
        "seconds": round(elapsed, 2),
        "file_mb_per_s": round(src.stat().st_size / 1e6 / elapsed, 3),
        "text_mb_per_s": round(n_text_bytes / 1e6 / elapsed, 3),
        "peak_rss_after_first_chunk": seen[0] if seen else None,
        "peak_rss_largest_worker_mb": round(children, 1) if workers > 1 else None,
        "counts": summary["counts"],
    }


def main(argv: Sequence[str] | None = None) -> dict:
    """Generate, scrub, report JSON."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size-mb", type=float, default=1024.0)
    ap.add_argument("--tmp-dir", type=Path, default=None, help="where the files go (deleted)")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--no-ner", dest="ner", action="store_false", help="patterns only")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(dir=args.tmp_dir) as tmp_name:
        tmp = Path(tmp_name)
        src, dst = tmp / "big.jsonl", tmp / "big.scrubbed.jsonl"
        t0 = time.perf_counter()
        gen = mp.get_context("spawn").Process(
            target=write_synthetic_jsonl, args=(src, args.size_mb, tmp)
        )
        gen.start()
        gen.join()
        if gen.exitcode != 0:
            raise SystemExit(f"generating {src} failed (exit code {gen.exitcode})")
        n_bytes = src.stat().st_size
        gen_seconds = time.perf_counter() - t0
        mem_before = peak_rss_mb()
        res = scrub(src, dst, args.ner, args.workers)
        res["peak_rss_end"] = peak_rss_mb()
    size_mb = n_bytes / 1e6
    report = {
        "command": " ".join([sys.executable, *sys.argv]),
        "file_mb": round(size_mb, 1),
        "generation_seconds": round(gen_seconds, 1),
        "peak_rss_before_scrub": mem_before,
        "load_avg_1min_at_end": round(os.getloadavg()[0], 2),
        **res,
        "extrapolated_seconds_for_1024mb": round(1024 / res["file_mb_per_s"], 0),
    }
    print(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
