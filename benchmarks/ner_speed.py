"""NER throughput, side by side: privml's packaged tagger against spaCy's ``ner`` component.

The spaCy pipeline is the architecture privml shipped before the tagger (transition-based
parser, ``HashEmbedCNN`` width 96, depth 4, 4,000 rows, hidden width 64) and a small one (width
32, depth 1), both initialised on a few sentences: a transition-based parser's speed does not
depend on its trained weights (it takes one decision per token whatever it decides). Both run
through ``nlp.pipe`` on the same demo-corpus texts, on one core, passes alternating; the
tokenizer alone is timed too, and privml's tagger in bfloat16 next to its default float32 (see
``privml.scrub.ner_inference`` for why bfloat16 is not the default). Median MB/s of
``--repeat`` passes.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/ner_speed.py
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import spacy
import torch
from spacy.language import Language
from spacy.training import Example

from privml.data.demo_corpus import generate_demo_corpus
from privml.scrub.ner_data import NER_LABELS
from privml.scrub.ner_recognizer import load_ner_model, read_ner_model
from privml.scrub.ner_tagger import COMPONENT


def spacy_ner(width: int, depth: int) -> Language:
    """A blank English pipeline with spaCy's ``ner`` component of the given tok2vec size."""
    nlp = spacy.blank("en")
    model = {
        "@architectures": "spacy.TransitionBasedParser.v2",
        "state_type": "ner",
        "extra_state_tokens": False,
        "hidden_width": 64,
        "maxout_pieces": 2,
        "use_upper": True,
        "tok2vec": {
            "@architectures": "spacy.HashEmbedCNN.v2",
            "pretrained_vectors": None,
            "width": width,
            "depth": depth,
            "embed_size": 4000,
            "window_size": 1,
            "maxout_pieces": 3,
            "subword_features": True,
        },
    }
    ner = nlp.add_pipe("ner", config={"model": model})
    for label in NER_LABELS:
        ner.add_label(label)
    doc = nlp.make_doc("Anna Berg lives in Oslo.")
    nlp.initialize(lambda: [Example.from_dict(doc, {"entities": [(0, 9, "PERSON")]})])
    return nlp


def main(argv: Sequence[str] | None = None) -> dict:
    """Time each pipeline and print the JSON report."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--users", type=int, default=1000, help="demo corpus users")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = generate_demo_corpus(Path(tmp), users=args.users, seed=0)
        with open(corpus.corpus_path, encoding="utf-8") as fh:
            texts = [json.loads(line)["text"] for line in fh]
    mb = sum(len(t.encode()) for t in texts) / 1e6
    bfloat16 = read_ner_model()
    bfloat16.get_pipe(COMPONENT).dtype = torch.bfloat16
    pipelines = {
        "tokenizer_only": spacy.blank("en"),
        "privml_tagger": load_ner_model(),
        "privml_tagger_bfloat16": bfloat16,
        "spacy_ner_w96_d4": spacy_ner(96, 4),
        "spacy_ner_w32_d1": spacy_ner(32, 1),
    }
    rates: dict[str, list[float]] = {name: [] for name in pipelines}
    for nlp in pipelines.values():
        list(nlp.pipe(texts[:200]))  # warm caches
    for _ in range(args.repeat):
        for name, nlp in pipelines.items():
            start = time.perf_counter()
            for _doc in nlp.pipe(texts, batch_size=64):
                pass
            rates[name].append(mb / (time.perf_counter() - start))
    mbps = {name: round(statistics.median(r), 3) for name, r in rates.items()}
    report = {
        "command": " ".join([sys.executable, *sys.argv]),
        "text_mb": round(mb, 3),
        "torch_threads": torch.get_num_threads(),
        "mb_per_s": mbps,
        "tagger_over_spacy_ner_w96_d4": round(mbps["privml_tagger"] / mbps["spacy_ner_w96_d4"], 1),
        "tagger_dtype": str(load_ner_model().get_pipe(COMPONENT)._net().dtype),
        "bfloat16_over_default": round(mbps["privml_tagger_bfloat16"] / mbps["privml_tagger"], 2),
    }
    print(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
