"""Issue 5's tests through the official SDK and the CLI: consent in the data path, export,
erasure, the provider seeing only a hash of the end user, and the audit chain."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openai
import pytest
import sqlalchemy as sa
from openai import AsyncOpenAI
from starlette.applications import Starlette
from typer.testing import CliRunner

from fake_upstream import FakeUpstream, Script
from sdk import sdk_client
from veil.cli import cli
from veil.store.schema import audit_log, request_records

CANARY = "canary.person@example.org"
USER = "app-user-4711"
runner = CliRunner()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    """The CLI reads the same settings as the app under test."""
    monkeypatch.setenv("VEIL_DATA_DIR", str(settings.data_dir))


async def chat(client: AsyncOpenAI, text: str, **extra: Any) -> Any:
    return await client.chat.completions.with_raw_response.create(
        model="m", messages=[{"role": "user", "content": text}], user=USER, **extra
    )


def cli_json(*args: str) -> Any:
    result = runner.invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


async def test_a_withdrawn_consent_counts_from_the_very_next_request(
    make_app: Callable[..., Starlette], upstream: FakeUpstream, env: None
) -> None:
    client = sdk_client(make_app())
    await chat(client, f"first {CANARY}")
    assert len(upstream.bodies) == 1

    cli_json("subjects", "consent", USER, "send_to_provider", "withdraw")
    with pytest.raises(openai.PermissionDeniedError) as refused:
        await chat(client, f"second {CANARY}")

    assert refused.value.status_code == 403
    assert refused.value.code == "consent_withdrawn"
    assert len(upstream.bodies) == 1  # nothing forwarded
    cli_json("subjects", "consent", USER, "send_to_provider", "grant")
    await chat(client, "third")
    assert len(upstream.bodies) == 2
    await client.close()


async def test_each_record_says_which_consent_it_was_handled_under(
    make_app: Callable[..., Starlette], env: None
) -> None:
    app = make_app()
    client = sdk_client(app)
    await chat(client, "hello")
    cli_json("subjects", "consent", USER, "store_transcripts", "withdraw")
    await chat(client, "again")
    with app.state.database.read() as conn:
        consents = [
            row.consent
            for row in conn.execute(sa.select(request_records).order_by(request_records.c.created_at))
        ]

    assert [c["store_transcripts"] for c in consents] == [True, False]
    await client.close()


async def test_without_provider_retention_the_provider_keeps_nothing(
    make_app: Callable[..., Starlette], upstream: FakeUpstream
) -> None:
    client = sdk_client(make_app())
    await chat(client, "hi", store=True, metadata={"team": "billing"})
    app = make_app(consent_defaults={"provider_retention": True})
    allowed = sdk_client(app)
    await chat(allowed, "hi", store=True, metadata={"team": "billing"})

    withheld, granted = upstream.bodies
    assert withheld["store"] is False and "metadata" not in withheld
    assert granted["store"] is True and granted["metadata"] == {"team": "billing"}
    await client.close()
    await allowed.close()


async def test_the_provider_sees_only_a_keyed_hash_of_the_end_user(
    client: AsyncOpenAI, upstream: FakeUpstream
) -> None:
    await chat(client, "one", safety_identifier=USER)
    await chat(client, "two", safety_identifier=USER)

    first, second = upstream.bodies
    assert USER.encode() not in upstream.seen()
    assert first["user"] == second["user"] == first["safety_identifier"]
    assert first["user"].startswith("veil-")


async def test_without_transcript_consent_full_storage_keeps_only_metadata(
    make_app: Callable[..., Starlette], env: None
) -> None:
    app = make_app(storage_mode="full", consent_defaults={"store_transcripts": False})
    client = sdk_client(app)
    reply = await chat(client, f"mail {CANARY}")

    assert reply.headers["x-veil-stored"] == "metadata"
    assert app.state.records.transcripts_of(app.state.scopes.subject_scope(USER)) == []
    await client.close()


async def test_export_then_erase_leaves_nothing_readable(
    make_app: Callable[..., Starlette], upstream: FakeUpstream, settings: Any, env: None
) -> None:
    app = make_app(storage_mode="full")
    client = sdk_client(app)
    await chat(client, f"please mail {CANARY}")
    (token,) = [t for t in upstream.bodies[0]["messages"][0]["content"].split() if t.startswith("<")]

    exported = cli_json("subjects", "export", USER)
    text = json.dumps(exported)
    assert CANARY in text
    assert {m["value"] for m in exported["vault"]} == {CANARY}
    assert [r["request_id"] for r in exported["requests"]] == [
        t["request_id"] for t in exported["transcripts"]
    ]
    assert exported["consent"]["send_to_provider"] == {"granted": True, "source": "default"}

    receipt = cli_json("subjects", "erase", USER, "--yes")
    assert receipt["data_key_destroyed"] is True
    assert receipt["removed"]["vault_mappings"] == 1 and receipt["removed"]["transcripts"] == 1

    after = cli_json("subjects", "export", USER)
    assert CANARY not in json.dumps(after)
    assert (after["vault"], after["transcripts"], after["requests"]) == ([], [], [])
    assert [entry["kind"] for entry in after["audit"]][-2:] == ["export", "erasure"]
    for path in settings.data_dir.rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path

    # The running app forgets too, once its caches are told (the CLI ran in another "process"):
    # a new app on the same database restores nothing for the old token.
    upstream.reply = lambda body: Script(contents=[f"Sending to {token} now."])
    fresh = sdk_client(make_app(storage_mode="full"))
    reply = await fresh.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "go"}], user=USER
    )
    assert reply.choices[0].message.content == f"Sending to {token} now."
    await client.close()
    await fresh.close()


async def test_erasure_through_the_app_forgets_its_caches_at_once(
    make_app: Callable[..., Starlette], upstream: FakeUpstream
) -> None:
    app = make_app()
    client = sdk_client(app)
    await chat(client, f"please mail {CANARY}")
    (token,) = [t for t in upstream.bodies[0]["messages"][0]["content"].split() if t.startswith("<")]
    subject = app.state.scopes.subject_scope(USER)
    assert app.state.vault.value_for(subject, token) == CANARY  # now in the vault's memory

    app.state.subjects.erase(subject, by="admin")

    assert app.state.vault.value_for(subject, token) is None
    upstream.reply = lambda body: Script(contents=[f"Sending to {token} now."])
    reply = await client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "go"}], user=USER
    )
    assert CANARY not in (reply.choices[0].message.content or "")
    await client.close()


async def test_audit_verify_names_the_entry_whose_bytes_were_edited(
    make_app: Callable[..., Starlette], env: None
) -> None:
    app = make_app()
    client = sdk_client(app)
    for n in range(3):
        await chat(client, f"message {n} to {CANARY}")
    cli_json("subjects", "consent", USER, "store_transcripts", "withdraw")
    await client.close()
    ok = runner.invoke(cli, ["audit", "verify"])
    assert ok.exit_code == 0 and "4 entries" in ok.output

    with app.state.database.write() as conn:
        body = conn.execute(sa.select(audit_log.c.body).where(audit_log.c.seq == 2)).scalar_one()
        assert CANARY not in body  # entries hold counts and types, never values
        conn.execute(
            sa.update(audit_log)
            .where(audit_log.c.seq == 2)
            .values(body=body.replace('"status":200', '"status":201'))
        )
    broken = runner.invoke(cli, ["audit", "verify"])

    assert broken.exit_code == 1
    assert "entry 2" in broken.output


def test_every_byte_of_every_entry_is_covered(make_app: Callable[..., Starlette], tmp_path: Path) -> None:
    """Flip each byte of each stored entry in turn: verification fails, naming that entry."""
    app = make_app()
    audit = app.state.audit
    for n in range(3):
        audit.record("admin", f"subject:{n}", {"action": "export", "by": "cli"})
    with app.state.database.read() as conn:
        entries = conn.execute(sa.select(audit_log.c.seq, audit_log.c.body, audit_log.c.hash)).all()
    for seq, body, digest in entries:
        for column, text in (("body", body), ("hash", digest)):
            for position in range(len(text)):
                flipped = text[:position] + chr(ord(text[position]) ^ 1) + text[position + 1 :]
                with app.state.database.write() as conn:
                    conn.execute(sa.update(audit_log).where(audit_log.c.seq == seq).values({column: flipped}))
                result = audit.verify()
                assert (result.ok, result.first_bad_seq) == (False, seq), (column, position)
                with app.state.database.write() as conn:
                    conn.execute(sa.update(audit_log).where(audit_log.c.seq == seq).values({column: text}))
    assert audit.verify().ok
