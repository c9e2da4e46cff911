"""Streaming scrub of a large JSONL file: peak memory stays bounded, whatever the file size.

Writes ``--size-mb`` of synthetic JSONL (the demo corpus's messages, repeated with varied user
ids and fresh PII values from later seeds) into a temporary directory, then scrubs it line by
line (read one line, scrub, write one line) with one scrubber, and reports peak RSS
(``ru_maxrss`` and ``VmHWM``) before and after the scrub pass, plus MB/s. Generation is not
timed. Peak RSS after the scrub should be close to the one after the scrubber is built: memory
must not grow with the file.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/scrub_memory.py --size-mb 1024
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

from privml.data.demo_corpus import generate_demo_corpus
from privml.scrub import make_scrubber


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


def _lines(path: Path) -> Iterator[str]:
    with open(path, encoding="utf-8") as fh:
        yield from fh


def scrub_file(src: Path, dst: Path) -> dict:
    """Scrub ``src`` JSONL into ``dst`` one line at a time; return timing and counts."""
    scrubber = make_scrubber()
    scrubber.scrub("warm up: call 415-555-0132 or mail a@example.com")
    mem_ready = peak_rss_mb()
    totals: Counter[str] = Counter()
    n_lines = n_text_bytes = 0
    start = time.perf_counter()
    with open(dst, "w", encoding="utf-8") as out:
        for line in _lines(src):
            row = json.loads(line)
            result = scrubber.scrub(row["text"])
            totals.update(result.counts)
            n_text_bytes += len(row["text"].encode())
            row["text"] = result.text
            out.write(json.dumps(row) + "\n")
            n_lines += 1
    elapsed = time.perf_counter() - start
    return {
        "lines": n_lines,
        "seconds": round(elapsed, 2),
        "file_mb_per_s": round(src.stat().st_size / 1e6 / elapsed, 3),
        "text_mb_per_s": round(n_text_bytes / 1e6 / elapsed, 3),
        "peak_rss_after_scrubber_built": mem_ready,
        "counts": dict(sorted(totals.items())),
    }


def main(argv: Sequence[str] | None = None) -> dict:
    """Generate, scrub, report JSON."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size-mb", type=float, default=1024.0)
    ap.add_argument("--tmp-dir", type=Path, default=None, help="where the files go (deleted)")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(dir=args.tmp_dir) as tmp_name:
        tmp = Path(tmp_name)
        src, dst = tmp / "big.jsonl", tmp / "big.scrubbed.jsonl"
        t0 = time.perf_counter()
        n_bytes = write_synthetic_jsonl(src, args.size_mb, tmp)
        gen_seconds = time.perf_counter() - t0
        mem_before = peak_rss_mb()  # includes generating the demo pools
        res = scrub_file(src, dst)
        res["peak_rss_end"] = peak_rss_mb()
    size_mb = n_bytes / 1e6
    report = {
        "command": " ".join([sys.executable, *sys.argv]),
        "file_mb": round(size_mb, 1),
        "generation_seconds": round(gen_seconds, 1),
        "peak_rss_after_generation": mem_before,
        "load_avg_1min_at_end": round(os.getloadavg()[0], 2),
        **res,
        "extrapolated_seconds_for_1024mb": round(1024 / res["file_mb_per_s"], 0),
    }
    print(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
