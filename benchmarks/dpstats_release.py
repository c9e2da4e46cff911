"""DP set union side by side: how many items each algorithm releases, and how long it takes.

Two corpora, as issue 8 asks, at ε = 3 and δ = e^-10:

- the demo corpus (``privml demo-data``) with ``--users`` users (default 10,000);
- the packaged public text (WikiText-2 + tinyshakespeare) split into pseudo-users: every
  paragraph/line is cut into chunks of ``--chunk`` words and each chunk is one pseudo-user.

For each, the four algorithms of Gopi et al. (weighted/policy × Laplace/Gaussian) and DPNE
n-grams run ``--repeats`` times with the production randomness (the OS CSPRNG), and the table
gives the mean released count, its spread and the mean time per release. The non-private
count of distinct items is printed for scale. The ledger is not involved (at δ = e^-10 the
default policy δ of 1e-5 would refuse the release); this measures the algorithms only.

    .venv/bin/python benchmarks/dpstats_release.py [--users 10000] [--repeats 3] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import tempfile
import time
from pathlib import Path

from privml.data.demo_corpus import generate_demo_corpus
from privml.dpstats.corpus import read_user_texts, tokenize_users, user_words
from privml.dpstats.ngrams import NgramConfig, dp_ngrams, ngram_counts
from privml.dpstats.set_union import ALGORITHMS, SetUnionConfig, dp_set_union
from privml.model.public_corpus import public_lines
from privml.model.tokenizer import word_splitter

DELTA = math.exp(-10)


def demo_users(users: int, seed: int) -> dict[str, list[list[str]]]:
    with tempfile.TemporaryDirectory() as d:
        generate_demo_corpus(d, users=users, seed=seed)
        return tokenize_users(read_user_texts(Path(d) / "corpus.jsonl"))


def public_pseudo_users(chunk: int) -> dict[str, list[list[str]]]:
    split = word_splitter()
    users: dict[str, list[list[str]]] = {}
    for line in public_lines(("wikitext2", "tinyshakespeare")):
        words = split(line.replace("<unk>", " ").replace(" @", " ").replace("@ ", " "))
        for i in range(0, len(words), chunk):
            if words[i : i + chunk]:
                users[f"p{len(users)}"] = [words[i : i + chunk]]
    return users


def measure(name: str, tokens: dict, args: argparse.Namespace) -> list[dict]:
    words = {u: w for u, w in user_words(tokens).items() if w}
    distinct = len({w for ws in words.values() for w in ws})
    rows = []
    for algorithm in ALGORITHMS:
        cfg = SetUnionConfig(args.epsilon, DELTA, args.max_per_user, algorithm)
        counts, secs = [], []
        for _ in range(args.repeats):
            r = dp_set_union(words, cfg)
            counts.append(len(r.items))
            secs.append(r.seconds)
        rows.append(_row(name, algorithm, len(words), distinct, counts, secs))
        print(_fmt(rows[-1]), flush=True)
    cfg = NgramConfig(args.epsilon, DELTA, 3, args.max_per_user)
    per_level: list[list[int]] = [[], [], []]
    secs = []
    for _ in range(args.repeats):
        r = dp_ngrams(tokens, cfg)
        secs.append(r.seconds)
        for k in range(3):
            per_level[k].append(len(r.levels[k].released))
    for k in range(3):
        distinct_k = len(ngram_counts(tokens.values(), k + 1))
        rows.append(_row(name, f"dpne_{k + 1}gram", len(tokens), distinct_k, per_level[k], secs))
        print(_fmt(rows[-1]), flush=True)
    return rows


def _row(corpus, algorithm, users, distinct, counts, secs) -> dict:
    return {
        "corpus": corpus,
        "algorithm": algorithm,
        "users": users,
        "distinct_items": distinct,
        "released_mean": statistics.mean(counts),
        "released_sd": statistics.stdev(counts) if len(counts) > 1 else 0.0,
        "released": counts,
        "seconds_mean": round(statistics.mean(secs), 3),
    }


def _fmt(r: dict) -> str:
    return (
        f"{r['corpus']:<8} {r['algorithm']:<18} users={r['users']:>6} "
        f"distinct={r['distinct_items']:>7} released={r['released_mean']:>8.1f} "
        f"±{r['released_sd']:<6.1f} time={r['seconds_mean']:.2f}s"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--chunk", type=int, default=40, help="words per public pseudo-user")
    ap.add_argument("--epsilon", type=float, default=3.0)
    ap.add_argument("--max-per-user", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    start = time.perf_counter()
    rows = measure("demo", demo_users(args.users, args.seed), args)
    rows += measure("public", public_pseudo_users(args.chunk), args)
    print(f"total {time.perf_counter() - start:.0f}s")
    if args.json:
        args.json.write_text(
            json.dumps(
                {"args": vars(args) | {"json": str(args.json)}, "delta": DELTA, "rows": rows},
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
