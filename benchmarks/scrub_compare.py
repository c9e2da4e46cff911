"""PII detection, side by side: privml's scrubber vs Presidio's default offline configuration.

"Presidio default offline" is what a user gets from ``presidio_analyzer`` without a spaCy model:
the default registry's predefined recognizers (its pattern recognizers), ``SpacyRecognizer``
removed, a blank spaCy pipeline, and the e-mail recognizer validating domains against
tldextract's bundled suffix list (no network). Its other types (UK_NHS, DATE_TIME, URL, ...)
are not scored, so a phone number it calls UK_NHS counts as a missed phone number only.

Scored on the held-out split of the synthetic PII data (``privml.scrub.synth_data``) and on the
planted values of a generated demo corpus, per type in ``ENTITY_TYPES``:

* recall: share of gold values whose letters and digits are all covered by detected spans of
  the same type (partial hits are misses);
* precision: share of detected spans that overlap a gold span of the same type.

Throughput is MB of UTF-8 text per second on the demo corpus texts (``--repeat`` passes), one
core, and for privml also with 2 worker processes (a ``multiprocessing.Pool`` over chunks, one
scrubber per worker). The load average is recorded: on shared cores the MB/s figures move a lot.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/scrub_compare.py
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from presidio_analyzer import AnalyzerEngine, RecognizerRegistry

from privml.data.demo_corpus import generate_demo_corpus
from privml.scrub import ENTITY_TYPES, Span, make_scrubber
from privml.scrub.presidio_engine import LANGUAGE, BlankSpacyNlpEngine, OfflineEmailRecognizer
from privml.scrub.synth_data import DEFAULT_SYNTH_PATH, load_synth, split_synth

Analyze = Callable[[str], list[Span]]
Gold = list[tuple[str, list[Span]]]  # (text, gold spans) per text


def presidio_default_analyze() -> Analyze:
    """Presidio's default registry, offline: no SpacyRecognizer, blank spaCy, offline e-mail."""
    nlp_engine = BlankSpacyNlpEngine(LANGUAGE)
    nlp_engine.load()
    registry = RecognizerRegistry(supported_languages=[LANGUAGE])
    registry.load_predefined_recognizers(languages=[LANGUAGE], nlp_engine=nlp_engine)
    registry.remove_recognizer("SpacyRecognizer")
    registry.remove_recognizer("EmailRecognizer")
    registry.add_recognizer(OfflineEmailRecognizer())
    engine = AnalyzerEngine(
        registry=registry, nlp_engine=nlp_engine, supported_languages=[LANGUAGE]
    )

    def analyze(text: str) -> list[Span]:
        results = engine.analyze(text=text, language=LANGUAGE)
        return [Span(r.start, r.end, r.entity_type, float(r.score)) for r in results]

    return analyze


def _covered(text: str, gold: Span, preds: Sequence[Span]) -> bool:
    """Every letter/digit of ``gold`` lies inside a predicted span of the same type."""
    mask = [False] * (gold.end - gold.start)
    for p in preds:
        if p.entity_type == gold.entity_type:
            for i in range(max(p.start, gold.start), min(p.end, gold.end)):
                mask[i - gold.start] = True
    return all(m or not text[gold.start + k].isalnum() for k, m in enumerate(mask))


def score(gold: Gold, analyze: Analyze, types: Sequence[str] = ENTITY_TYPES) -> dict:
    """Per-type precision/recall/F1 (see module docstring) plus the missed/spurious values."""
    tp_r, n_gold, tp_p, n_pred = Counter(), Counter(), Counter(), Counter()
    misses: dict[str, list[str]] = {t: [] for t in types}
    false_pos: dict[str, list[str]] = {t: [] for t in types}
    other: Counter[str] = Counter()  # detections of types outside ``types`` (UK_NHS, URL ...)
    for text, spans in gold:
        preds = []
        for p in analyze(text):
            if p.entity_type in types:
                preds.append(p)
            elif p.score >= 0.5:
                other[p.entity_type] += 1
        for g in spans:
            if g.entity_type not in types:
                continue
            n_gold[g.entity_type] += 1
            if _covered(text, g, preds):
                tp_r[g.entity_type] += 1
            else:
                misses[g.entity_type].append(text[g.start : g.end])
        for p in preds:
            n_pred[p.entity_type] += 1
            if any(
                g.entity_type == p.entity_type and g.start < p.end and p.start < g.end
                for g in spans
            ):
                tp_p[p.entity_type] += 1
            else:
                false_pos[p.entity_type].append(text[p.start : p.end])
    out = {}
    for t in types:
        prec = tp_p[t] / n_pred[t] if n_pred[t] else None
        rec = tp_r[t] / n_gold[t] if n_gold[t] else None
        f1 = 2 * prec * rec / (prec + rec) if prec and rec else (0.0 if n_gold[t] else None)
        out[t] = {
            "precision": _r(prec), "recall": _r(rec), "f1": _r(f1),
            "n_gold": n_gold[t], "n_pred": n_pred[t],
            "missed": misses[t][:10], "false_positives": false_pos[t][:10],
        }  # fmt: skip
    out["other_types_score_ge_0.5"] = dict(other.most_common())
    return out


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def synth_gold(path: Path, seed: int, which: str) -> Gold:
    """Gold spans of the held-out (``which="heldout"``) or whole (``"all"``) synthetic data."""
    items = load_synth(path)
    if which == "heldout":
        items = split_synth(items, seed=seed)[1]
    return [(it.text, list(it.spans)) for it in items]


