"""`privml dpstats ...`: DP vocabularies and DP n-grams from a private JSONL corpus.

Parses arguments and calls :mod:`privml.dpstats`; every release is charged to each contributing
user in the budget ledger before it is computed (a refusal exits 1 and writes nothing).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from privml.cli_budget import LedgerURL, ledger_session

dpstats_app = typer.Typer(
    help="DP statistics: vocabularies (DP set union) and n-grams (DPNE), charged in the ledger.",
    no_args_is_help=True,
)

Corpus = Annotated[Path, typer.Argument(help="private JSONL corpus ({user_id, text} per line)")]
Epsilon = Annotated[float, typer.Option("--epsilon", help="ε of the release")]
Delta = Annotated[float, typer.Option("--delta", help="δ of the release (< the ledger policy δ)")]
MaxPerUser = Annotated[
    int, typer.Option("--max-per-user", help="Δ0: distinct items one user may contribute")
]
Selection = Annotated[
    str,
    typer.Option("--selection", help="which Δ0 items a user keeps: random (paper) or frequent"),
]
TextField = Annotated[str, typer.Option("--text-field", help="JSON field holding the text")]
Quiet = Annotated[bool, typer.Option("--quiet", help="print only the output path")]


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _check_out(out: Path) -> None:
    """Refuse an --out that cannot take the file before anything is charged or computed."""
    if out.is_dir():
        _fail(f"--out: {out} is a directory, expected a JSON file path")
    parent = next((p for p in out.resolve().parents if p.exists()), None)
    if parent is not None and not parent.is_dir():
        _fail(f"--out: {parent} is not a directory")


def _load(corpus: Path, text_field: str) -> dict[str, list[list[str]]]:
    from privml.dpstats.corpus import read_user_texts, tokenize_users

    try:
        return tokenize_users(read_user_texts(corpus, text_field=text_field))
    except ValueError as exc:  # DataError names file:line
        _fail(str(exc))
    raise AssertionError  # unreachable


def _release(ledger: str | None, users: dict, mechanism, kind: str, compute, reason: str):
    """Reserve the cost for ``users``, run ``compute``, commit: (result, charge note)."""
    from privml.dpstats.charged import charged_release

    with ledger_session(ledger) as led:
        return charged_release(led, users, mechanism, kind, compute, reason=reason)


def _write(out: Path, payload: dict) -> None:
    from privml import atomic

    atomic.write_text(out, json.dumps(payload, indent=1, ensure_ascii=False) + "\n")


@dpstats_app.command("vocab")
def vocab(
    corpus: Corpus,
    epsilon: Epsilon,
    delta: Delta,
    max_per_user: MaxPerUser,
    out: Annotated[Path, typer.Option("--out", help="output VOCAB.json")],
    algorithm: Annotated[
        str,
        typer.Option(
            "--algorithm",
            help="policy_gaussian (default), policy_laplace, weighted_gaussian, weighted_laplace",
        ),
    ] = "policy_gaussian",
    alpha: Annotated[float, typer.Option("--alpha", help="policy cutoff Γ = ρ + α·scale")] = 3.0,
    selection: Selection = "random",
    text_field: TextField = "text",
    ledger: LedgerURL = None,
    quiet: Quiet = False,
) -> None:
    """Release a DP vocabulary (DP set union of the users' words) to --out as JSON."""
    from privml.dpstats.corpus import user_words
    from privml.dpstats.set_union import SetUnionConfig, dp_set_union

    try:
        config = SetUnionConfig(epsilon, delta, max_per_user, algorithm, alpha, selection)
    except ValueError as exc:
        _fail(str(exc))
    _check_out(out)
    words = {u: w for u, w in user_words(_load(corpus, text_field)).items() if w}
    if not words:
        _fail(f"{corpus}: no words in any record")
    result, charge = _release(
        ledger,
        words,
        config.mechanism(),
        "vocab",
        lambda: dp_set_union(words, config),
        f"privml dpstats vocab ({algorithm}, ε={epsilon:g}, δ={delta:g})",
    )
    _write(
        out,
        {
            "kind": "dp_vocabulary",
            "tokens": result.items,
            "parameters": config.describe(),
            "charge": charge,
            "seconds": round(result.seconds, 3),
        },
    )
    if not quiet:
        typer.echo(
            f"released {len(result.items)} tokens ({algorithm}, ε={epsilon:g}, δ={delta:g}, "
            f"Δ0={max_per_user}); charged {charge['users_charged']} users "
            f"(ledger run {charge['run_id']})"
        )
    typer.echo(f"wrote {out}")


@dpstats_app.command("ngrams")
def ngrams(
    corpus: Corpus,
    epsilon: Epsilon,
    delta: Delta,
    max_per_user: MaxPerUser,
    out: Annotated[Path, typer.Option("--out", help="output NGRAMS.json")],
    n: Annotated[int, typer.Option("--n", help="longest n-gram released")] = 3,
    eta: Annotated[
        float, typer.Option("--eta", help="spurious bound: expected spurious k-grams ≤ η·|S_k−1|")
    ] = 0.01,
    selection: Selection = "random",
    text_field: TextField = "text",
    ledger: LedgerURL = None,
    quiet: Quiet = False,
) -> None:
    """Release DP 1..n-grams (DPNE, level by level) to --out as JSON."""
    from privml.dpstats.ngrams import NgramConfig, dp_ngrams

    try:
        config = NgramConfig(epsilon, delta, n, max_per_user, eta, selection)
    except ValueError as exc:
        _fail(str(exc))
    _check_out(out)
    tokens = {u: recs for u, recs in _load(corpus, text_field).items() if any(recs)}
    if not tokens:
        _fail(f"{corpus}: no words in any record")
    result, charge = _release(
        ledger,
        tokens,
        config.mechanism(),
        "ngrams",
        lambda: dp_ngrams(tokens, config),
        f"privml dpstats ngrams (DPNE n={n}, ε={epsilon:g}, δ={delta:g})",
    )
    levels = [
        {
            "n": lv.k,
            "threshold": lv.threshold,
            "valid_candidates": lv.valid,
            "expected_spurious_at_most": lv.expected_spurious_max,
            "released": len(lv.released),
            "ngrams": result.grams(lv.k),
        }
        for lv in result.levels
    ]
    _write(
        out,
        {
            "kind": "dp_ngrams",
            "levels": levels,
            "parameters": {
                "epsilon": epsilon,
                "delta": delta,
                "n": n,
                "max_per_user": max_per_user,
                "eta": eta,
                "selection": selection,
                "sigma_per_level": config.sigma,
                "budget_split": "even: each level's Gaussian has σ₁·√n",
            },
            "charge": charge,
            "seconds": round(result.seconds, 3),
        },
    )
    if not quiet:
        counts = ", ".join(f"{lv['n']}-grams: {lv['released']}" for lv in levels)
        typer.echo(f"released {counts}; charged {charge['users_charged']} users")
    typer.echo(f"wrote {out}")


if __name__ == "__main__":
    dpstats_app()
