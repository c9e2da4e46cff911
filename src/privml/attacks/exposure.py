"""Canary exposure (Carlini et al., "The Secret Sharer", 2019).

exposure = log2|R| - log2 rank, where rank is the canary's position among all candidates of its
randomness space R ordered by model likelihood (rank 1 = most likely). For a secret of d
digits |R| = 10^d. Two estimators:

- exact: a pruned search over the digit tree counts every candidate more likely than the canary.
  Log-probabilities only fall as digits are added, so a prefix already less likely than the
  canary is pruned. Cheap exactly when the canary is well memorised (small rank).
- sampled / skew-normal: when the search frontier grows past a budget, sample candidates
  uniformly from R. If enough samples are more likely than the canary, the rank is read off the
  samples ("sampled"); if (almost) none are, a skew-normal is fitted to their negative
  log-likelihoods and the canary's tail probability is read off the fit ("skew-normal", the
  extrapolation of the paper, section 4.3).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from scipy import stats

from privml.attacks.lm import CausalLMScorer


@dataclass(frozen=True)
class ExposureResult:
    exposure: float
    log2_space: float
    method: str  # "exact", "sampled" or "skew-normal"
    rank: float


def _exact_rank(
    scorer: CausalLMScorer,
    context: Sequence[int],
    alphabet: Sequence[int],
    target_lp: float,
    length: int,
    budget: int,
) -> int | None:
    """Number of candidates strictly more likely than the canary, or None past ``budget``."""
    alpha = torch.tensor(list(alphabet), dtype=torch.long)
    prefixes = torch.empty((1, 0), dtype=torch.long)
    lps = torch.zeros(1, dtype=torch.float64)
    ctx = torch.tensor(list(context), dtype=torch.long)
    margin = 1e-6  # ties count as not-better; float noise must not create spurious ties
    for _ in range(length):
        seqs = torch.cat([ctx.expand(len(prefixes), -1), prefixes], dim=1)
        nxt = scorer.next_logprobs(seqs)[:, alpha].double()  # (P, |alphabet|)
        cand = lps[:, None] + nxt
        keep = cand > target_lp + margin
        if int(keep.sum()) > budget:
            return None
        rows, cols = keep.nonzero(as_tuple=True)
        prefixes = torch.cat([prefixes[rows], alpha[cols][:, None]], dim=1)
        lps = cand[rows, cols]
        if len(prefixes) == 0:
            return 0
    return len(prefixes)


def canary_exposure(
    scorer: CausalLMScorer,
    context: Sequence[int],
    secret: Sequence[int],
    alphabet: Sequence[int],
    *,
    samples: int = 2000,
    budget: int = 4000,
    rng: np.random.Generator | None = None,
) -> ExposureResult:
    """Exposure of ``secret`` (token ids over ``alphabet``) after ``context``."""
    length = len(secret)
    log2_space = length * math.log2(len(alphabet))
    secret_t = torch.tensor([list(secret)], dtype=torch.long)
    target_lp = float(scorer.continuation_logprobs(context, secret_t)[0])
    better = _exact_rank(scorer, context, alphabet, target_lp, length, budget)
    if better is not None:
        rank = better + 1
        return ExposureResult(log2_space - math.log2(rank), log2_space, "exact", float(rank))
    rng = rng or np.random.default_rng(0)  # attack sampling, not DP noise: seeded on purpose
    cand = torch.tensor(np.asarray(alphabet)[rng.integers(0, len(alphabet), (samples, length))])
    nll = -scorer.continuation_logprobs(context, cand).double().numpy()
    x = -target_lp
    better = int(np.sum(nll < x - 1e-9))
    ties = int(np.sum(np.abs(nll - x) <= 1e-9))
    p = (better + 0.5 * ties + 1) / (samples + 1)  # empirical share of R more likely than x
    method = "sampled"
    if better < 10 and np.std(nll) > 1e-9:
        # The canary lies beyond (almost) all samples: extrapolate the tail with the fit.
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                a, loc, scale = stats.skewnorm.fit(nll)
            p, method = float(stats.skewnorm.cdf(x, a, loc, scale)), "skew-normal"
        except (stats.FitError, ValueError, RuntimeError):
            pass
    p = min(max(p, 2.0**-log2_space), 1.0)
    exposure = max(0.0, -math.log2(p))
    return ExposureResult(exposure, log2_space, method, p * 2**log2_space)
