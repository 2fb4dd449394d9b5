"""A lock held elsewhere on PostgreSQL (an operator's `LOCK TABLE`, a stuck replica's
transaction): the request that needs it fails within the lock timeout, with a 503 in
OpenAI's shape and nothing forwarded; requests that do not need it, and /healthz, are
answered meanwhile (the virtual-key lookup waits in a worker thread, not on the event
loop); once the lock is gone, every request goes through again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette

from databases import database_url
from fake_upstream import FakeUpstream
from held_lock import held_lock
from veil.store.database import Database
from veil.store.virtual_keys import VirtualKeys

CHAT = "/v1/chat/completions"
LOCK_TIMEOUT = 1.5


def ask(text: str) -> dict[str, Any]:
    return {"model": "m", "user": "ana", "messages": [{"role": "user", "content": text}]}


def bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert error == {
        "message": "Veil's database is unavailable; nothing was forwarded.",
        "type": "server_error",
        "param": None,
        "code": "storage_unavailable",
    }


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    with database_url("postgresql", tmp_path) as schema_url:
        yield schema_url


@pytest.fixture
async def veil(make_app: Callable[..., Starlette], url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = make_app(database_url=url, ner_model="", database_lock_timeout_seconds=LOCK_TIMEOUT)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://veil.test", timeout=60) as client:
        yield client
    app.state.database.dispose()


async def until_it_waits_for_a_lock(request: asyncio.Task[httpx.Response], url: str) -> None:
    """Returns once a session of Veil's waits for a lock another session holds."""
    engine = sa.create_engine(url)
    query = sa.text("SELECT count(*) FROM pg_stat_activity WHERE cardinality(pg_blocking_pids(pid)) > 0")
    try:
        deadline = time.monotonic() + 10
        while True:
            with engine.connect() as conn:
                if conn.execute(query).scalar_one():
                    return
            assert not request.done(), "the request was over before anything else could run"
            assert time.monotonic() < deadline, "the request never waited for the lock"
            await asyncio.sleep(0.02)
    finally:
        engine.dispose()


async def test_a_held_table_lock_fails_the_request_within_the_lock_timeout(
    veil: httpx.AsyncClient, url: str, upstream: FakeUpstream
) -> None:
    assert (await veil.post(CHAT, json=ask("hello"))).status_code == 200
    forwarded = len(upstream.raw_requests)

    with held_lock(url, "consents", seconds=30):
        started = time.monotonic()
        refused = await veil.post(CHAT, json=ask("mail bo@example.com"))
        waited = time.monotonic() - started
        health = await veil.get("/healthz")

    assert_unavailable(refused)
    assert LOCK_TIMEOUT - 0.2 < waited < LOCK_TIMEOUT + 2.5, waited
    assert "bo@example.com" not in refused.text
    assert len(upstream.raw_requests) == forwarded
    assert health.status_code == 200
    after = await veil.post(CHAT, json=ask("mail bo@example.com"))
    assert after.status_code == 200, after.text
    assert upstream.bodies[-1]["messages"][0]["content"] == "mail <EMAIL_ADDRESS_1>"


async def test_a_key_lookup_waiting_for_a_lock_holds_up_no_other_request(
    veil: httpx.AsyncClient, url: str, upstream: FakeUpstream
) -> None:
    db = Database(url)
    try:
        # Made by `veil keys create` elsewhere: this process has never seen either key.
        _, waiting_key = VirtualKeys(db).create("acme")
        _, known_key = VirtualKeys(db).create("globex")
    finally:
        db.dispose()
    # Both answers are now in this process's key cache: the key's tenant, and that keys exist.
    known = await veil.post(CHAT, json=ask("hello"), headers=bearer(known_key))
    assert known.status_code == 200, known.text
    assert (await veil.post(CHAT, json=ask("hi"))).status_code == 401

    with held_lock(url, "virtual_keys", seconds=30):
        started = time.monotonic()
        waiting = asyncio.create_task(veil.post(CHAT, json=ask("hi"), headers=bearer(waiting_key)))
        await until_it_waits_for_a_lock(waiting, url)
        health = await veil.get("/healthz")
        other_tenant = await veil.post(CHAT, json=ask("mail bo@example.com"), headers=bearer(known_key))
        anonymous = await veil.post(CHAT, json=ask("hi"))
        answered_within = time.monotonic() - started
        assert not waiting.done()
        refused = await waiting

    assert health.status_code == 200
    assert other_tenant.status_code == 200, other_tenant.text
    assert upstream.bodies[-1]["messages"][0]["content"] == "mail <EMAIL_ADDRESS_1>"
    assert anonymous.status_code == 401  # keys exist: a request without one is refused at once
    assert answered_within < LOCK_TIMEOUT - 0.3, answered_within
    assert_unavailable(refused)
    after = await veil.post(CHAT, json=ask("hi"), headers=bearer(waiting_key))
    assert after.status_code == 200, after.text
