"""What the web tests do over and over: chat as a user, open a user's portal, read a form."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from openai import AsyncOpenAI
from starlette.applications import Starlette

ADMIN_KEY = "admin-key-for-tests-Q7x2vL"
ADMIN = {"authorization": f"Bearer {ADMIN_KEY}"}
BASE_URL = "http://veil.test"


async def chat(app: Starlette, user: str, text: str) -> Any:
    """One chat request through the official SDK, as the app's user `user`."""
    client = AsyncOpenAI(
        api_key="sk-client-key",
        base_url=f"{BASE_URL}/v1",
        http_client=httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL),
        max_retries=0,
    )
    try:
        return await client.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": text}], user=user
        )
    finally:
        await client.close()


async def enter_portal(web: httpx.AsyncClient, user: str, **token_request: Any) -> str:
    """Open `user`'s portal the way their app sends them there; returns the session's CSRF token."""
    issued = await web.post("/admin/portal-tokens", json={"user": user, **token_request}, headers=ADMIN)
    assert issued.status_code == 200, issued.text
    entered = await web.get(issued.json()["url"].removeprefix(BASE_URL))
    assert entered.status_code == 200
    assert "veil_portal" in web.cookies
    page = await web.get("/portal")
    assert page.status_code == 200
    return csrf_of(page.text)


def csrf_of(html: str) -> str:
    marker = 'name="csrf" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def database_files(data_dir: Path) -> bytes:
    """Every byte of the SQLite database, its WAL and shared memory."""
    return b"".join(path.read_bytes() for path in sorted(data_dir.glob("veil.db*")))
