"""The admin dashboard over HTTP: sign-in by form (audited), counts by day and type, consent
counts, the audit chain's state, and sessions that end when the admin key changes."""

from __future__ import annotations

import datetime
from collections.abc import Callable

import httpx
import sqlalchemy as sa
from pydantic import SecretStr
from starlette.applications import Starlette
from web_client import ADMIN, ADMIN_KEY, BASE_URL, chat, csrf_of

from veil.store.schema import audit_log

TODAY = datetime.datetime.now(datetime.UTC).date().isoformat()


def admin_logins(app: Starlette) -> int:
    with app.state.database.read() as conn:
        return len(conn.execute(sa.select(audit_log).where(audit_log.c.kind == "admin_login")).all())


async def sign_in(web: httpx.AsyncClient, key: str = ADMIN_KEY) -> httpx.Response:
    return await web.post("/admin/login", data={"key": key})


async def test_signing_in_takes_the_admin_key_and_is_audited(app: Starlette, web: httpx.AsyncClient) -> None:
    login_page = await web.get("/admin")
    assert login_page.status_code == 200
    assert 'action="/admin/login"' in login_page.text and "Audit chain" not in login_page.text

    refused = await sign_in(web, "not-the-key")
    assert refused.status_code == 401
    assert "not the admin key" in refused.text
    assert "set-cookie" not in refused.headers
    assert admin_logins(app) == 0

    accepted = await sign_in(web)
    assert accepted.status_code == 303 and accepted.headers["location"] == "/admin"
    cookie = accepted.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/admin" in cookie
    assert admin_logins(app) == 1
    assert "Audit chain intact" in (await web.get("/admin")).text


async def test_the_dashboard_counts_requests_values_and_consent(
    app: Starlette, web: httpx.AsyncClient
) -> None:
    await chat(app, "u1", "mail dana.canary@example.org or call +1 212 555 0147")
    await chat(app, "u2", "mail eli.canary@example.org")
    await chat(app, "u3", "nothing here")
    for user, granted in (("u1", False), ("u2", False), ("u2", True), ("u3", False)):
        await web.put(
            f"/admin/subjects/{user}/consent",
            json={"purpose": "send_to_provider", "granted": granted},
            headers=ADMIN,
        )
    await sign_in(web)

    page = (await web.get("/admin")).text

    assert 'id="requests-chart"' in page
    assert f"<title>{TODAY}: 3 requests, 3 values replaced</title>" in page
    assert (
        "<thead><tr><th>Day</th><th>Requests</th><th>Values replaced</th>"
        "<th><code>EMAIL_ADDRESS</code></th><th><code>PHONE_NUMBER</code></th></tr></thead>"
    ) in page
    assert f"<tr><td>{TODAY}</td><td>3</td><td>3</td><td>2</td><td>1</td></tr>" in page
    # Latest choice per person: u1 and u3 withdrew, u2 granted again.
    assert "<tr><td><code>send_to_provider</code></td><td>1</td><td>2</td></tr>" in page
    assert "<tr><td><code>store_transcripts</code></td><td>0</td><td>0</td></tr>" in page
    for hidden in ("dana.canary", "eli.canary", "555 0147", "u1", "subject:"):
        assert hidden not in page
    assert "Audit chain intact: 8 entries." in page  # 3 requests, 4 consent changes, 1 sign-in


async def test_a_broken_audit_chain_shows(app: Starlette, web: httpx.AsyncClient) -> None:
    await chat(app, "u1", "hello")
    await chat(app, "u1", "hello again")
    with app.state.database.write() as conn:
        conn.execute(sa.delete(audit_log).where(audit_log.c.seq == 1))
    await sign_in(web)

    page = (await web.get("/admin")).text

    assert "Audit chain broken at entry 1" in page
    assert "Audit chain intact" not in page


async def test_disabled_without_a_configured_key(make_app: Callable[..., Starlette]) -> None:
    app = make_app(admin_key=None)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as web:
        for response in (await web.get("/admin"), await sign_in(web), await sign_in(web, "")):
            assert response.status_code == 401
            assert "dashboard is disabled" in response.text
            assert "set-cookie" not in response.headers
    assert admin_logins(app) == 0


async def test_changing_the_admin_key_ends_every_session(make_app: Callable[..., Starlette]) -> None:
    first = make_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=first), base_url=BASE_URL) as web:
        await sign_in(web)
        cookie = web.cookies["veil_admin"]
        assert "Audit chain" in (await web.get("/admin")).text

    for key, shown in ((ADMIN_KEY, True), ("a-new-admin-key", False)):
        # Another process on the same database, as after a restart with a new key.
        app = make_app(admin_key=SecretStr(key))
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=BASE_URL, cookies={"veil_admin": cookie}
        ) as web:
            assert ("Audit chain" in (await web.get("/admin")).text) is shown


async def test_a_portal_session_is_no_admin_session(app: Starlette, web: httpx.AsyncClient) -> None:
    issued = (await web.post("/admin/portal-tokens", json={"user": "u1"}, headers=ADMIN)).json()
    await web.get("/portal", params={"token": issued["token"]})
    web.cookies.set("veil_admin", web.cookies["veil_portal"], domain="veil.test", path="/admin")

    page = await web.get("/admin")

    assert 'action="/admin/login"' in page.text and "Audit chain" not in page.text


async def test_signing_out_needs_the_sessions_csrf_token(web: httpx.AsyncClient) -> None:
    await sign_in(web)
    csrf = csrf_of((await web.get("/admin")).text)

    await web.post("/admin/logout", data={"csrf": "forged"})
    assert "Audit chain" in (await web.get("/admin")).text
    signed_out = await web.post("/admin/logout", data={"csrf": csrf})

    assert signed_out.status_code == 303
    assert 'action="/admin/login"' in (await web.get("/admin")).text
