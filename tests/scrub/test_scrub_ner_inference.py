"""The tagger's inference path gives TokenCNN's scores; bfloat16 stays close; dtype override."""

from __future__ import annotations

import pytest
import torch

from privml.scrub import ner_inference
from privml.scrub.ner_inference import DTYPE_ENV, InferenceNet, inference_dtype, padded_rows
from privml.scrub.ner_tagger import COMPONENT, TaggerConfig
from privml.scrub.ner_train import blank_ner

TEXTS = ["Anna Berg lives in Oslo.", "", "Call Bob at 555 0101", "x " * 40, "Dr. Lee, 12 Elm St."]


def _tagger_and_inputs():
    torch.manual_seed(0)
    nlp = blank_ner(TaggerConfig(width=24, embed=8, depth=3))
    tagger = nlp.get_pipe(COMPONENT)
    # A trained model has large weights; make the random ones large enough to matter.
    with torch.no_grad():
        for p in tagger.model.parameters():
            p.mul_(3.0)
    (ids, gaz, mask), _ = tagger.featurize([nlp.make_doc(t) for t in TEXTS])
    return tagger, (ids, gaz, mask)


def test_float32_inference_matches_the_training_network() -> None:
    tagger, inputs = _tagger_and_inputs()
    with torch.inference_mode():
        expected = tagger.model.eval()(*inputs)
        got = InferenceNet(tagger.model, torch.float32)(*inputs)
    assert got.dtype == torch.float32 and got.shape == expected.shape
    assert torch.allclose(got, expected, atol=1e-4, rtol=1e-4)
    assert torch.equal(got.argmax(1), expected.argmax(1))


def test_bfloat16_inference_stays_close() -> None:
    tagger, inputs = _tagger_and_inputs()
    with torch.inference_mode():
        expected = tagger.model.eval()(*inputs)
        got = InferenceNet(tagger.model, torch.bfloat16)(*inputs)
    assert got.dtype == torch.float32
    scale = expected.abs().max()
    assert (got - expected).abs().max() <= 0.05 * scale


def test_predict_rebuilds_after_the_weights_change(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DTYPE_ENV, "float32")
    tagger, inputs = _tagger_and_inputs()
    first = tagger._net()
    assert tagger._net() is first  # cached while the weights stay the same
    with torch.no_grad():
        tagger.model.out.bias[0] += 1e4  # everything becomes O
    second = tagger._net()
    assert second is not first
    with torch.inference_mode():
        assert (second(*inputs).argmax(1) == 0).all()


def test_dtype_default_override_and_its_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DTYPE_ENV, raising=False)
    monkeypatch.setattr(ner_inference, "native_bfloat16", lambda: True)
    assert inference_dtype() == torch.bfloat16  # native bfloat16: the faster default
    monkeypatch.setattr(ner_inference, "native_bfloat16", lambda: False)
    assert inference_dtype() == torch.float32  # emulated bfloat16 would be slower
    monkeypatch.setenv(DTYPE_ENV, "BFloat16")
    assert inference_dtype() == torch.bfloat16
    monkeypatch.setenv(DTYPE_ENV, "auto")
    assert inference_dtype() == torch.float32
    monkeypatch.setenv(DTYPE_ENV, "fp8")
    with pytest.raises(ValueError, match=f"{DTYPE_ENV}: expected one of"):
        inference_dtype()


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_every_product_runs_on_a_ladder_shape(
    monkeypatch: pytest.MonkeyPatch, dtype: torch.dtype
) -> None:
    """oneDNN keeps a kernel per shape: a per-batch row count grew memory in bfloat16."""
    tagger, _ = _tagger_and_inputs()
    net = InferenceNet(tagger.model, dtype)
    ladder = {padded_rows(n) for n in range(1, 5000)}
    rows: list[int] = []
    addmm = torch.addmm

    def recording(bias: torch.Tensor, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        rows.append(x.shape[0])
        return addmm(bias, x, w)

    monkeypatch.setattr(torch, "addmm", recording)
    nlp = blank_ner(TaggerConfig(width=24, embed=8, depth=3))
    for k in (1, 3, 7, 20):  # batches of different lengths
        (ids, gaz, mask), _ = tagger.featurize([nlp.make_doc(t) for t in TEXTS * k])
        with torch.inference_mode():
            scores = net(ids, gaz, mask)
        assert len(scores) == len(mask)  # sliced back to the batch's own rows
    # The first and last products see the padded rows, the convolutions two fewer.
    assert len(rows) == 4 * (2 + 3) and all(r in ladder or r + 2 in ladder for r in rows)
    assert len(set(rows)) < len(rows) / 2
