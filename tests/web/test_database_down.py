"""The pages and the admin API while Veil's database cannot be used, and once it is back: a
503 that says so (a page for the pages, OpenAI's error shape for the admin API) with the
security headers, never the generic 500 that would read as a bug.

Down on PostgreSQL: the schema renamed away under Veil, so every query fails while the
connections stay up. On SQLite: another process holds the write lock, so reads go on (WAL)
and every change waits out the lock timeout, then fails.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette
from web_client import ADMIN, ADMIN_KEY, BASE_URL, chat, csrf_of, enter_portal

from databases import database_url, schema_away
from held_lock import held_lock
from veil.web.security_headers import HEADERS

USER = "down-user-5120"
CANARY = "rosa.canary-5120@example.org"
PAGE_TITLE = "Unavailable for a moment"


def assert_unavailable_page(response: httpx.Response) -> None:
    assert response.status_code == 503, (response.request.url, response.text)
    assert response.headers["content-type"].startswith("text/html")
    assert PAGE_TITLE in response.text and CANARY not in response.text
    assert_secured(response)


def assert_unavailable_json(response: httpx.Response) -> None:
    assert response.status_code == 503, (response.request.url, response.text)
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("server_error", "storage_unavailable")
    assert_secured(response)


def assert_secured(response: httpx.Response) -> None:
    for name, value in HEADERS.items():
        assert response.headers.get(name) == value, (response.request.url, name)


@pytest.fixture
def postgres_schema(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A fresh schema on the test server: (its name, a URL that uses it)."""
    with database_url("postgresql", tmp_path) as url:
        yield sa.make_url(url).query["options"].split("=", 1)[1], url  # type: ignore[union-attr]


@contextlib.asynccontextmanager
async def browser(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """A client signed in to the dashboard, with USER's portal open."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as web:
        await chat(app, USER, f"write to {CANARY}")
        await enter_portal(web, USER)
        assert (await web.post("/admin/login", data={"key": ADMIN_KEY})).status_code == 303
        yield web
    app.state.database.dispose()


async def everything_refused(web: httpx.AsyncClient, csrf: str) -> None:
    for page in (
        await web.get("/portal"),
        await web.get("/portal/export"),
        await web.post(
            "/portal/consent", data={"csrf": csrf, "purpose": "send_to_provider", "granted": "no"}
        ),
        await web.post("/portal/delete", data={"csrf": csrf, "confirm": "yes"}),
        await web.get("/admin"),
        await web.post("/admin/login", data={"key": ADMIN_KEY}),
    ):
        assert_unavailable_page(page)
    for api in (
        await web.get("/admin/audit/verify", headers=ADMIN),
        await web.get(f"/admin/subjects/{USER}/export", headers=ADMIN),
        await web.post("/admin/portal-tokens", json={"user": USER}, headers=ADMIN),
    ):
        assert_unavailable_json(api)


async def test_postgresql_gone_answers_503_everywhere_and_then_recovers(
    make_app: Callable[..., Starlette], postgres_schema: tuple[str, str]
) -> None:
    schema, url = postgres_schema
    async with browser(make_app(database_url=url)) as web:
        csrf = csrf_of((await web.get("/portal")).text)
        with schema_away(schema):
            await everything_refused(web, csrf)

        portal, dashboard = await web.get("/portal"), await web.get("/admin")
        assert portal.status_code == 200 and '<dd id="count-requests">1</dd>' in portal.text
        assert dashboard.status_code == 200 and "Audit chain" in dashboard.text
        assert (await web.get("/admin/audit/verify", headers=ADMIN)).json()["ok"]


async def test_sqlite_locked_refuses_changes_with_503_and_then_takes_them(
    make_app: Callable[..., Starlette], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'locked.db'}"
    async with browser(make_app(database_url=url, database_lock_timeout_seconds=0.3)) as web:
        csrf = csrf_of((await web.get("/portal")).text)
        withdraw = {"csrf": csrf, "purpose": "send_to_provider", "granted": "no"}
        with held_lock(url, "consents", seconds=30):
            assert (await web.get("/portal")).status_code == 200  # reads go on
            assert_unavailable_page(await web.post("/portal/consent", data=withdraw))
            assert_unavailable_page(await web.post("/portal/delete", data={"csrf": csrf, "confirm": "yes"}))
            assert_unavailable_page(await web.post("/admin/login", data={"key": ADMIN_KEY}))

        assert (await web.post("/portal/consent", data=withdraw)).status_code == 303
        switch = next(
            line
            for line in (await web.get("/portal")).text.splitlines()
            if 'id="switch-send_to_provider"' in line
        )
        assert 'aria-checked="false"' in switch