def demo_gold(out_dir: Path, users: int, seed: int) -> Gold:
    """Demo corpus texts with each planted value turned into spans (every occurrence)."""
    corpus = generate_demo_corpus(out_dir, users=users, seed=seed)
    with open(corpus.corpus_path, encoding="utf-8") as fh:
        texts = [json.loads(line)["text"] for line in fh]
    spans: dict[int, list[Span]] = {}
    with open(corpus.labels_path, encoding="utf-8") as fh:
        for line in fh:
            lab = json.loads(line)
            text, value = texts[lab["record"]], lab["value"]
            pos = text.find(value)
            while pos >= 0:
                spans.setdefault(lab["record"], []).append(
                    Span(pos, pos + len(value), lab["type"], 1.0)
                )
                pos = text.find(value, pos + len(value))
    return [(t, spans.get(i, [])) for i, t in enumerate(texts)]


def throughput(texts: Sequence[str], analyze: Analyze, repeats: int = 1) -> float:
    """MB/s of UTF-8 text through ``analyze`` in this process."""
    n_bytes = sum(len(t.encode()) for t in texts) * repeats
    start = time.perf_counter()
    for _ in range(repeats):
        for t in texts:
            analyze(t)
    return n_bytes / 1e6 / (time.perf_counter() - start)


_WORKER = None


def _scrub_chunk(chunk: list[str]) -> int:
    return sum(len(_WORKER.scrub(t).spans) for t in chunk)


def _chunks(texts: Sequence[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(texts), size):
        yield list(texts[i : i + size])


def parallel_throughput(texts: Sequence[str], workers: int, chunk: int = 200) -> float:
    """MB/s with ``workers`` forked processes, each with its own copy of one scrubber.

    The scrubber is built before the fork, so no worker start-up is timed.
    """
    global _WORKER
    _WORKER = make_scrubber()
    n_bytes = sum(len(t.encode()) for t in texts)
    with mp.get_context("fork").Pool(workers) as pool:
        pool.map(_scrub_chunk, [["Warm up, call 415-555-0132."]] * workers * 4, chunksize=1)
        start = time.perf_counter()
        sum(pool.imap_unordered(_scrub_chunk, _chunks(texts, chunk)))
        elapsed = time.perf_counter() - start
    return n_bytes / 1e6 / elapsed


def main(argv: Sequence[str] | None = None) -> dict:
    """Run the comparison and print (and return) the JSON report."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--synth", type=Path, default=DEFAULT_SYNTH_PATH)
    ap.add_argument("--seed", type=int, default=0, help="split seed (synth_data.split_synth)")
    ap.add_argument("--users", type=int, default=2000, help="demo corpus users")
    ap.add_argument("--demo-seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3, help="passes over the texts when timing")
    ap.add_argument("--details", action="store_true", help="keep missed/false-positive values")
    args = ap.parse_args(argv)

    contenders = {"privml": make_scrubber().analyze, "presidio_default": presidio_default_analyze()}
    with tempfile.TemporaryDirectory() as tmp:
        demo = demo_gold(Path(tmp), args.users, args.demo_seed)
    datasets = {
        "synth_heldout": synth_gold(args.synth, args.seed, "heldout"),
        "synth_all": synth_gold(args.synth, args.seed, "all"),
        "demo_corpus": demo,
    }
    demo_texts = [t for t, _ in demo]
    timed_texts = demo_texts * args.repeat
    report: dict = {
        "command": " ".join([sys.executable, *sys.argv]),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "load_avg_1min_at_start": round(os.getloadavg()[0], 2),  # the cores are shared
        "throughput_text_mb": round(sum(len(t.encode()) for t in timed_texts) / 1e6, 3),
        "results": {},
    }
    for name, analyze in contenders.items():
        res: dict = {}
        for ds_name, gold in datasets.items():
            scores = score(gold, analyze)
            if not args.details:
                for t in ENTITY_TYPES:
                    scores[t].pop("missed"), scores[t].pop("false_positives")
            res[ds_name] = scores
        res["mb_per_s_1core"] = round(throughput(timed_texts, analyze), 3)
        report["results"][name] = res
    report["results"]["privml"][f"mb_per_s_{args.workers}workers"] = round(
        parallel_throughput(timed_texts, args.workers), 3
    )
    report["load_avg_1min_at_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
