"""MPC specs, addresses, mismatch messages and the plaintext recipe (no processes, fast)."""

import re

import numpy as np
import pytest
from typer.testing import CliRunner

from privml.cli_mpc import mpc_app
from privml.crypto.mpc.recipe import batches, hard_sigmoid, train_plain
from privml.crypto.mpc.runtime import MPCError, disagreement, parse_parties
from privml.crypto.mpc.spec import (
    Recipe,
    Schema,
    SpecError,
    load_predict_spec,
    load_source,
    load_train_spec,
    schema_hash,
)

SPEC = """\
parties: ["adult:train[0:100]", "adult:train[100:200]", "adult:train[200:300]"]
schema: {columns: [age, sex]}
recipe: {epochs: 1, learning_rate: 0.5, batch_size: 32}
"""


def _spec(tmp_path, text, name="spec.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_valid_spec_loads_and_sources_encode(tmp_path):
    spec = load_train_spec(_spec(tmp_path, SPEC))
    assert spec.recipe.bits == 32 and spec.recipe.frac_bits == 16 and spec.timeout_s == 60
    table = load_source(spec.parties[1], spec.schema_)
    assert table.X.shape == (100, 3)  # age + two sex categories
    assert table.feature_names == ("age", "sex_Female", "sex_Male")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("learning_rate: 0.5", "learning_rate: -1", "recipe.learning_rate: must be > 0"),
        ("[age, sex]", "[age, salary]", "schema.columns: unknown column 'salary'"),
        ('"adult:train[200:300]"', '"adult:valid"', "parties[2]: must be adult:train"),
        (
            "batch_size: 32",
            "batch_size: 32, bits: 16",
            "recipe: frac_bits (16) must be < bits (16)",
        ),
        ("epochs: 1, ", "", "recipe.epochs: required field is missing"),
    ],
)
def test_invalid_spec_names_the_field(tmp_path, old, new, message):
    with pytest.raises(SpecError, match=re.escape(message)):
        load_train_spec(_spec(tmp_path, SPEC.replace(old, new)))


def test_predict_spec_roles_must_differ(tmp_path):
    text = "schema: {columns: [age]}\nmodel: m.json\nfeatures: adult:test\nfeature_owner: 0\n"
    with pytest.raises(SpecError, match="feature_owner must differ from model_owner"):
        load_predict_spec(_spec(tmp_path, text))


def test_rows_out_of_range_are_rejected():
    with pytest.raises(SpecError, match=r"adult:test\[0:99999999\]: rows must satisfy"):
        load_source("adult:test[0:99999999]", Schema(columns=["age"]))


def test_parse_parties():
    parsed = parse_parties("127.0.0.1:5000, localhost:5001,10.0.0.2:5002")
    assert [str(a) for a in parsed] == ["127.0.0.1:5000", "localhost:5001", "10.0.0.2:5002"]
    with pytest.raises(MPCError, match="item 1 must be host:port"):
        parse_parties("a:1,b,c:3")
    with pytest.raises(MPCError, match="need at least 3 parties"):
        parse_parties("a:1,b:2")


def test_disagreement_names_the_odd_party():
    assert disagreement(["aa", "aa", "aa"], "feature schema") is None
    msg = disagreement(["aa", "aa", "bb"], "feature schema")
    assert msg == "feature schema mismatch: party 2 (bb) differs from parties 0, 1 (aa)"
    msg = disagreement(["bb", "aa", "aa"], "recipe")
    assert msg.startswith("recipe mismatch: party 0 (bb) differs")


def test_schema_hash_depends_on_columns_and_their_order():
    a = schema_hash(Schema(columns=["age", "sex"]))
    assert a == schema_hash(Schema(columns=["age", "sex"]))
    assert a != schema_hash(Schema(columns=["age", "race"]))
    assert a != schema_hash(Schema(columns=["sex", "age"]))


def test_batches_cover_every_row_once_per_epoch():
    recipe = Recipe(epochs=3, learning_rate=1, batch_size=7)
    seen = np.concatenate(list(batches(50, recipe)))
    assert len(seen) == 150
    for e in range(3):
        assert sorted(seen[50 * e : 50 * (e + 1)]) == list(range(50))
    again = np.concatenate(list(batches(50, recipe)))
    assert np.array_equal(seen, again)  # public, seeded schedule


def test_plain_recipe_learns_a_separable_problem():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    y = (X @ np.array([2.0, -1.0, 0.5]) > 0).astype(np.int64)
    w = train_plain(X, y, Recipe(epochs=20, learning_rate=1.0, batch_size=32))
    assert np.mean(((X @ w[:-1] + w[-1]) >= 0) == y) > 0.95
    assert hard_sigmoid(np.array([-5.0, 0.0, 1.0, 5.0])).tolist() == [0.0, 0.5, 0.75, 1.0]


def test_cli_bad_spec_exits_2_naming_the_field(tmp_path):
    path = _spec(tmp_path, SPEC.replace("batch_size: 32", "batch_size: 0"))
    result = CliRunner().invoke(
        mpc_app, ["train", str(path), "--party", "0", "--parties", "a:1,b:2,c:3", "--out", "o"]
    )
    assert result.exit_code == 2
    assert "recipe.batch_size: must be >= 1" in result.output
