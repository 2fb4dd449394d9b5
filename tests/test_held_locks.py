"""A lock held elsewhere on PostgreSQL (an operator's `LOCK TABLE`, a stuck replica's
transaction): the request that needs it fails within the lock timeout, with a 503 in
OpenAI's shape and nothing forwarded; once the lock is gone, every request goes through again.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from databases import database_url
from fake_upstream import FakeUpstream
from held_lock import held_lock

CHAT = "/v1/chat/completions"
LOCK_TIMEOUT = 1.5


def ask(text: str) -> dict[str, Any]:
    return {"model": "m", "user": "ana", "messages": [{"role": "user", "content": text}]}


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
