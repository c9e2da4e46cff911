"""PII detection, side by side: privml's scrubber vs Presidio's default offline configuration.

"Presidio default offline" is what a user gets from ``presidio_analyzer`` without a spaCy model:
the default registry's predefined recognizers (its pattern recognizers), ``SpacyRecognizer``
removed, a blank spaCy pipeline, and the e-mail recognizer validating domains against
tldextract's bundled suffix list (no network). Its other types (UK_NHS, DATE_TIME, URL, ...)
are not scored, so a phone number it calls UK_NHS counts as a missed phone number only.
privml runs twice: ``privml`` is the full scrubber (patterns, name lists and the learned NER
model, as ``privml scrub`` runs it) and ``privml_patterns`` is the same without the NER model.

Scored on the held-out split of the synthetic PII data (``privml.scrub.synth_data``; its GPE
gold counts as LOCATION), on the planted values of a generated demo corpus, and on the NER
trainer's generated test sentences (held-out identities), per type in ``ENTITY_TYPES`` and for
the group LOCATION/ADDRESS (LOCATION and STREET_ADDRESS as one type):

* recall: share of gold values whose letters and digits are all covered by detected spans of
  the same type (partial hits are misses);
* precision: share of detected spans that overlap a gold span of the same type.

Throughput is MB of UTF-8 text per second, always on texts the scrubber has not seen before
(a long stream mostly brings new names, numbers and addresses; repeating texts would flatter
every cache, spaCy's tokenizer and vocabulary, oneDNN's kernels): demo corpora with seeds other
than the evaluated one. In this process on one core: each contender first scrubs a warm-up
corpus, then ``--passes`` fresh corpora are timed one pass each (median reported). End to end
through ``privml scrub``'s file runner (``scrub_file``: read JSONL, scrub, write; start-up and
model loading included) on a file of fresh corpora of about ``--cli-mb`` MB, with 1 and with
``--workers`` processes. The load average is recorded: on shared cores the MB/s figures move.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/scrub_compare.py
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from presidio_analyzer import AnalyzerEngine, RecognizerRegistry

from privml.atomic import write_json
from privml.data.demo_corpus import generate_demo_corpus
from privml.scrub import ENTITY_TYPES, Span, analyze_many, make_scrubber
from privml.scrub.evaluate import map_label
from privml.scrub.ner_data import generate_examples
from privml.scrub.presidio_engine import LANGUAGE, BlankSpacyNlpEngine, OfflineEmailRecognizer
from privml.scrub.runner import ScrubConfig, scrub_file
from privml.scrub.synth_data import DEFAULT_SYNTH_PATH, load_synth, split_synth

AnalyzeMany = Callable[[Sequence[str]], list[list[Span]]]
Gold = list[tuple[str, list[Span]]]  # (text, gold spans) per text
GROUPS = {"LOCATION/ADDRESS": ("LOCATION", "STREET_ADDRESS")}
BATCH = 256


def presidio_default_analyze() -> AnalyzeMany:
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

    def analyze(texts: Sequence[str]) -> list[list[Span]]:
        return [
            [
                Span(r.start, r.end, r.entity_type, float(r.score))
                for r in engine.analyze(text=t, language=LANGUAGE)
            ]
            for t in texts
        ]

    return analyze


def privml_analyze(ner: bool) -> AnalyzeMany:
    """privml's scrubber (with or without the NER model), batched as ``privml scrub`` runs it."""
    scrubber = make_scrubber(ner=ner)
    return lambda texts: analyze_many(scrubber, texts)


def _covered(text: str, gold: Span, preds: Sequence[Span], members: Sequence[str]) -> bool:
    """Every letter/digit of ``gold`` lies inside a predicted span of a type in ``members``."""
    mask = [False] * (gold.end - gold.start)
    for p in preds:
        if p.entity_type in members:
            for i in range(max(p.start, gold.start), min(p.end, gold.end)):
                mask[i - gold.start] = True
    return all(m or not text[gold.start + k].isalnum() for k, m in enumerate(mask))


