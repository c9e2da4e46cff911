"""The learned NER model: a small PyTorch CNN token tagger, run as a spaCy pipeline component.

Why not spaCy's own ``ner`` component: its transition-based parser runs one decision at a time
per token and measured 0.09 MB/s per core here (width 96, depth 4), and still only 0.24 MB/s
with a width-32, depth-1 network -- a floor set by the parser loop, not by the network; the target
is 0.5 MB/s for the whole scrubber. This tagger keeps spaCy's input representation (hash
embeddings of NORM, PREFIX, SUFFIX and SHAPE, as in ``HashEmbedCNN``), adds name-list
(gazetteer) flags, and labels every token at once: a batch of documents is packed into ONE
sequence (gaps of ``depth`` zero positions between documents, re-zeroed after every layer, so
each document is tagged exactly as if alone) and goes through a few convolutions in a single
PyTorch call. BENCHMARKS.md (Scrubbing) has the speed and accuracy of both.

Tags are BILUO over :data:`privml.scrub.ner_data.NER_LABELS`; :func:`decode` turns the argmax tags
into entity spans (a B/U or a change of label opens an entity, L/U closes it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

import numpy as np
import torch
from spacy.attrs import LOWER, NORM, PREFIX, SHAPE, SUFFIX
from spacy.language import Language
from spacy.strings import get_string_id
from spacy.tokens import Doc, Span
from torch import nn

from privml.scrub.ner_data import NER_LABELS
from privml.scrub.ner_inference import InferenceNet, inference_dtype, weights_version

ATTRS = (NORM, PREFIX, SUFFIX, SHAPE, LOWER)  # the first four are embedded, LOWER is looked up
N_GAZETTEERS = 2  # token is a listed first name / a listed surname
COMPONENT = "privml_ner_tagger"
WEIGHTS, CONFIG = "tagger.pt", "tagger.json"


def tag_names(labels: Sequence[str] = NER_LABELS) -> tuple[str, ...]:
    """``("O", "B-PERSON", "I-PERSON", "L-PERSON", "U-PERSON", ...)``: index 0 is O."""
    return ("O", *(f"{p}-{label}" for label in labels for p in "BILU"))


@dataclass(frozen=True)
class TaggerConfig:
    """Sizes of the network (what ``tagger.json`` stores next to the weights)."""

    rows: tuple[int, ...] = (50000, 5000, 10000, 1000)  # hash-embedding rows per attribute
    embed: int = 32
    width: int = 96
    depth: int = 4  # receptive field: 4 tokens each side
    labels: tuple[str, ...] = NER_LABELS
    # Subtracted from the O score before the argmax: > 0 trades precision for recall. Chosen
    # after training on validation sentences (``ner_train.choose_o_bias``), never on test data.
    o_bias: float = 0.0

    @classmethod
    def from_dict(cls, d: dict) -> TaggerConfig:  # noqa: D102
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


class TokenCNN(nn.Module):
    """Hash embeddings + gazetteer flags -> a linear mix -> ``depth`` residual convolutions
    (kernel 3) -> tag scores. Works on one packed sequence with a 0/1 ``mask`` of real tokens."""

    def __init__(self, cfg: TaggerConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.embeds = nn.ModuleList(nn.Embedding(r, cfg.embed) for r in cfg.rows)
        self.mix = nn.Linear(len(cfg.rows) * cfg.embed + N_GAZETTEERS, cfg.width)
        self.convs = nn.ModuleList(
            nn.Conv1d(cfg.width, cfg.width, 3, padding=1) for _ in range(cfg.depth)
        )
        self.out = nn.Linear(cfg.width, len(tag_names(cfg.labels)))
        self.dropout = nn.Dropout(0.1)

    def forward(self, ids: torch.Tensor, gaz: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``ids`` (L, 4) rows, ``gaz`` (L, 2), ``mask`` (L,) -> tag scores (L, n_tags)."""
        x = torch.cat([emb(ids[:, i]) for i, emb in enumerate(self.embeds)] + [gaz], dim=1)
        m = mask.unsqueeze(0)
        h = torch.relu(self.mix(self.dropout(x))).T.unsqueeze(0) * m  # (1, width, L)
        for conv in self.convs:
            h = (h + torch.relu(conv(h))) * m  # gaps stay zero: documents never mix
        return self.out(h[0].T)


