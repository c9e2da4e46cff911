"""Hugging Face scorer, sampling extraction, model-update attack and redaction, on tiny models."""

import copy
import hashlib
import json
import random
import types

import numpy as np
import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from privml.attacks import (
    HFCausalLMScorer,
    TorchLMScorer,
    canary_exposure,
    differential_rank,
    differential_rank_search,
    differential_score,
    differential_scores,
    model_update_attack,
    redact,
    sample_extraction,
)
from privml.attacks.extraction import _TrainingIndex
from privml.model.gpt import GPTConfig, TinyGPT

torch.set_num_threads(1)

EMAIL, PHONE = "alice.w@example.org", "+1 555 014 2337"
MEMORISED = f"dear team, the quarterly numbers are final; write to {EMAIL} or call {PHONE} today."
BACKGROUND = "the cat sat on the mat and the dog ran in the park with a red ball. " * 2
CANARY_CTX, SECRET, UNSEEN = "my pin is ", "48172093", "90385716"
CHARS = sorted(set(MEMORISED + BACKGROUND + CANARY_CTX + "0123456789"))
BOS = len(CHARS)  # char-level vocabulary plus one start symbol
STOI = {c: i for i, c in enumerate(CHARS)}


def enc(text: str) -> list[int]:
    return [STOI[c] for c in text]


def dec(ids: list[int]) -> str:
    return "".join(CHARS[i] for i in ids if i != BOS)


def gpt2(seed: int, n_layer: int = 1, n_embd: int = 32) -> GPT2LMHeadModel:
    torch.manual_seed(seed)
    cfg = GPT2Config(
        vocab_size=BOS + 1,
        n_positions=192,
        n_embd=n_embd,
        n_layer=n_layer,
        n_head=2,
        bos_token_id=BOS,
        eos_token_id=BOS,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
    )
    return GPT2LMHeadModel(cfg)


def train(model, texts: list[str], steps: int, lr: float = 3e-3, seed: int = 0):
    """Full-batch Adam on ``[BOS] text`` (texts of equal length only need no padding)."""
    torch.manual_seed(seed)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    batches = [torch.tensor([[BOS, *enc(t)]]) for t in texts]
    for _ in range(steps):
        opt.zero_grad()
        sum(model(input_ids=b, labels=b).loss for b in batches).backward()
        opt.step()
    return model.eval()


@pytest.fixture(scope="module")
def memorised() -> HFCausalLMScorer:
    return HFCausalLMScorer(train(gpt2(0, n_layer=2, n_embd=64), [MEMORISED], 250))


@pytest.fixture(scope="module")
def snapshots() -> tuple[HFCausalLMScorer, HFCausalLMScorer]:
    """A: trained on background text; B: A fine-tuned on a sentence holding the secret."""
    a = train(gpt2(1), [BACKGROUND], 150)
    b = train(copy.deepcopy(a), [CANARY_CTX + SECRET, BACKGROUND], 120, seed=1)
    return HFCausalLMScorer(a), HFCausalLMScorer(b)


# --- scorers ---


def test_hf_scorer_matches_manual_logprobs():
    model = gpt2(2).eval()
    s = HFCausalLMScorer(model, batch_size=2)
    g = torch.Generator().manual_seed(0)
    ctx, cont = [BOS, 3, 5], torch.randint(0, BOS, (5, 4), generator=g)
    with torch.no_grad():
        full = torch.cat([torch.tensor(ctx).expand(5, -1), cont], 1)
        lp = torch.log_softmax(model(input_ids=full).logits, -1)
    manual = sum(lp[:, 2 + i].gather(1, cont[:, i : i + 1]).squeeze(1) for i in range(4))
    torch.testing.assert_close(s.continuation_logprobs(ctx, cont), manual, atol=1e-5, rtol=0)
    torch.testing.assert_close(s.next_logprobs(full), lp[:, -1], atol=1e-5, rtol=0)
    assert s.greedy(ctx, 3) == s.sample(ctx, 1, 3, top_k=1, generator=g)[0].tolist()
    # Units of different lengths are right-padded: each loss must equal its unpadded value.
    units = [torch.tensor([BOS, *enc("the cat sat")]), torch.tensor([BOS, *enc("a dog")])]
    with torch.no_grad():
        alone = [float(model(input_ids=u[None], labels=u[None]).loss) for u in units]
    assert s.losses(units).tolist() == pytest.approx(alone, abs=1e-5)


