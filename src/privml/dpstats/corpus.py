"""Per-user items from the project's private JSONL corpus, split like the tokenizer splits.

Words are what the word-level tokenizer would look up (NFKC, lower case, one token per digit),
so a released vocabulary can extend the tokenizer directly. The scrubber's type tags
(``<PERSON>``) are special tokens of the tokenizer, never words, and are taken out first.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from privml.data.records import read_records
from privml.model.tokenizer import TAG_TOKENS, word_splitter

_TAGS = re.compile("|".join(re.escape(t) for t in TAG_TOKENS))


def read_user_texts(
    path: str | Path, *, text_field: str = "text", skip_bad_rows: bool = False
) -> dict[str, list[str]]:
    """user_id -> that user's texts, in file order. Bad rows raise DataError (file:line)."""
    result = read_records(path, text_field=text_field, skip_bad_rows=skip_bad_rows)
    by_user: dict[str, list[str]] = defaultdict(list)
    for r in result.records:
        by_user[r.user_id].append(r.text)
    return dict(by_user)  # never empty: read_records refuses a file without a good row


def tokenize_users(texts_by_user: dict[str, list[str]]) -> dict[str, list[list[str]]]:
    """user_id -> one word list per text (tags removed)."""
    split = word_splitter()
    return {
        user: [split(_TAGS.sub(" ", text)) for text in texts]
        for user, texts in texts_by_user.items()
    }


def user_words(tokens_by_user: dict[str, list[list[str]]]) -> dict[str, list[str]]:
    """user_id -> all of the user's words (repeats kept: the 'frequent' selection counts them)."""
    return {u: [w for rec in recs for w in rec] for u, recs in tokens_by_user.items()}