@lru_cache(maxsize=N_GAZETTEERS)
def _name_hashes(which: int) -> np.ndarray:
    """spaCy hashes of the lower-cased packaged first names (0) or surnames (1), sorted."""
    name = ("first_names.txt", "last_names.txt")[which]
    text = (files("privml") / "resources" / "names" / name).read_text(encoding="utf-8")
    words = {w.strip().lower() for w in text.splitlines() if w.strip()}
    return np.array(sorted(get_string_id(w) for w in words), dtype=np.uint64)


class Featurizer:
    """Docs -> the packed ``(ids, gaz, mask)`` tensors and each doc's offset in the sequence."""

    def __init__(self, cfg: TaggerConfig) -> None:
        self.rows = np.array(cfg.rows, dtype=np.uint64)
        self.gap = cfg.depth  # >= the receptive field's half-width: documents cannot mix
        # One sorted array of every listed name's hash, with its flags (first name, surname):
        # one binary search per token instead of one per list.
        lists = [_name_hashes(i) for i in range(N_GAZETTEERS)]
        self.names = np.unique(np.concatenate(lists))
        self.flags = np.stack([np.isin(self.names, x) for x in lists], axis=1).astype(np.float32)

    def __call__(self, docs: Sequence[Doc]) -> tuple[tuple[torch.Tensor, ...], list[int]]:
        lengths = np.array([len(doc) for doc in docs], dtype=np.int64)
        starts = self.gap + np.concatenate([[0], np.cumsum(lengths + self.gap)[:-1]])
        total = int(lengths.sum()) + self.gap * (len(docs) + 1)
        ids = np.zeros((total, len(self.rows)), dtype=np.int64)
        gaz = np.zeros((total, N_GAZETTEERS), dtype=np.float32)
        mask = np.zeros(total, dtype=np.float32)
        if lengths.sum():
            cols = np.concatenate([doc.to_array(list(ATTRS)) for doc in docs if len(doc)])
            # position of every token in the packed sequence
            pos = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
            pos += np.arange(len(pos))
            ids[pos] = (cols[:, :4] % self.rows).astype(np.int64)
            i = np.searchsorted(self.names, cols[:, 4]).clip(max=len(self.names) - 1)
            gaz[pos] = self.flags[i] * (self.names[i] == cols[:, 4])[:, None]
            mask[pos] = 1.0
        tensors = (torch.from_numpy(ids), torch.from_numpy(gaz), torch.from_numpy(mask))
        return tensors, starts.tolist()


def decode(tags: Sequence[int], names: Sequence[str]) -> list[tuple[int, int, str]]:
    """``(start_token, end_token, label)`` entities from BILUO tag indices (tolerant: an I or L
    without a B opens an entity, and a change of label closes one)."""
    out: list[tuple[int, int, str]] = []
    cur: list | None = None
    for i in np.flatnonzero(np.asarray(tags)):
        prefix, label = names[tags[i]].split("-", 1)
        if cur is None or prefix in "BU" or cur[2] != label or cur[1] != i:
            if cur is not None:
                out.append(tuple(cur))
            cur = [i, i, label]
        cur[1] = i + 1
        if prefix in "LU":
            out.append(tuple(cur))
            cur = None
    if cur is not None:
        out.append(tuple(cur))
    return [(int(s), int(e), label) for s, e, label in out]


