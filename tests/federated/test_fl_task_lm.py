"""The text federated task: users as clients, public-only tokenizer, per-user attack scores."""

import pytest
import torch

from privml.data.demo_corpus import generate_demo_corpus
from privml.federated.task_tabular import get_weights, set_weights
from privml.federated.tasks import task_for
from privml.model.public_corpus import public_lines
from privml.model.tokenizer import save_tokenizer, train_tokenizer


@pytest.fixture(scope="module")
def cfg(tmp_path_factory):
    d = tmp_path_factory.mktemp("fl-text")
    generate_demo_corpus(d, users=120, seed=4)
    save_tokenizer(train_tokenizer(public_lines(("tinyshakespeare",)), 512), d / "tok.json")
    return {
        "dataset": "text",
        "private-path": str(d / "corpus.jsonl"),
        "tokenizer-path": str(d / "tok.json"),
        "clients": 80,
        "holdout-clients": 20,
        "context": 32,
        "seed": 0,
        "d-model": 32,
        "layers": 1,
        "heads": 2,
        "local-epochs": 2,
        "batch-size": 8,
        "lr": 0.01,
        "optimizer": "adam",
    }


def test_users_are_clients_and_the_split_is_seeded(cfg):
    task = task_for(cfg)
    ds = task.dataset(cfg)
    assert len(ds.units) == 100 and ds.clients == 80 and len(ds.heldout()) == 20
    again = task.dataset({**cfg})  # cached, same split
    assert all(torch.equal(a, b) for a, b in zip(ds.units, again.units, strict=True))
    assert all(u.shape[1] == 33 and u.shape[0] >= 1 for u in ds.units)


def test_local_training_fits_the_users_rows_and_scores_are_per_user(cfg):
    task = task_for(cfg)
    ds = task.dataset(cfg)
    model = task.model(cfg, ds)
    start = get_weights(model)
    before = task.scores(model, ds)[0][0]
    for _ in range(3):
        task.train(model, ds, 0, cfg, seed=1)
    after = task.scores(model, ds)
    assert after[0][0] < before  # the client's own loss fell
    assert len(after) == 100 and all(s.shape == (1,) for s in after)
    assert 0.0 <= task.evaluate(model, ds)["accuracy"] <= 1.0
    set_weights(model, start)
    assert task.scores(model, ds)[0][0] == pytest.approx(before, rel=1e-6)


def test_too_few_users_and_unknown_dataset_are_clear_errors(cfg):
    with pytest.raises(ValueError, match="fewer than data.clients"):
        task_for(cfg).dataset({**cfg, "clients": 500})
    with pytest.raises(ValueError, match="dataset: must be one of"):
        task_for({"dataset": "images"})
