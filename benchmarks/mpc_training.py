"""MPC training against plaintext training of the same recipe, side by side in one run.

Three parties, each a separate process on loopback TCP (``privml mpc launch``), hold
``--rows`` consecutive rows each of the packaged Adult training split and train logistic
regression jointly on Shamir shares (MPyC, fixed point); then the same recipe (hard sigmoid,
batches, epochs, learning rate) runs in plaintext float64 on the pooled rows. Both models are
scored on the full Adult test split (16,281 rows). Reported: training time (secure: from the
first input share to the opened model, the slowest party; plaintext: the gradient-descent
loop), bytes (secure: sent by all parties during input and training; plaintext: the two
non-central parties' encoded rows pooled at party 0) and both test accuracies, plus the
exact-sigmoid float recipe for reference.

    python benchmarks/mpc_training.py [--rows 2000] [--epochs 5] [--batch-size 256] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import yaml

from privml.crypto.mpc.compare import launch_train
from privml.data.adult import COLUMNS


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=2000, help="rows per party")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--lr", type=float, default=1.0)
    ap.add_argument("--out", type=Path, default=None, help="keep the run here (default: temp)")
    args = ap.parse_args()
    n = args.rows
    spec = {
        "name": "mpc-benchmark",
        "parties": [f"adult:train[{i * n}:{(i + 1) * n}]" for i in range(3)],
        "schema": {"columns": list(COLUMNS)},
        "recipe": {"epochs": args.epochs, "learning_rate": args.lr, "batch_size": args.batch_size},
        "test": "adult:test",
        "timeout_s": 120,
    }
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        path = out / "spec.yaml"
        path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
        summary = launch_train(path, out / "run")
    mpc, plain = summary["mpc"], summary["plaintext"]
    print(f"3 parties x {n} rows, {mpc['features']} features, {mpc['steps']} steps")
    print(f"{'':32}{'MPC (3 processes)':>20}{'plaintext pooled':>20}")
    print(f"{'training time (s)':32}{mpc['train_seconds']:>20.2f}{plain['train_seconds']:>20.4f}")
    print(f"{'bytes exchanged':32}{mpc['bytes_sent_total']:>20,}{plain['bytes_pooled']:>20,}")
    acc = f"{100 * mpc['test_accuracy']:.2f}%"
    print(f"{'test accuracy (hard sigmoid)':32}{acc:>20}{100 * plain['test_accuracy']:>19.2f}%")
    exact = 100 * plain["test_accuracy_exact_sigmoid"]
    print(f"{'test accuracy (exact sigmoid)':32}{'':>20}{exact:>19.2f}%")
    print(
        f"accuracy gap: {summary['accuracy_gap_points']:.2f} points; max |w_mpc - w_plain| = "
        f"{summary['max_abs_weight_difference']:.2e}; wall time incl. process start-up "
        f"{mpc['wall_seconds_incl_startup']:.1f} s"
    )
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
