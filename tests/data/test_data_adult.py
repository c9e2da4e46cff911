import numpy as np
import pytest

from privml.data.adult import CATEGORICAL, COLUMNS, NUMERIC, load_adult, read_adult_file
from privml.data.records import DataError

HEADER = ", ".join([*COLUMNS, "Y"])
ROW = (
    "39, State-gov, 77516, Bachelors, 13, Never-married, Adm-clerical, Not-in-family, White, "
    "Male, 2174, 0, 40, United-States, <=50K"
)


@pytest.fixture(scope="module")
def train():
    return load_adult("train")


@pytest.fixture(scope="module")
def test(train):
    return load_adult("test")


def _write(tmp_path, lines, name="bad.data"):
    p = tmp_path / name
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def test_shapes_types_and_label_counts(train, test):
    assert train.X.shape == (32561, len(train.feature_names))
    assert test.X.shape == (16281, len(train.feature_names))
    assert train.X.dtype == np.float32 and train.y.dtype == np.int64
    assert not np.isnan(train.X).any() and not np.isnan(test.X).any()
    # The test split's labels end in '.'; if that were not stripped, parsing would fail or
    # every test label would be 0. UCI's documented counts of >50K: 7841 train, 3846 test.
    assert int(train.y.sum()) == 7841
    assert int(test.y.sum()) == 3846


def test_train_and_test_share_columns_fitted_on_train(train, test):
    assert test.feature_names == train.feature_names
    assert train.feature_names[: len(NUMERIC)] == NUMERIC
    num = train.X[:, : len(NUMERIC)]
    np.testing.assert_allclose(num.mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(num.std(0), 1, atol=1e-3)
    # Test numerics use the training mean/std, so they are not exactly standardised.
    assert np.abs(test.X[:, : len(NUMERIC)].mean(0)).max() > 1e-4
    # Each categorical column contributes exactly one 1 per row.
    onehot = train.X[:, len(NUMERIC) :]
    assert set(np.unique(onehot)) == {0.0, 1.0}
    assert (onehot.sum(1) == len(CATEGORICAL)).all()
    assert (test.X[:, len(NUMERIC) :].sum(1) == len(CATEGORICAL)).all()


def test_missing_values_are_their_own_category(train):
    assert {"workclass_?", "occupation_?", "native-country_?"} <= set(train.feature_names)
    col = train.feature_names.index("workclass_?")
    missing = train.raw[:, COLUMNS.index("workclass")] == "?"
    assert missing.sum() > 1000
    assert (train.X[missing, col] == 1).all() and (train.X[~missing, col] == 0).all()


def test_sensitive_codes_match_raw_columns(train):
    assert train.sensitive_categories["sex"] == ("Female", "Male")
    assert len(train.sensitive_categories["race"]) == 5
    for col in ("sex", "race"):
        names = np.array(train.sensitive_categories[col])[train.sensitive[col]]
        assert (names == train.raw[:, COLUMNS.index(col)]).all()


def test_with_attribute_sets_only_that_attribute(train):
    rows = train.raw[:50]
    sex_cols = train.attribute_columns("sex")
    for code, name in enumerate(train.sensitive_categories["sex"]):
        X = train.with_attribute(rows, "sex", name)
        np.testing.assert_array_equal(X, train.with_attribute(rows, "sex", code))
        assert (X[:, sex_cols[code]] == 1).all() and (X[:, sex_cols].sum(1) == 1).all()
        other = np.setdiff1d(np.arange(X.shape[1]), sex_cols)
        np.testing.assert_array_equal(X[:, other], train.X[:50, other])
    # The true value reproduces the row's own encoding.
    own = train.sensitive["sex"][:50]
    for v in (0, 1):
        sel = own == v
        np.testing.assert_array_equal(train.with_attribute(rows, "sex", v)[sel], train.X[:50][sel])
    with pytest.raises(ValueError, match="sex must be one of"):
        train.with_attribute(rows, "sex", "Unknown")
    with pytest.raises(ValueError, match="code must be in"):
        train.with_attribute(rows, "sex", 2)


def test_without_drops_exactly_the_attribute_columns(train, test):
    Xs = train.without("sex")
    assert Xs.shape == (len(train), train.X.shape[1] - 2)
    names = train.feature_names_without("sex")
    assert len(names) == Xs.shape[1] and not any(n.startswith("sex_") for n in names)
    assert test.without("race").shape[1] == train.without("race").shape[1]
    keep = [train.feature_names.index(n) for n in names]
    np.testing.assert_array_equal(Xs, train.X[:, keep])
    with pytest.raises(ValueError, match="column"):
        train.without("age")  # numeric: no one-hot columns


def test_all_split_is_train_then_test(train, test):
    both = load_adult("all")
    assert len(both) == len(train) + len(test)
    np.testing.assert_array_equal(both.X[: len(train)], train.X)
    np.testing.assert_array_equal(both.y[len(train) :], test.y)
    with pytest.raises(ValueError, match="split"):
        load_adult("valid")


def test_subset_keeps_rows_aligned(train):
    idx = np.array([5, 0, 123])
    sub = train.subset(idx)
    assert len(sub) == 3 and sub.feature_names == train.feature_names
    np.testing.assert_array_equal(sub.X, train.X[idx])
    np.testing.assert_array_equal(sub.raw, train.raw[idx])
    np.testing.assert_array_equal(sub.sensitive["race"], train.sensitive["race"][idx])
    np.testing.assert_array_equal(
        sub.with_attribute(sub.raw, "sex", 0), train.with_attribute(train.raw[idx], "sex", 0)
    )


def test_parses_test_label_quirk_spaces_and_blank_lines(tmp_path):
    p = _write(tmp_path, [HEADER, ROW.replace("<=50K", ">50K."), "", "  " + ROW + "  "])
    raw, y = read_adult_file(p)
    assert y.tolist() == [1, 0]
    assert raw[0, 0] == 39.0 and raw[0, 1] == "State-gov"


@pytest.mark.parametrize(
    "row, line, reason",
    [
        (ROW.replace(", 40,", ","), 3, "expected 15 fields, got 14"),
        (ROW.replace("39,", "thirty-nine,"), 3, "column 'age' is not a number"),
        (ROW.replace("<=50K", "maybe"), 3, "label must be"),
        (ROW.replace("State-gov", ""), 3, "column 'workclass' is empty"),
    ],
)
def test_bad_row_error_names_file_and_line(tmp_path, row, line, reason):
    p = _write(tmp_path, [HEADER, ROW, row])
    with pytest.raises(DataError, match=reason) as err:
        read_adult_file(p)
    assert str(err.value).startswith(f"{p}:{line}: ")
    assert isinstance(err.value, ValueError)
    assert "thirty-nine" not in str(err.value) and "maybe" not in str(err.value)


def test_bad_header_and_empty_file(tmp_path):
    with pytest.raises(DataError, match=r"bad.data:1: header must be"):
        read_adult_file(_write(tmp_path, [ROW, ROW]))
    with pytest.raises(DataError, match="no data rows"):
        read_adult_file(_write(tmp_path, [HEADER, ""]))