def score(gold: Gold, analyze: AnalyzeMany) -> dict:
    """Per-type (and per group) precision/recall/F1 (see module docstring), with examples of
    missed and spurious values."""
    kinds = {t: (t,) for t in ENTITY_TYPES} | GROUPS
    tp_r, n_gold, tp_p, n_pred = Counter(), Counter(), Counter(), Counter()
    misses: dict[str, list[str]] = {k: [] for k in kinds}
    false_pos: dict[str, list[str]] = {k: [] for k in kinds}
    other: Counter[str] = Counter()  # detections of types outside ENTITY_TYPES (UK_NHS, URL ...)
    found: list[list[Span]] = []
    for lo in range(0, len(gold), BATCH):
        found.extend(analyze([t for t, _ in gold[lo : lo + BATCH]]))
    for (text, spans), detected in zip(gold, found, strict=True):
        preds = [p for p in detected if p.entity_type in ENTITY_TYPES]
        other.update(p.entity_type for p in detected if p not in preds and p.score >= 0.5)
        for kind, members in kinds.items():
            for g in (g for g in spans if g.entity_type in members):
                n_gold[kind] += 1
                if _covered(text, g, preds, members):
                    tp_r[kind] += 1
                else:
                    misses[kind].append(text[g.start : g.end])
            for p in (p for p in preds if p.entity_type in members):
                n_pred[kind] += 1
                if any(
                    g.entity_type in members and g.start < p.end and p.start < g.end for g in spans
                ):
                    tp_p[kind] += 1
                else:
                    false_pos[kind].append(text[p.start : p.end])
    out = {}
    for k in kinds:
        prec = tp_p[k] / n_pred[k] if n_pred[k] else None
        rec = tp_r[k] / n_gold[k] if n_gold[k] else None
        f1 = 2 * prec * rec / (prec + rec) if prec and rec else (0.0 if n_gold[k] else None)
        out[k] = {
            "precision": _r(prec), "recall": _r(rec), "f1": _r(f1),
            "n_gold": n_gold[k], "n_pred": n_pred[k],
            "missed": misses[k][:10], "false_positives": false_pos[k][:10],
        }  # fmt: skip
    out["other_types_score_ge_0.5"] = dict(other.most_common())
    return out


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def _gold_spans(spans) -> list[Span]:
    out = []
    for s in spans:
        typ = map_label(s.entity_type)
        if typ is not None:
            out.append(Span(s.start, s.end, typ, 1.0))
    return out


def synth_gold(path: Path, seed: int) -> Gold:
    """Gold spans of the held-out split of the synthetic data (never trained on)."""
    items = split_synth(load_synth(path), seed=seed)[1]
    return [(it.text, _gold_spans(it.spans)) for it in items]


def generated_gold(n: int, seed: int) -> Gold:
    """The NER trainer's generated test sentences (templates, held-out identities)."""
    return [
        (ex.text, [Span(a, b, lab, 1.0) for a, b, lab in ex.spans])
        for ex in generate_examples(n, seed=seed, test=True)
    ]


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


def fresh_texts(out_dir: Path, users: int, seeds: Sequence[int]) -> list[list[str]]:
    """The texts of one demo corpus per seed (no two share a generated value)."""
    out = []
    for seed in seeds:
        corpus = generate_demo_corpus(out_dir / f"fresh{seed}", users=users, seed=seed)
        with open(corpus.corpus_path, encoding="utf-8") as fh:
            out.append([json.loads(line)["text"] for line in fh])
    return out


def throughput(warm: Sequence[str], timed: Sequence[Sequence[str]], analyze: AnalyzeMany) -> float:
    """Median MB/s of UTF-8 text through ``analyze`` (in batches) in this process, one pass
    over each of ``timed`` after a warm-up pass over ``warm``."""

    def run(texts: Sequence[str]) -> float:
        start = time.perf_counter()
        for lo in range(0, len(texts), BATCH):
            analyze(texts[lo : lo + BATCH])
        return sum(len(t.encode()) for t in texts) / 1e6 / (time.perf_counter() - start)

    run(warm)
    return statistics.median(run(texts) for texts in timed)


def cli_throughput(texts: Sequence[str], workers: int, ner: bool, tmp: Path) -> float:
    """MB/s of text through ``scrub_file`` (what ``privml scrub --workers N`` runs), end to end."""
    src = tmp / "timed.jsonl"
    if not src.exists():
        with open(src, "w", encoding="utf-8") as fh:
            for i, t in enumerate(texts):
                fh.write(json.dumps({"user_id": f"u{i}", "text": t}) + "\n")
    n_bytes = sum(len(t.encode()) for t in texts)
    start = time.perf_counter()
    scrub_file(src, tmp / f"out{workers}.jsonl", ScrubConfig(ner=ner), workers=workers)
    return n_bytes / 1e6 / (time.perf_counter() - start)


