"""Train the packaged NER model and print its metrics as JSON.

Usage: ``python scripts/train_ner.py --out src/privml/resources/ner/model --seed 0``
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from privml.scrub.ner_train import train_ner


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, train, print metrics."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="src/privml/resources/ner/model")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--n-generated", type=int, default=3000)
    parser.add_argument("--max-minutes", type=float, default=18.0)
    args = parser.parse_args(argv)
    t0 = time.monotonic()

    def progress(epoch: int, loss: float) -> None:
        print(
            f"epoch {epoch} loss {loss:.1f} {time.monotonic() - t0:.0f}s",
            file=sys.stderr,
            flush=True,
        )

    metrics = train_ner(
        args.out,
        seed=args.seed,
        epochs=args.epochs,
        n_generated=args.n_generated,
        max_minutes=args.max_minutes,
        progress=progress,
    )
    print(json.dumps(metrics, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
