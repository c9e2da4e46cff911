import json

import pytest

from privml.data.records import MAX_REASONS, DataError, Record, read_records

SECRET = "Maria Lopez lives at 1420 Maple Avenue"


def _write(tmp_path, lines, name="corpus.jsonl"):
    p = tmp_path / name
    data = b"".join((x if isinstance(x, bytes) else x.encode("utf-8")) + b"\n" for x in lines)
    p.write_bytes(data)
    return p


def _good(uid="u1", text="hello there"):
    return json.dumps({"user_id": uid, "text": text})


def test_reads_records_with_line_numbers_and_skips_blank_lines(tmp_path):
    p = _write(tmp_path, [_good("a", "one"), "", "   ", _good("b", "two")])
    res = read_records(p)
    assert res.records == [Record("a", "one", 1), Record("b", "two", 4)]
    assert res.skipped == 0 and res.skipped_reasons == []
    assert res.users == 2


def test_integer_user_id_is_converted_to_str(tmp_path):
    p = _write(tmp_path, [json.dumps({"user_id": 42, "text": "hi"})])
    assert read_records(p).records[0].user_id == "42"


def test_custom_field_names(tmp_path):
    p = _write(tmp_path, [json.dumps({"author": "x", "body": "hi"})])
    res = read_records(p, text_field="body", user_field="author")
    assert res.records == [Record("x", "hi", 1)]
    with pytest.raises(DataError, match="missing field 'user_id'"):
        read_records(p)


BAD_ROWS = [
    ('{"user_id": "u1", "text": ' + json.dumps(SECRET), "invalid JSON"),
    (json.dumps([SECRET]), "not a JSON object"),
    (json.dumps({"text": SECRET}), "missing field 'user_id'"),
    (json.dumps({"user_id": "  ", "text": SECRET}), "'user_id' is empty"),
    (json.dumps({"user_id": "", "text": SECRET}), "'user_id' is empty"),
    (json.dumps({"user_id": 1.5, "text": SECRET}), "'user_id' must be a string or an integer"),
    (json.dumps({"user_id": True, "text": SECRET}), "'user_id' must be a string or an integer"),
    (json.dumps({"user_id": [SECRET], "text": "x"}), "'user_id' must be a string or an integer"),
    (json.dumps({"user_id": "u1"}), "missing field 'text'"),
    (json.dumps({"user_id": "u1", "text": "  \n\t "}), "'text' is empty or only whitespace"),
    (json.dumps({"user_id": "u1", "text": ""}), "'text' is empty or only whitespace"),
    (json.dumps({"user_id": "u1", "text": [SECRET]}), "'text' must be a string (got array)"),
    (json.dumps({"user_id": "u1", "text": 12345}), "'text' must be a string (got integer)"),
]


@pytest.mark.parametrize(("row", "reason"), BAD_ROWS)
def test_bad_row_raises_with_line_and_reason_but_no_content(tmp_path, row, reason):
    p = _write(tmp_path, [_good(), _good(), "", row, _good()])
    with pytest.raises(DataError) as ei:
        read_records(p)
    msg = str(ei.value)
    assert msg.startswith(f"{p}:4: ")
    assert reason in msg
    assert ei.value.line == 4
    for fragment in ("Maria", "Lopez", "Maple", "1420", "12345", "1.5"):
        assert fragment not in msg


def test_invalid_json_message_includes_json_reason(tmp_path):
    p = _write(tmp_path, ["not json at all"])
    with pytest.raises(DataError, match=r":1: invalid JSON: Expecting value \(column 1\)"):
        read_records(p)


def test_path_is_reported_as_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, [_good(), "{oops"])
    with pytest.raises(DataError) as ei:
        read_records("corpus.jsonl")
    assert str(ei.value).startswith("corpus.jsonl:2: invalid JSON: ")


def test_non_utf8_line_reported_with_line_and_offset(tmp_path):
    p = _write(tmp_path, [_good(), b'{"user_id": "u1", "text": "ab\xffcd"}'])
    with pytest.raises(DataError) as ei:
        read_records(p)
    msg = str(ei.value)
    assert msg.startswith(f"{p}:2: ") and "UTF-8" in msg
    assert "offset 29" in msg
    assert "ab" not in msg.split(":2:")[1]


def test_bare_invalid_byte_line(tmp_path):
    p = _write(tmp_path, [_good(), _good(), b"\xff"])
    with pytest.raises(DataError, match=r":3: not valid UTF-8 \(bad byte at offset 0"):
        read_records(p)


def test_skip_bad_rows_counts_and_keeps_reasons(tmp_path):
    rows = [_good("a", "one"), "{bad", b"\xff\xfe", json.dumps({"user_id": "b"}), _good("c", "x")]
    p = _write(tmp_path, rows)
    res = read_records(p, skip_bad_rows=True)
    assert [r.line for r in res.records] == [1, 5]
    assert res.skipped == 3
    assert [r.split(": ")[0] for r in res.skipped_reasons] == [f"{p}:2", f"{p}:3", f"{p}:4"]
    assert "missing field 'text'" in res.skipped_reasons[2]


def test_skipped_reasons_are_capped(tmp_path):
    p = _write(tmp_path, [_good()] + ["[1]"] * (MAX_REASONS + 5))
    res = read_records(p, skip_bad_rows=True)
    assert res.skipped == MAX_REASONS + 5
    assert len(res.skipped_reasons) == MAX_REASONS


def test_missing_file(tmp_path):
    p = tmp_path / "nope.jsonl"
    with pytest.raises(DataError, match="nope.jsonl: file not found"):
        read_records(p)


def test_empty_file_and_blank_only_file(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    with pytest.raises(DataError, match="empty.jsonl: no records"):
        read_records(empty)
    blank = _write(tmp_path, ["", "  ", ""], name="blank.jsonl")
    with pytest.raises(DataError, match="blank.jsonl: no records"):
        read_records(blank)


def test_all_rows_bad_and_skipped_is_no_records(tmp_path):
    p = _write(tmp_path, ["{bad", "[]"])
    with pytest.raises(DataError, match=r"no records \(all 2 non-blank rows were bad\)"):
        read_records(p, skip_bad_rows=True)


def test_crlf_and_bom_are_tolerated(tmp_path):
    p = tmp_path / "win.jsonl"
    p.write_bytes(b"\xef\xbb\xbf" + _good("a", "one").encode() + b"\r\n" + _good("b", "t").encode())
    res = read_records(p)
    assert [(r.user_id, r.line) for r in res.records] == [("a", 1), ("b", 2)]


def test_data_error_is_value_error():
    err = DataError("x.jsonl", 3, "boom")
    assert isinstance(err, ValueError)
    assert str(err) == "x.jsonl:3: boom"
    assert (err.path, err.line, err.reason) == ("x.jsonl", 3, "boom")
