"""Reference-model training time: one vectorised ensemble vs a one-at-a-time loop of ``fit``.

LiRA/RMIA need many reference models trained like the target. Both arms train ``--models``
MLPs (Adult train split, hidden (64,), Adam, batch 256) in this one process on the same data,
the same LiRA half masks, the same recipe and the same per-model seeds (so member i of the
ensemble and loop model i start from the same weights and draw their batches from the same
stream). Reported: wall time of training only (evaluation is outside the timers), the speed
ratio, mean test accuracy of each arm, their agreement, and the in/out train accuracy that
shows how much the recipe overfits. Default threads unless OMP_NUM_THREADS is set.

    .venv/bin/python benchmarks/reference_models.py [--models 64] [--epochs 30]
    .venv/bin/python benchmarks/reference_models.py --dp [--epochs 2]   # DP-SGD ensemble vs Opacus

With ``--dp`` the arms are the DP ensemble (per-sample clipping, CSPRNG noise) and Opacus's
``PrivacyEngine`` (Poisson sampling, its default non-secure noise), one model at a time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings

import numpy as np
import torch

from privml.classifiers import MLP, Recipe
from privml.classifiers.ensemble import EnsembleDP, fit_ensemble, member_seed, random_half_masks
from privml.classifiers.train import fit, predict_logits
from privml.data.adult import load_adult


def _loop_dp(make, X, y, masks, recipe, dp, seed) -> list[torch.nn.Module]:
    from opacus import PrivacyEngine

    models = []
    for i, m in enumerate(masks):
        torch.manual_seed(member_seed(seed, i))
        model = make()
        data = torch.utils.data.TensorDataset(torch.from_numpy(X[m]), torch.from_numpy(y[m]))
        batch = max(1, round(dp.sampling_rate * m.sum()))
        loader = torch.utils.data.DataLoader(data, batch_size=batch)
        opt = torch.optim.Adam(model.parameters(), lr=recipe.lr)
        model, opt, loader = PrivacyEngine().make_private(
            module=model,
            optimizer=opt,
            data_loader=loader,
            noise_multiplier=dp.noise_multiplier,
            max_grad_norm=dp.max_grad_norm,
            poisson_sampling=True,
        )
        for _ in range(recipe.epochs):
            for xb, yb in loader:
                opt.zero_grad(set_to_none=True)
                if len(xb):
                    torch.nn.functional.cross_entropy(model(xb), yb).backward()
                opt.step()
        models.append(model._module.eval())
    return models


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=None, help="default 30 (2 with --dp)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dp", action="store_true", help="time DP-SGD: ensemble vs Opacus loop")
    args = ap.parse_args()
    epochs = args.epochs or (2 if args.dp else 30)
    warnings.filterwarnings("ignore")
    train, test = load_adult("train"), load_adult("test")
    X, y = train.X, train.y
    masks = random_half_masks(args.models, len(y), args.seed)
    recipe = Recipe(epochs=epochs, batch_size=256, lr=1e-3)
    rows = float(masks.sum(1).mean())
    dp = EnsembleDP(1.0, 1.0, recipe.batch_size / rows) if args.dp else None

    def make() -> torch.nn.Module:
        return MLP(X.shape[1], 2, (64,))

    # Warm-up both code paths (first-call costs: allocator, vmap tracing, Opacus imports).
    warm = Recipe(epochs=1, batch_size=recipe.batch_size, lr=recipe.lr)
    fit_ensemble(make, X[:1024], y[:1024], masks[:2, :1024], warm, seed=1, dp=dp)
    if args.dp:
        _loop_dp(make, X[:1024], y[:1024], masks[:1, :1024], warm, dp, seed=1)
    else:
        fit(make(), X[:1024], y[:1024], warm, seed=1)

    load_before = os.getloadavg()[0]
    t = time.perf_counter()
    ens = fit_ensemble(make, X, y, masks, recipe, seed=args.seed, dp=dp)
    t_ens = time.perf_counter() - t
    load_mid = os.getloadavg()[0]
    t = time.perf_counter()
    if args.dp:
        loop = _loop_dp(make, X, y, masks, recipe, dp, args.seed)
    else:
        loop = []
        for i, m in enumerate(masks):
            torch.manual_seed(member_seed(args.seed, i))
            loop.append(fit(make(), X[m], y[m], recipe, seed=member_seed(args.seed, i)))
    t_loop = time.perf_counter() - t
    load_after = os.getloadavg()[0]

    test_ens = ens.logits(test.X).argmax(-1).numpy()
    test_loop = np.stack([predict_logits(m, test.X).argmax(-1).numpy() for m in loop])
    train_hit = ens.logits(X).argmax(-1).numpy() == y
    print(
        json.dumps(
            {
                "models": args.models,
                "arms": "dp-sgd: ensemble vs opacus loop" if args.dp else "non-private",
                "recipe": {"epochs": epochs, "batch_size": recipe.batch_size, "lr": recipe.lr},
                "dp": None if dp is None else dp.__dict__,
                "rows_per_model": round(rows),
                "vectorised_s": round(t_ens, 2),
                "loop_s": round(t_loop, 2),
                "speedup": round(t_loop / t_ens, 2),
                "test_acc_vectorised_mean": round(float((test_ens == test.y).mean()), 4),
                "test_acc_loop_mean": round(float((test_loop == test.y).mean()), 4),
                "test_prediction_agreement": round(float((test_ens == test_loop).mean()), 4),
                "vectorised_train_acc_in": round(float(train_hit[masks].mean()), 4),
                "vectorised_train_acc_out": round(float(train_hit[~masks].mean()), 4),
                "torch_threads": torch.get_num_threads(),
                "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
                "load_avg_1min": [round(v, 2) for v in (load_before, load_mid, load_after)],
                "torch": torch.__version__,
                "cpu": platform.processor() or platform.machine(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
