"""The leak check finds planted values in any artifact, text or binary, and never prints them."""

import json
from pathlib import Path

import torch

from privml.report.hygiene import planted_secrets, scan_artifacts, scan_text


def _planted(tmp_path: Path) -> dict[str, str]:
    labels = tmp_path / "pii_labels.jsonl"
    labels.write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {"record": 0, "type": "PERSON", "value": "Maria Lopez"},
                {"record": 1, "type": "PHONE_NUMBER", "value": "(415) 555-0132"},
                {"record": 2, "type": "PERSON", "value": "Al"},  # too short to check reliably
            ]
        )
        + "\n"
    )
    canaries = tmp_path / "canaries.json"
    canaries.write_text(
        json.dumps(
            [
                {
                    "user_id": "u1",
                    "prefix": "my door code is",
                    "secret": "482 916 305",
                    "repetitions": 4,
                }
            ]
        )
    )
    return planted_secrets(labels, canaries)


def test_planted_values_are_collected(tmp_path):
    s = _planted(tmp_path)
    assert s["Maria Lopez"] == "PERSON" and s["482 916 305"] == "CANARY"
    assert s["482916305"] == "CANARY" and "Al" not in s


def test_clean_artifacts_pass(tmp_path):
    secrets = _planted(tmp_path)
    out = tmp_path / "run"
    out.mkdir()
    (out / "results.json").write_text('{"epsilon": 3.99, "note": "maria is a name"}')
    torch.save({"w": torch.randn(100)}, out / "model.pt")
    res = scan_artifacts(out.iterdir(), secrets, out)
    assert res["passed"] and res["artifacts_checked"] == 2 and res["leaks"] == []


def test_leaks_found_in_text_and_binary_case_insensitive(tmp_path):
    secrets = _planted(tmp_path)
    out = tmp_path / "run"
    out.mkdir()
    (out / "log.txt").write_text("user MARIA LOPEZ wrote in")
    torch.save({"meta": "code 482916305", "w": torch.zeros(3)}, out / "model.pt")
    res = scan_artifacts(out.iterdir(), secrets, out)
    assert not res["passed"]
    assert {(x["artifact"], x["type"]) for x in res["leaks"]} == {
        ("log.txt", "PERSON"),
        ("model.pt", "CANARY"),
    }
    assert "Maria" not in json.dumps(res) and "482" not in json.dumps(res)


def test_scan_text_in_memory(tmp_path):
    secrets = _planted(tmp_path)
    assert scan_text("report.html", "<p>call (415) 555-0132</p>", secrets) == [
        {"artifact": "report.html", "type": "PHONE_NUMBER"}
    ]
    assert scan_text("report.html", "<p>nothing here</p>", secrets) == []
