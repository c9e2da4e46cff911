"""Scrubbing files: formats, bad input, atomic output, summary, workers and the CLI."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from privml.cli import app
from privml.data.records import DataError
from privml.scrub import runner
from privml.scrub.runner import ScrubConfig, scrub_file

KEY = b"0123456789abcdef-secret-key"
EMAIL = "alice.walker@example.com"
SSN = "123-45-6789"
CARD = "4111 1111 1111 1111"
VALUES = (EMAIL, SSN, CARD, "John Smith")
TEXTS = [
    f"Please contact John Smith at {EMAIL} today.",
    f"My SSN is {SSN} and my card is {CARD}.",
    "Nothing to see here.",
]


def write_jsonl(path: Path, texts: list[str], field: str = "text") -> Path:
    path.write_text("".join(json.dumps({"id": i, field: t}) + "\n" for i, t in enumerate(texts)))
    return path


def read_texts(path: Path) -> list[str]:
    return [json.loads(line)["text"] for line in path.read_text().splitlines()]


def all_outputs(folder: Path) -> str:
    return "".join(p.read_text(encoding="utf-8") for p in folder.rglob("*") if p.is_file())


def test_jsonl_tag_and_summary(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", TEXTS)
    out = tmp_path / "out" / "scrubbed.jsonl"
    result = scrub_file(src, out, ScrubConfig())
    texts = read_texts(out)
    assert EMAIL not in texts[0] and "<EMAIL_ADDRESS>" in texts[0]
    assert "<US_SSN>" in texts[1] and "<CREDIT_CARD>" in texts[1]
    assert texts[2] == TEXTS[2]
    assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == [0, 1, 2]
    summary = json.loads((tmp_path / "out" / "scrubbed.jsonl.summary.json").read_text())
    assert summary == result
    assert summary["records"] == 3 and summary["counts"]["EMAIL_ADDRESS"] == 1
    assert summary["operators"] == {"default": "tag"} and "seconds" in summary
    text = json.dumps(summary)
    assert not any(v in text for v in VALUES)


def test_pseudonyms_stable_across_files_and_key_never_written(tmp_path: Path) -> None:
    a = write_jsonl(tmp_path / "a.jsonl", [f"write to {EMAIL}"])
    b = write_jsonl(tmp_path / "b.jsonl", [f"again {EMAIL}!", "x"])
    cfg = ScrubConfig(operator="pseudonymize", key=KEY)
    scrub_file(a, tmp_path / "out" / "a.jsonl", cfg)
    scrub_file(b, tmp_path / "out" / "b.jsonl", cfg)
    scrub_file(a, tmp_path / "out" / "a2.jsonl", cfg)  # second run
    other = ScrubConfig(operator="pseudonymize", key=b"a-completely-different-key")
    scrub_file(a, tmp_path / "other.jsonl", other)
    pa = read_texts(tmp_path / "out" / "a.jsonl")[0].split()[-1]
    pb = read_texts(tmp_path / "out" / "b.jsonl")[0].split()[1].rstrip("!")
    assert pa.startswith("<EMAIL_ADDRESS_") and pa == pb
    assert read_texts(tmp_path / "out" / "a2.jsonl")[0].endswith(pa)
    assert pa not in read_texts(tmp_path / "other.jsonl")[0]
    written = all_outputs(tmp_path / "out")
    for form in (KEY.decode(), KEY.hex(), base64.b64encode(KEY).decode(), EMAIL):
        assert form not in written


def test_fake_is_seeded_over_files(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", TEXTS)
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        scrub_file(src, tmp_path / f"{name}.jsonl", ScrubConfig(operator="fake", seed=seed))
    a, b, c = (read_texts(tmp_path / f"{n}.jsonl") for n in "abc")
    assert a == b and a != c
    assert "@" in a[0] and EMAIL not in a[0] and SSN not in a[1] and "<" not in "".join(a)


def test_not_utf8_strict_and_replace(tmp_path: Path) -> None:
    src = tmp_path / "bad.jsonl"
    src.write_bytes(b'{"text": "ok"}\n{"text": "caf\xe9 secret"}\n')
    out = tmp_path / "out.jsonl"
    with pytest.raises(DataError, match=r"bad\.jsonl:2: not UTF-8") as err:
        scrub_file(src, out, ScrubConfig())
    assert "secret" not in str(err.value)
    assert not out.exists() and list(tmp_path.iterdir()) == [src]  # no temp file left
    result = scrub_file(src, out, ScrubConfig(), errors="replace")
    assert result["replaced_lines"] == 1 and result["records"] == 2
    assert read_texts(out)[1] == "caf\ufffd secret"


def test_missing_field_stops_with_line_and_keeps_old_output(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "a"}\n\n{"body": "private words"}\n')
    out = tmp_path / "out.jsonl"
    out.write_text("previous\n")
    with pytest.raises(DataError, match=r"in\.jsonl:3: missing field 'text'") as err:
        scrub_file(src, out, ScrubConfig())
    assert "private" not in str(err.value)
    assert out.read_text() == "previous\n"


@pytest.mark.parametrize("name", ["empty.jsonl", "empty.csv", "empty.txt"])
def test_empty_file(tmp_path: Path, name: str) -> None:
    src = tmp_path / name
    src.write_bytes(b"")
    out = tmp_path / ("out" + src.suffix)
    assert scrub_file(src, out, ScrubConfig())["records"] == 0
    assert out.read_bytes() == b""


def test_five_megabyte_line(tmp_path: Path) -> None:
    text = "lorem ipsum dolor " * (5_000_000 // 18) + f" mail {EMAIL}"
    src = write_jsonl(tmp_path / "big.jsonl", [text, "small"])
    out = tmp_path / "out.jsonl"
    result = scrub_file(src, out, ScrubConfig(entities=("EMAIL_ADDRESS",)))
    texts = read_texts(out)
    assert result["counts"] == {"EMAIL_ADDRESS": 1}
    assert texts[0].endswith(" mail <EMAIL_ADDRESS>") and len(texts[0]) > 5_000_000
    assert texts[1] == "small"


def test_long_texts_are_analyzed_in_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    scrubber = runner.Pipeline(ScrubConfig(entities=("EMAIL_ADDRESS",))).scrubber
    text = " ".join(f"word{i} {EMAIL}" if i % 7 == 0 else f"filler{i}" for i in range(400))
    single_pass = scrubber.analyze(text)
    monkeypatch.setattr(scrubber, "window_chars", 300)
    monkeypatch.setattr(scrubber, "overlap_chars", 80)
    windowed = scrubber.analyze(text)
    assert windowed == single_pass and len(windowed) == 58


def test_csv_column(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text(
        f'id,body,note\n1,"multi\nline {EMAIL}",keep {EMAIL}\n2,plain,x\n', encoding="utf-8"
    )
    out = tmp_path / "out.csv"
    result = scrub_file(src, out, ScrubConfig(), text_field="body")
    assert result["records"] == 2 and result["counts"] == {"EMAIL_ADDRESS": 1}
    assert (
        out.read_text()
        == f'id,body,note\n1,"multi\nline <EMAIL_ADDRESS>",keep {EMAIL}\n2,plain,x\n'
    )
    with pytest.raises(DataError, match=r"in\.csv:1: missing field 'text'"):
        scrub_file(src, tmp_path / "o2.csv", ScrubConfig())
    short = tmp_path / "short.csv"
    short.write_text("id,text\n1,a\n2\n")
    with pytest.raises(DataError, match=r"short\.csv:3: missing field 'text'"):
        scrub_file(short, tmp_path / "o3.csv", ScrubConfig())


def test_text_format_keeps_lines(tmp_path: Path) -> None:
    src = tmp_path / "in.txt"
    src.write_text(f"hello {EMAIL}\n\nSSN {SSN}")
    out = tmp_path / "out.log"
    result = scrub_file(src, out, ScrubConfig(operator="redact"), fmt="text")
    assert out.read_text() == "hello █████\n\nSSN █████\n"
    assert result["records"] == 3


def test_workers_give_identical_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "CHUNK_RECORDS", 4)
    src = write_jsonl(tmp_path / "in.jsonl", [f"{t} #{i}" for i in range(10) for t in TEXTS])
    cfg = ScrubConfig(operator="pseudonymize", operator_for=(("US_SSN", "fake"),), key=KEY)
    one = scrub_file(src, tmp_path / "one.jsonl", cfg, workers=1)
    two = scrub_file(src, tmp_path / "two.jsonl", cfg, workers=2)
    assert (tmp_path / "one.jsonl").read_bytes() == (tmp_path / "two.jsonl").read_bytes()
    assert one["counts"] == two["counts"] and two["workers"] == 2


def test_bad_settings_fail_before_writing(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", TEXTS)
    for cfg in (
        ScrubConfig(operator="shred"),
        ScrubConfig(operator="pseudonymize"),
        ScrubConfig(operator_for=(("NOT_A_TYPE", "tag"),)),
    ):
        with pytest.raises(ValueError):
            scrub_file(src, tmp_path / "out.jsonl", cfg, workers=2)
    assert not (tmp_path / "out.jsonl").exists()


def test_cli_default_command_and_key_sources(tmp_path: Path, monkeypatch) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", TEXTS)
    key_file = tmp_path / "key"
    key_file.write_bytes(KEY + b"\n")
    cli = CliRunner()
    args = ["--operator", "pseudonymize", "--operator-for", "US_SSN=redact", "--quiet"]
    r1 = cli.invoke(app, ["scrub", str(src), "--out", str(tmp_path / "o1.jsonl"), *args,
                          "--key-file", str(key_file)])  # fmt: skip
    assert r1.exit_code == 0, r1.output
    monkeypatch.setenv("PRIVML_SCRUB_KEY", KEY.decode())
    r2 = cli.invoke(app, ["scrub", "run", str(src), "--out", str(tmp_path / "o2.jsonl"), *args])
    assert r2.exit_code == 0, r2.output
    assert read_texts(tmp_path / "o1.jsonl") == read_texts(tmp_path / "o2.jsonl")
    assert "█████" in read_texts(tmp_path / "o1.jsonl")[1]
    summary = json.loads((tmp_path / "o1.jsonl.summary.json").read_text())
    assert summary["operators"] == {"default": "pseudonymize", "US_SSN": "redact"}
    for form in (KEY.decode(), KEY.hex(), base64.b64encode(KEY).decode()):
        assert form not in r1.output + r2.output
    monkeypatch.delenv("PRIVML_SCRUB_KEY")
    r3 = cli.invoke(app, ["scrub", str(src), "--out", str(tmp_path / "o3.jsonl"), *args])
    assert r3.exit_code == 2 and "key" in r3.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"body": 1}\n')
    r4 = cli.invoke(app, ["scrub", str(bad), "--out", str(tmp_path / "o4.jsonl")])
    assert r4.exit_code == 2 and "bad.jsonl:1: missing field 'text'" in r4.output