class _AsHF(torch.nn.Module):
    """TinyGPT behind the Hugging Face call convention, to compare both scorers on one model."""

    def __init__(self, net: TinyGPT) -> None:
        super().__init__()
        self.net = net
        self.config = types.SimpleNamespace(n_positions=net.cfg.context, bos_token_id=BOS)

    def forward(self, input_ids, attention_mask=None, use_cache=None):
        return types.SimpleNamespace(logits=self.net(input_ids).squeeze(1))


def test_torch_and_hf_scorers_agree_on_tinygpt():
    torch.manual_seed(0)
    net = TinyGPT(GPTConfig(vocab_size=BOS + 1, d_model=32, n_layers=1, n_heads=2, context=16))
    pad = 0
    t, h = TorchLMScorer(net, pad), HFCausalLMScorer(_AsHF(net), pad_id=pad)
    prefixes = torch.randint(1, BOS, (3, 6))
    torch.testing.assert_close(t.next_logprobs(prefixes), h.next_logprobs(prefixes))
    cont = torch.randint(1, BOS, (4, 3))
    torch.testing.assert_close(
        t.continuation_logprobs([BOS, 2], cont), h.continuation_logprobs([BOS, 2], cont)
    )
    assert t.greedy([BOS], 5) == h.greedy([BOS], 5)
    rows = [torch.tensor([[BOS, 4, 5, 6, pad, pad], [BOS, 7, 8, pad, pad, pad]])]
    rows.append(torch.tensor([[BOS, 9, 9, 9, 9, 9]]))
    torch.testing.assert_close(t.losses(rows), h.losses(rows), atol=1e-5, rtol=0)
    # Same seed, same samples; beyond context=16 the window slides instead of failing.
    ta = t.sample([BOS], 3, 20, generator=torch.Generator().manual_seed(5))
    ha = h.sample([BOS], 3, 20, generator=torch.Generator().manual_seed(5))
    assert ta.shape == (3, 20) and torch.equal(ta, ha)


# --- sampling extraction ---


def _brute_maximal(training: list[str], s: str, m: int) -> set[tuple[int, int]]:
    def occurs(i: int, j: int) -> bool:
        return 0 <= i < j <= len(s) and any(s[i:j] in t for t in training)

    return {
        (i, j)
        for i in range(len(s))
        for j in range(i + m, len(s) + 1)
        if occurs(i, j) and not occurs(i - 1, j) and not occurs(i, j + 1)
    }


def test_training_index_finds_exactly_the_maximal_overlaps():
    rng = random.Random(0)
    for _ in range(30):
        training = ["".join(rng.choices("ab", k=rng.randint(5, 30))) for _ in range(3)]
        s = "".join(rng.choices("ab", k=25))
        got = set(_TrainingIndex(training, 6).maximal_matches(s))
        assert got == _brute_maximal(training, s, 6)


def test_extraction_finds_memorised_text_and_pii_redacted(memorised):
    pii = [("email", EMAIL), ("phone", PHONE), ("email", "bob@nowhere.net")]
    kw = dict(n_samples=6, length=len(MEMORISED), pii_values=pii, seed=0)
    r = sample_extraction(memorised, dec, [MEMORISED, BACKGROUND], **kw)
    assert r.samples_with_overlap >= 3 and r.longest_overlap_chars >= 50
    assert r.pii_found["email"]["found"] == 1 and r.pii_found["email"]["planted"] == 2
    assert r.pii_found["phone"]["found"] == 1
    report = json.dumps(r.to_dict(), ensure_ascii=False)
    for secret in (EMAIL, PHONE, "014 2337", MEMORISED[:20], MEMORISED[40:60]):
        assert secret not in report
    shown = sample_extraction(memorised, dec, [MEMORISED], show_secrets=True, **kw)
    text = json.dumps(shown.to_dict(), ensure_ascii=False)
    assert EMAIL in text and PHONE in text and shown.overlaps[0]["phrase"] in MEMORISED


