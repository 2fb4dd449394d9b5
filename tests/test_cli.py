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


def test_keys_generate_prints_a_fresh_key_the_server_accepts() -> None:
    from veil.store.keys import EnvKeyProvider

    first, second = (runner.invoke(cli, ["keys", "generate"]) for _ in range(2))

    assert first.exit_code == second.exit_code == 0
    assert EnvKeyProvider(first.output.strip()).active() != EnvKeyProvider(second.output.strip()).active()


def test_purge_reports_counts_as_json(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import time

    from veil.app import build_key_provider, open_database
    from veil.config import Settings
    from veil.store.audit import AuditLog
    from veil.store.records import Exchange, RecordStore
    from veil.store.subject_keys import AUDIT_SECRET, SubjectKeys

    monkeypatch.setenv("VEIL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VEIL_RETENTION_METADATA_DAYS", "1")
    settings = Settings()
    db = open_database(settings)
    keys = SubjectKeys(db, build_key_provider(settings))
    store = RecordStore(db, keys, AuditLog(db, keys.installation_secret(AUDIT_SECRET)), "metadata")
    for request_id, age_days in (("old", 2), ("new", 0)):
        store.save(
            Exchange(request_id, "subject:a", "chat_completions", "m", False, time.time() - age_days * 86_400)
        )
    db.dispose()

    first = runner.invoke(cli, ["purge", "--json"])
    again = runner.invoke(cli, ["purge"])

    assert first.exit_code == 0, first.output
    assert json.loads(first.output) == {"removed": {"transcripts": 0, "metadata": 1, "vault": 0}}
    assert again.exit_code == 0 and "metadata=0" in again.output


def test_keys_rotate_with_the_key_file_makes_a_new_key_and_rewraps(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from veil.app import build_key_provider, open_database
    from veil.config import Settings
    from veil.store.subject_keys import SubjectKeys
    from veil.store.vault import DatabaseVault

    monkeypatch.setenv("VEIL_DATA_DIR", str(tmp_path))
    settings = Settings()
    db = open_database(settings)
    (token,) = DatabaseVault(db, SubjectKeys(db, build_key_provider(settings)), ttl_seconds=3600).tokens_for(
        "subject:a", [("EMAIL_ADDRESS", "ana@example.com")]
    )
    old_key = (tmp_path / "master.key").read_text()

    result = runner.invoke(cli, ["keys", "rotate"])

    assert result.exit_code == 0, result.output
    assert "re-wrapped 1 keys" in result.output and "0 remaining" in result.output
    assert (tmp_path / "master.key").read_text() != old_key
    assert old_key.strip() not in result.output
    # A process holding only the new key reads the data.
    (tmp_path / "retired-keys").rename(tmp_path / "elsewhere")
    fresh = DatabaseVault(db, SubjectKeys(db, build_key_provider(Settings())), ttl_seconds=3600)
    assert fresh.value_for("subject:a", token) == "ana@example.com"
    db.dispose()


def test_keys_rotate_with_an_environment_key_explains_what_to_do(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("VEIL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VEIL_MASTER_KEY", runner.invoke(cli, ["keys", "generate"]).output.strip())

    result = runner.invoke(cli, ["keys", "rotate"])

    assert result.exit_code == 0
    assert "VEIL_RETIRED_MASTER_KEYS" in result.output


def test_a_store_command_on_an_unreachable_database_exits_2_without_credentials(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("VEIL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv(
        "VEIL_DATABASE_URL", "postgresql+psycopg://veil:hunter2@127.0.0.1:1/x?connect_timeout=2"
    )

    result = runner.invoke(cli, ["purge"])

    assert result.exit_code == 2
    assert "veil purge: database" in result.output and "hunter2" not in result.output


def test_keys_create_shows_the_key_once_then_list_and_revoke(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("VEIL_DATA_DIR", str(tmp_path))

    created = runner.invoke(cli, ["keys", "create", "--tenant", "acme"])
    assert created.exit_code == 0, created.output
    key = created.output.strip().splitlines()[-1]
    key_id = key.split("-")[1]
    listed = runner.invoke(cli, ["keys", "list"])
    revoked = runner.invoke(cli, ["keys", "revoke", key_id])
    again = runner.invoke(cli, ["keys", "revoke", key_id])

    assert key.startswith("vk-") and key_id in listed.output and "acme" in listed.output
    assert key.rsplit("-", 1)[1] not in listed.output
    assert revoked.exit_code == 0 and again.exit_code == 1
    assert runner.invoke(cli, ["keys", "create", "--tenant", "Not A Tenant"]).exit_code == 2