class NerTagger:
    """The spaCy component: sets ``doc.ents`` from the tagger's predictions, in batches."""

    def __init__(self, nlp: Language, name: str, cfg: TaggerConfig | None = None) -> None:
        self.name = name
        self.reset(cfg or TaggerConfig())

    def set_o_bias(self, o_bias: float) -> None:
        """Use ``o_bias`` (see :class:`TaggerConfig`) from now on; the weights are kept."""
        self.cfg = replace(self.cfg, o_bias=float(o_bias))

    def reset(self, cfg: TaggerConfig) -> None:
        """A fresh, untrained network of the given sizes."""
        self.cfg = cfg
        self.model = TokenCNN(cfg).eval()
        self.tags = tag_names(cfg.labels)
        self.featurize = Featurizer(cfg)
        self._inference: InferenceNet | None = None
        # Inference precision: None follows ``ner_inference.inference_dtype()`` (bfloat16 where
        # the CPU has it natively, else float32; PRIVML_NER_DTYPE overrides); benchmarks set
        # one to time both in one run.
        self.dtype: torch.dtype | None = None

    def _net(self) -> InferenceNet | TokenCNN:
        """The network to predict with: in eval mode, an ``InferenceNet`` of the current weights
        (rebuilt when they change or the wanted dtype does); in training mode the model itself."""
        if self.model.training:
            return self.model
        net, dtype = self._inference, self.dtype or inference_dtype()
        if net is None or net.dtype != dtype or net.version != weights_version(self.model):
            net = self._inference = InferenceNet(self.model, dtype)
        return net

    def __call__(self, doc: Doc) -> Doc:  # noqa: D102
        return next(self.pipe([doc]))

    def pipe(self, docs: Iterable[Doc], batch_size: int = 128) -> Iterator[Doc]:
        """Tag ``docs`` ``batch_size`` at a time: one forward pass per batch."""
        batch: list[Doc] = []
        for doc in docs:
            batch.append(doc)
            if len(batch) >= batch_size:
                yield from self._tag(batch)
                batch = []
        if batch:
            yield from self._tag(batch)

    def predict(self, docs: Sequence[Doc]) -> list[np.ndarray]:
        """The argmax tag index of every token, per doc."""
        (ids, gaz, mask), starts = self.featurize(docs)
        with torch.inference_mode():
            scores = self._net()(ids, gaz, mask)
            scores[:, 0] -= self.cfg.o_bias
            best = scores.argmax(dim=1).numpy()
        return [best[s : s + len(doc)] for doc, s in zip(docs, starts, strict=True)]

    def _tag(self, docs: list[Doc]) -> list[Doc]:
        for doc, tags in zip(docs, self.predict(docs), strict=True):
            doc.set_ents([Span(doc, s, e, label) for s, e, label in decode(tags, self.tags)])
        return docs

    def to_disk(self, path: str | Path, exclude: Iterable[str] = ()) -> None:
        """Weights (``tagger.pt``, a plain state dict) and sizes (``tagger.json``)."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        torch.save(self.model.state_dict(), path / WEIGHTS)
        (path / CONFIG).write_text(json.dumps(asdict(self.cfg), indent=1), encoding="utf-8")

    def from_disk(self, path: str | Path, exclude: Iterable[str] = ()) -> NerTagger:
        """Load what :meth:`to_disk` wrote (``weights_only``: no pickled code is run)."""
        path = Path(path)
        try:
            cfg = TaggerConfig.from_dict(json.loads((path / CONFIG).read_text(encoding="utf-8")))
        except (ValueError, TypeError) as exc:  # bad JSON, unknown or missing sizes
            msg = f"{path / CONFIG}: not a privml tagger configuration ({exc})"
            raise ValueError(msg) from None
        self.reset(cfg)
        self.model.load_state_dict(torch.load(path / WEIGHTS, weights_only=True))
        return self


@Language.factory(COMPONENT)
def make_ner_tagger(nlp: Language, name: str) -> NerTagger:
    """spaCy factory, so that ``spacy.load`` rebuilds the component from ``config.cfg``."""
    return NerTagger(nlp, name)
