"""What one request costs the store and the event loop: the consent read and the
pseudonymization share one worker-thread call, the audit entry and the record one
transaction, and a refusal leaves nothing in the vault."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import anyio.to_thread
import httpx
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette

from fake_upstream import FakeUpstream
from veil.store.database import StoreError
from veil.store.schema import audit_log

CHAT = "/v1/chat/completions"
EMAIL = "ines.okafor@example.org"
USER = "app-user-overhead"
_TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE)\s+(\w+)", re.IGNORECASE)


def body(text: str) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": text}], "user": USER}


@pytest.fixture
def app(make_app: Callable[..., Starlette]) -> Starlette:
    """The rules-only tier: no model, so no background analysis of replies after they leave."""
    return make_app(ner_model="")


@pytest.fixture
def statements(app: Starlette) -> Iterator[list[str]]:
    """Every statement the app's database runs, as '<VERB> <table>', BEGIN and COMMIT left out."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        verb = statement.split(None, 1)[0].upper()
        table = _TABLE.search(statement)
        if verb not in ("BEGIN", "COMMIT", "ROLLBACK"):
            seen.append(f"{verb} {table.group(1) if table else '?'}")

    engine = app.state.database.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(engine, "before_cursor_execute", record)


async def test_a_request_with_known_values_runs_one_read_and_one_write(
    raw: httpx.AsyncClient, statements: list[str]
) -> None:
    assert (await raw.post(CHAT, json=body(f"write to {EMAIL}"))).status_code == 200
    statements.clear()

    response = await raw.post(CHAT, json=body(f"write to {EMAIL} again"))

    assert response.status_code == 200
    assert statements == [
        "SELECT consents",  # read fresh: a withdrawal counts from the next request
        "SELECT audit_head",  # the audit entry and the record, in one transaction
        "INSERT audit_log",
        "UPDATE audit_head",
        "INSERT request_records",
    ]


async def test_a_request_crosses_to_a_worker_thread_once_before_and_once_after_the_upstream(
    raw: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first request also reads whether any virtual key exists; later ones find it cached.
    assert (await raw.post(CHAT, json=body("hello"))).status_code == 200
    calls: list[str] = []
    run_sync = anyio.to_thread.run_sync

    async def counted(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        calls.append(getattr(function, "__name__", repr(function)))
        return await run_sync(function, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    response = await raw.post(CHAT, json=body(f"write to {EMAIL}"))

    assert response.status_code == 200
    assert calls == ["_admission", "save"]


async def test_a_withdrawn_subject_gets_no_token_and_the_refusal_is_on_record(
    app: Starlette, raw: httpx.AsyncClient, upstream: FakeUpstream
) -> None:
    subject = app.state.scopes.subject_scope(USER)
    app.state.consents.set(subject, "send_to_provider", False, source="api")

    response = await raw.post(CHAT, json=body(f"write to {EMAIL}"))

    assert response.status_code == 403
    assert upstream.raw_requests == []
    assert app.state.vault.token_of(subject, EMAIL) is None, "consent is read before any value is minted"
    with app.state.database.read() as conn:
        kinds = conn.execute(sa.select(audit_log.c.kind).order_by(audit_log.c.seq)).scalars().all()
    assert kinds == ["consent", "request"]
    (entry,) = [e for e in app.state.audit.entries_of(subject) if e["kind"] == "request"]
    assert (entry["data"]["outcome"], entry["data"]["status"]) == ("refused_consent", 403)
    assert entry["data"]["consent"]["send_to_provider"] is False


async def test_a_store_failure_reading_consent_forwards_nothing(
    app: Starlette, raw: httpx.AsyncClient, upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unavailable(subject: str) -> Any:
        raise StoreError("database test failed: OperationalError")

    monkeypatch.setattr(app.state.consents, "state", unavailable)
    response = await raw.post(CHAT, json=body(f"write to {EMAIL}"))

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "storage_unavailable"
    assert upstream.raw_requests == []
    assert app.state.vault.token_of(app.state.scopes.subject_scope(USER), EMAIL) is None
