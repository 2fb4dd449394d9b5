"""The database unavailable: Veil fails closed and recovers.

PostgreSQL behind a TCP proxy whose plug is pulled (every connection dropped, new ones
refused), and a schema renamed away under Veil; SQLite locked by another process's long
write transaction. While the store cannot be used nothing is forwarded where a check needs
it (consent, tokens), a reply whose record cannot be committed is withheld, and every
client gets a 503 in OpenAI's shape (`storage_unavailable` or `vault_unavailable`); the
admin API answers 503 too. When the database is back, so is Veil, with the same tokens.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import sqlalchemy as sa
from pydantic import SecretStr
from starlette.applications import Starlette
from stress_profiles import Profile
from tcp_proxy import TcpProxy

from databases import POSTGRES_URL, database_url, schema_away
from fake_upstream import FakeUpstream

ADMIN_KEY = "admin-key-for-outage-tests"
CHAT = "/v1/chat/completions"
USER = "outage"
UNAVAILABLE = {"storage_unavailable", "vault_unavailable"}


def ask(text: str, *, stream: bool = False, user: str = USER) -> dict[str, Any]:
    return {"model": "m", "user": user, "stream": stream, "messages": [{"role": "user", "content": text}]}


def assert_unavailable(response: httpx.Response, codes: set[str] = UNAVAILABLE) -> None:
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert error["type"] == "server_error" and error["code"] in codes, error
    assert "ana@example.com" not in response.text


@contextlib.asynccontextmanager
async def veil(make_app: Callable[..., Starlette], url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = make_app(database_url=url, admin_key=SecretStr(ADMIN_KEY))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://veil.test", timeout=60
    ) as client:
        yield client
    app.state.database.dispose()


async def healthy_round(client: httpx.AsyncClient, upstream: FakeUpstream) -> None:
    """The user's address keeps its token; a new one gets the next; consent can change."""
    reply = await client.post(CHAT, json=ask("I am ana@example.com"))
    assert reply.status_code == 200, reply.text
    assert reply.json()["choices"][0]["message"]["content"] == "You said: I am ana@example.com"
    assert upstream.bodies[-1]["messages"][0]["content"] == "I am <EMAIL_ADDRESS_1>"
    consent = await client.put(
        f"/admin/subjects/{USER}/consent",
        json={"purpose": "store_transcripts", "granted": True},
        headers={"authorization": f"Bearer {ADMIN_KEY}"},
    )
    assert consent.status_code == 200, consent.text


async def outage_round(client: httpx.AsyncClient, upstream: FakeUpstream) -> None:
    """Everything that needs the store is refused, and nothing reaches the upstream."""
    forwarded = len(upstream.raw_requests)
    for body in (ask("mail bo@example.com"), ask("no values here"), ask("bo@example.com", stream=True)):
        assert_unavailable(await client.post(CHAT, json=body))
    assert len(upstream.raw_requests) == forwarded
    admin = {"authorization": f"Bearer {ADMIN_KEY}"}
    consent = await client.put(
        f"/admin/subjects/{USER}/consent",
        json={"purpose": "send_to_provider", "granted": False},
        headers=admin,
    )
    assert_unavailable(consent, {"storage_unavailable"})
    assert_unavailable(await client.get("/admin/audit/verify", headers=admin), {"storage_unavailable"})
    assert (await client.get("/healthz")).status_code == 200


@contextlib.contextmanager
def postgres_schema() -> Iterator[tuple[str, str]]:
    """A fresh schema on the test server: (its name, a URL that uses it)."""
    with database_url("postgresql", Path()) as url:
        yield sa.make_url(url).query["options"].split("=", 1)[1], url  # type: ignore[union-attr]


async def test_postgresql_unplugged_and_back(
    make_rules_app: Callable[..., Starlette], upstream: FakeUpstream, profile: Profile
) -> None:
    server = sa.make_url(POSTGRES_URL)
    with postgres_schema() as (schema, _), TcpProxy(server.host or "127.0.0.1", server.port or 5432) as proxy:
        url = server.set(port=proxy.port).render_as_string(hide_password=False)
        url += f"?options={quote(f'-csearch_path={schema}')}"
        async with veil(make_rules_app, url) as client:
            for _ in range(profile.pick(1, 5)):
                await healthy_round(client, upstream)
                proxy.cut()
                await outage_round(client, upstream)
                proxy.restore()
            await healthy_round(client, upstream)


async def test_postgresql_schema_gone_and_back(
    make_rules_app: Callable[..., Starlette], upstream: FakeUpstream
) -> None:
    """The connections stay up but every query fails (the tables are gone)."""
    with postgres_schema() as (schema, url):
        async with veil(make_rules_app, url) as client:
            await healthy_round(client, upstream)
            with schema_away(schema):
                await outage_round(client, upstream)
            await healthy_round(client, upstream)


async def test_sqlite_locked_by_a_long_transaction(
    make_rules_app: Callable[..., Starlette], upstream: FakeUpstream, tmp_path: Path
) -> None:
    """Another process holds the write lock past Veil's busy timeout: reads still work
    (WAL), so consent is read; a new value cannot get its token (503 vault_unavailable,
    nothing forwarded); a request without values is forwarded but its record cannot be
    committed, so its reply is withheld (503 storage_unavailable)."""
    path = tmp_path / "locked.db"
    async with veil(make_rules_app, f"sqlite:///{path}") as client:
        await healthy_round(client, upstream)
        forwarded = len(upstream.raw_requests)
        locker = sqlite3.connect(path, isolation_level=None, timeout=10)
        try:
            locker.execute("BEGIN IMMEDIATE")
            locker.execute(
                "INSERT INTO consents (subject, purpose, granted, source, recorded_at)"
                " VALUES ('locker', 'send_to_provider', 1, 'admin', 0)"
            )
            minting, recording, known = await asyncio.gather(
                client.post(CHAT, json=ask("mail bo@example.com")),
                client.post(CHAT, json=ask("no values here")),
                client.post(CHAT, json=ask("again ana@example.com")),
            )
            assert_unavailable(minting, {"vault_unavailable"})
            for withheld in (recording, known):
                assert_unavailable(withheld, {"storage_unavailable"})
                assert "You said" not in withheld.text
            sent = [body["messages"][0]["content"] for body in upstream.bodies[forwarded:]]
            assert sorted(sent) == ["again <EMAIL_ADDRESS_1>", "no values here"]
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        await healthy_round(client, upstream)
