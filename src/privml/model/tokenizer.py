"""Word-level tokenizer trained on the PUBLIC corpus only.

Why public only: a vocabulary learned from private text keeps rare names, e-mail addresses or
phone numbers as tokens, and the tokenizer file then leaks them. Digits are split one per token
so any number (and any canary secret) can be written without a private vocabulary.
Why word-level: the utility metric is next-word accuracy, which is then one prediction per word.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

from privml import atomic
from privml.scrub.base import ENTITY_TYPES, tag

PAD, UNK, BOS, EOS = "[PAD]", "[UNK]", "[BOS]", "[EOS]"
SPECIAL_TOKENS = [PAD, UNK, BOS, EOS]
# PII type tags written by the scrubber (fixed names, not learned from data), plus the types
# a learned NER recognizer may add later.
TAG_TOKENS = [tag(t) for t in (*ENTITY_TYPES, "LOCATION", "ORGANIZATION")]


def _clean_public_line(line: str) -> str:
    # WikiText marks out-of-vocabulary words as "<unk>" and hyphens as "@-@".
    return line.replace("<unk>", " ").replace(" @", " ").replace("@ ", " ")


def _normalizer() -> normalizers.Normalizer:
    return normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])


def _pre_tokenizer() -> pre_tokenizers.PreTokenizer:
    return pre_tokenizers.Sequence(
        [pre_tokenizers.Whitespace(), pre_tokenizers.Digits(individual_digits=True)]
    )


def word_splitter() -> Callable[[str], list[str]]:
    """Text -> the words the tokenizer would look up (normalized, split, one digit each)."""
    norm, pre = _normalizer(), _pre_tokenizer()

    def split(text: str) -> list[str]:
        return [w for w, _ in pre.pre_tokenize_str(norm.normalize_str(text))]

    return split


def train_tokenizer(
    lines: Iterable[str], vocab_size: int = 4096, min_frequency: int = 2
) -> Tokenizer:
    """Train a lower-cased word-level tokenizer with one token per digit."""
    tok = Tokenizer(models.WordLevel(unk_token=UNK))
    tok.normalizer = _normalizer()
    tok.pre_tokenizer = _pre_tokenizer()
    trainer = trainers.WordLevelTrainer(
        vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=SPECIAL_TOKENS
    )
    tok.train_from_iterator((_clean_public_line(x) for x in lines), trainer=trainer)
    return _finish(tok)


def _finish(tok: Tokenizer) -> Tokenizer:
    tok.add_special_tokens(TAG_TOKENS)
    missing = [d for d in "0123456789" if tok.token_to_id(d) is None]
    if missing:  # digits must always be representable (canaries, numbers)
        tok.add_tokens(missing)
    return tok


def extend_tokenizer(tok: Tokenizer, words: Iterable[str]) -> tuple[Tokenizer, list[str]]:
    """A new tokenizer with ``words`` appended to ``tok``'s word vocabulary; also the words added.

    Words are appended to the word-level model itself (not as "added tokens", which the
    tokenizers library would match inside other words). Only words the splitter produces
    whole and that are not yet in the vocabulary are added; multi-digit or multi-piece
    strings never are. Existing word ids are unchanged; the type tags are re-added after.
    """
    split = word_splitter()
    vocab = tok.get_vocab(with_added_tokens=False)
    added: list[str] = []
    for w in words:
        if w not in vocab and split(w) == [w] and not (len(w) > 1 and w.isdigit()):
            vocab[w] = len(vocab)
            added.append(w)
    new = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK))
    new.normalizer = _normalizer()
    new.pre_tokenizer = _pre_tokenizer()
    new.add_special_tokens(SPECIAL_TOKENS)
    return _finish(new), added


def save_tokenizer(tok: Tokenizer, path: str | Path) -> Path:
    return atomic.write_text(path, tok.to_str(pretty=False))


def load_tokenizer(path: str | Path) -> Tokenizer:
    return Tokenizer.from_file(str(path))


def digit_ids(tok: Tokenizer) -> list[int]:
    """Token ids of the digits 0-9, in order."""
    return [tok.token_to_id(str(d)) for d in range(10)]