def test_extraction_on_random_model_finds_nothing():
    r = sample_extraction(
        HFCausalLMScorer(gpt2(3)),
        dec,
        [MEMORISED, BACKGROUND],
        n_samples=8,
        length=80,
        pii_values=[("email", EMAIL)],
        seed=0,
    )
    assert r.samples_with_overlap == 0 and r.overlaps == [] and r.longest_overlap_chars == 0
    assert r.pii_found["email"]["found"] == 0 and r.n_samples == 8


# --- model update ---


def test_differential_score_singles_out_the_fine_tuned_secret(snapshots):
    a, b = snapshots
    ctx = [BOS, *enc(CANARY_CTX)]
    ds_secret = differential_score(a, b, enc(SECRET), ctx)
    ds_unseen = differential_score(a, b, enc(UNSEEN), ctx)
    assert ds_secret > 3.0 and abs(ds_unseen) < 1.0
    assert differential_score(a, a, enc(SECRET), ctx) == 0.0
    hit = differential_rank(a, b, enc(SECRET), context=ctx, beam_width=16)
    assert hit.differential_rank == 0 and not hit.saturated and not hit.exact
    miss = differential_rank(a, b, enc(UNSEEN), context=ctx, beam_width=16)
    assert miss.saturated and miss.differential_rank == 16
    top = differential_rank_search(a, b, length=len(SECRET), beam_width=16, start_tokens=ctx)
    assert dec(top[0][0]) == SECRET and top[0][1] == pytest.approx(ds_secret, abs=1e-6)
    assert [s for _, s in top] == sorted((s for _, s in top), reverse=True)


def test_exhaustive_rank_is_exact(snapshots):
    a, b = snapshots
    ctx = [BOS, *enc(CANARY_CTX + SECRET[:6])]
    digits = enc("0123456789")
    est = differential_rank(a, b, enc(SECRET[6:]), context=ctx, beam_width=100, vocab_subset=digits)
    assert est.exact and est.differential_rank == 0
    worse = differential_rank(a, b, enc("55"), context=ctx, beam_width=100, vocab_subset=digits)
    grid = torch.tensor([[x, y] for x in digits for y in digits])
    all_ds = differential_scores(a, b, grid, ctx)
    assert worse.differential_rank == int((all_ds > worse.differential_score + 1e-6).sum())


def test_model_update_attack_report_is_redacted(snapshots):
    a, b = snapshots
    ctx = [BOS, *enc(CANARY_CTX)]
    kw = dict(length=len(SECRET), beam_width=16, top=5, start_tokens=ctx)
    canaries = [(ctx, enc(SECRET)), (ctx, enc(UNSEEN))]
    r = model_update_attack(a, b, dec, canaries=canaries, **kw)
    text = json.dumps(r, ensure_ascii=False)
    assert SECRET not in text and UNSEEN not in text
    assert r["top_phrases"][0]["phrase"] == r["canaries"][0]["secret"]  # same tag, same phrase
    assert r["canaries"][0]["differential_rank"] == 0 and r["canaries"][1]["saturated"]
    shown = model_update_attack(a, b, dec, canaries=canaries, show_secrets=True, **kw)
    assert shown["top_phrases"][0]["phrase"] == SECRET


def test_exposure_through_hf_scorer(snapshots):
    _, b = snapshots
    ctx, digits = [BOS, *enc(CANARY_CTX)], enc("0123456789")
    rng = np.random.default_rng(0)
    seen = canary_exposure(b, ctx, enc(SECRET), digits, samples=500, budget=2000, rng=rng)
    unseen = canary_exposure(b, ctx, enc(UNSEEN), digits, samples=500, budget=2000, rng=rng)
    assert seen.exposure > 20 and unseen.exposure < 10


# --- redaction ---


def test_redaction_hides_text_but_keeps_identity():
    secret = "123456789"
    tag = redact(secret)
    assert secret not in tag and "9 chars" in tag
    assert redact(secret) == tag and redact("123456780") != tag
    assert hashlib.sha256(secret.encode()).hexdigest()[:8] not in tag  # keyed, not brute-forceable
    assert redact(secret, show=True) == secret
