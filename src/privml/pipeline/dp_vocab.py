"""Pipeline step: extend the public tokenizer with a DP vocabulary from the private corpus.

Orchestration only (the release is :mod:`privml.dpstats`, the tokenizer :mod:`privml.model`).
The words come from the training users' texts as the models see them (scrubbed when the run
scrubs), each user contributes at most Δ0 distinct words, and the release is charged to every
training user in the ledger before it is computed.
"""

from __future__ import annotations

from typing import Any

from tokenizers import Tokenizer

from privml.dpstats.charged import charged_release
from privml.dpstats.corpus import tokenize_users, user_words
from privml.dpstats.set_union import SetUnionConfig, dp_set_union
from privml.model.tokenizer import extend_tokenizer
from privml.pipeline import budget


def extend_with_dp_vocab(
    tok: Tokenizer,
    texts_by_user: dict[str, list[str]],
    spec: Any,
    ledger_url: str | None,
    name: str,
) -> tuple[Tokenizer, dict]:
    """The extended tokenizer and the facts for results.json (counts and ε, never the words)."""
    sec = spec.model.dp_vocab
    config = SetUnionConfig(
        sec.epsilon, sec.delta, sec.max_per_user, sec.algorithm, selection=sec.selection
    )
    words = {u: w for u, w in user_words(tokenize_users(texts_by_user)).items() if w}
    ledger = budget.open_ledger(ledger_url)
    try:
        result, charge = charged_release(
            ledger,
            words,
            config.mechanism(),
            "vocab",
            lambda: dp_set_union(words, config),
            reason=f"privml run {name}: DP vocabulary for the tokenizer",
        )
    finally:
        ledger.close()
    new_tok, added = extend_tokenizer(tok, result.items)
    facts = {
        "enabled": True,
        "released": len(result.items),
        "added": len(added),
        "already_in_public_vocabulary": len(result.items) - len(added),
        **{k: v for k, v in config.describe().items() if v is not None},
        "users_charged": charge["users_charged"],
        "ledger_run_id": charge["run_id"],
        "seconds": round(result.seconds, 2),
    }
    return new_tok, facts