def packaged_evaluation(report: dict, datasets: list[str]) -> dict:
    """Recall per type of privml with and without NER, pooled over ``datasets``."""
    configs = {}
    for config, name in (("ner", "privml"), ("patterns", "privml_patterns")):
        pooled = {}
        for t in ENTITY_TYPES:
            rows = [report["results"][name][d][t] for d in datasets]
            n = sum(r["n_gold"] for r in rows)
            hits = sum(round((r["recall"] or 0) * r["n_gold"]) for r in rows)
            if n:
                pooled[t] = {"recall": round(hits / n, 4), "n_gold": n}
        configs[config] = pooled
    return {
        "what": "privml scrubber recall per type, pooled over " + ", ".join(datasets),
        "measured": time.strftime("%Y-%m-%d"),
        "command": "OMP_NUM_THREADS=1 .venv/bin/python benchmarks/scrub_compare.py --no-timing "
        "--write-eval src/privml/resources/scrub_eval.json",
        "configs": configs,
    }


def main(argv: Sequence[str] | None = None) -> dict:
    """Run the comparison and print (and return) the JSON report."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--synth", type=Path, default=DEFAULT_SYNTH_PATH)
    ap.add_argument("--seed", type=int, default=0, help="split seed (synth_data.split_synth)")
    ap.add_argument("--users", type=int, default=2000, help="demo corpus users")
    ap.add_argument("--demo-seed", type=int, default=0)
    ap.add_argument("--generated", type=int, default=1000, help="generated test sentences")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--passes", type=int, default=3, help="fresh corpora timed in-process")
    ap.add_argument("--cli-mb", type=float, default=24.0, help="MB of fresh text for the CLI")
    ap.add_argument("--details", action="store_true", help="keep missed/false-positive values")
    ap.add_argument("--no-timing", action="store_true", help="accuracy only")
    ap.add_argument(
        "--write-eval",
        type=Path,
        help="also write privml's pooled recall per type (the file the run report cites, "
        "src/privml/resources/scrub_eval.json)",
    )
    args = ap.parse_args(argv)

    contenders = {
        "privml": privml_analyze(ner=True),
        "privml_patterns": privml_analyze(ner=False),
        "presidio_default": presidio_default_analyze(),
    }
    with tempfile.TemporaryDirectory() as tmp:
        demo = demo_gold(Path(tmp), args.users, args.demo_seed)
    datasets = {
        "synth_heldout": synth_gold(args.synth, args.seed),
        "demo_corpus": demo,
        "generated_test": generated_gold(args.generated, seed=1000),
    }
    seeds = iter(range(args.demo_seed + 1, args.demo_seed + 10_000))  # never the evaluated one
    with tempfile.TemporaryDirectory() as tmp:
        warm = fresh_texts(Path(tmp), args.users, [next(seeds)])[0]
        timed = fresh_texts(Path(tmp), args.users, [next(seeds) for _ in range(args.passes)])
        cli_texts: list[str] = []
        while not args.no_timing and sum(len(t.encode()) for t in cli_texts) < args.cli_mb * 1e6:
            cli_texts += fresh_texts(Path(tmp), args.users, [next(seeds)])[0]
    report: dict = {
        "command": " ".join([sys.executable, *sys.argv]),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "load_avg_1min_at_start": round(os.getloadavg()[0], 2),  # the cores are shared
        "throughput_text_mb_per_pass": round(
            statistics.mean(sum(len(t.encode()) for t in ts) for ts in timed) / 1e6, 3
        ),
        "cli_text_mb": round(sum(len(t.encode()) for t in cli_texts) / 1e6, 3),
        "results": {},
    }
    for name, analyze in contenders.items():
        res: dict = {}
        for ds_name, gold in datasets.items():
            scores = score(gold, analyze)
            if not args.details:
                for v in scores.values():
                    if isinstance(v, dict):
                        v.pop("missed", None), v.pop("false_positives", None)
            res[ds_name] = scores
        if not args.no_timing:
            res["mb_per_s_1core"] = round(throughput(warm, timed, analyze), 3)
        report["results"][name] = res
    with tempfile.TemporaryDirectory() as tmp:
        if args.no_timing:
            contenders = {}
        for name, ner in (("privml", True), ("privml_patterns", False)):
            if name not in contenders:
                continue
            for w in sorted({1, args.workers}):
                mbps = cli_throughput(cli_texts, w, ner, Path(tmp))
                report["results"][name][f"cli_mb_per_s_{w}workers"] = round(mbps, 3)
    report["load_avg_1min_at_end"] = round(os.getloadavg()[0], 2)
    if args.write_eval:
        write_json(args.write_eval, packaged_evaluation(report, list(datasets)))
    print(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
