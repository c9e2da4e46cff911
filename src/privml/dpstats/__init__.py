"""privml.dpstats: DP statistics over private text, before any model is trained.

- ``set_union``: DP set union (Gopi et al. 2020): which items (e.g. words for a vocabulary)
  may be released, with weighted and policy Laplace/Gaussian algorithms.
- ``ngrams``: DP n-gram extraction (Kim et al. 2021), level by level.
- ``corpus``: per-user items from the project's JSONL corpus, tokenized like the tokenizer.
- ``calibrate``: the noise scales and thresholds, exactly as in the papers.
"""

from privml.dpstats.ngrams import NgramConfig, NgramResult, dp_ngrams
from privml.dpstats.set_union import ALGORITHMS, SetUnionConfig, SetUnionResult, dp_set_union

__all__ = [
    "ALGORITHMS",
    "NgramConfig",
    "NgramResult",
    "SetUnionConfig",
    "SetUnionResult",
    "dp_ngrams",
    "dp_set_union",
]
