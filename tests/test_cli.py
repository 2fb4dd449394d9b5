from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from veil.cli import cli

runner = CliRunner()


def test_scan_jsonl_gives_spans_in_order_with_offsets() -> None:
    lines = [
        {"text": "mail jo@example.com now"},
        {"text": "nothing to see"},
        {"text": "card 4111 1111 1111 1111 and +44 20 7946 0958"},
    ]
    result = runner.invoke(cli, ["scan", "--jsonl"], input="\n".join(json.dumps(line) for line in lines))
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert len(rows) == 3
    assert rows[0]["spans"] == [
        {
            "type": "EMAIL_ADDRESS",
            "start": 5,
            "end": 19,
            "score": rows[0]["spans"][0]["score"],
            "detector": rows[0]["spans"][0]["detector"],
        }
    ]
    assert rows[1]["spans"] == []
    found = [(s["type"], lines[2]["text"][s["start"] : s["end"]]) for s in rows[2]["spans"]]
    assert found == [("CREDIT_CARD", "4111 1111 1111 1111"), ("PHONE_NUMBER", "+44 20 7946 0958")]
    assert all(0 < s["score"] <= 1 and s["detector"] for s in rows[2]["spans"])


def test_scan_jsonl_rejects_a_bad_line() -> None:
    result = runner.invoke(cli, ["scan", "--jsonl"], input='{"text": "ok"}\nnot json\n')
    assert result.exit_code == 2
    assert "line 2" in result.output


def test_scan_a_file_prints_a_table(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("AWS key AKIAIOSFODNN7EXAMPLF in the config\n")
    result = runner.invoke(cli, ["scan", str(notes)])
    assert result.exit_code == 0
    assert "AWS_ACCESS_KEY_ID" in result.output


def test_serve_refuses_a_malformed_master_key_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("VEIL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VEIL_MASTER_KEY", "not-a-key-but-secret-material")
    result = runner.invoke(cli, ["serve", "--port", "0"])
    assert result.exit_code == 2
    assert "VEIL_MASTER_KEY" in result.output
    assert "secret-material" not in result.output
