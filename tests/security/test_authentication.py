"""Every route but a few public ones wants credentials, and only its own kind.

The routes are read from the app, so a route added later is covered without anyone
remembering to: the admin API wants the admin key as a bearer token, the dashboard its
signed-in session, the portal the session its token opened, and the gateway, once
virtual keys exist, a valid one. A route that is none of these and not declared public
below fails the test until someone decides what protects it.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.routing import Route

from fake_upstream import FakeUpstream
from veil.app import create_app
from veil.config import Settings
from veil.store.virtual_keys import VirtualKeys
from veil.web.dashboard import ADMIN_COOKIE
from veil.web.portal import PORTAL_COOKIE

ADMIN_KEY = "admin-key-security-Zp4s9"
ADMIN = {"authorization": f"Bearer {ADMIN_KEY}"}
BASE_URL = "http://veil.test"
USER = "app-user-7"

# Anyone may ask these, and why.
PUBLIC = {
    ("GET", "/healthz"): "liveness, for load balancers",
    ("GET", "/metrics"): "Prometheus counters: counts by type and status, no ids or values",
    ("GET", "/privacy/notice"): "the privacy notice is for everyone",
    ("GET", "/static/veil.css"): "the stylesheet",
    ("GET", "/openapi.json"): "the API's description: paths and shapes, no data",
}
# What a stranger gets instead of a refusal: the way in, or nothing done.
SIGN_IN = {
    ("GET", "/admin"): 200,  # the sign-in form
    ("POST", "/admin/logout"): 303,  # back to /admin, nothing ended
}
PARAM = re.compile(r"\{(\w+)(:\w+)?\}")


def routes(app: Starlette) -> list[tuple[str, str]]:
    """(method, path template) of every route of the app."""
    found = []
    for route in app.routes:
        assert isinstance(route, Route), route
        found += [(method, route.path) for method in sorted(route.methods or ()) if method != "HEAD"]
    return found


def gateway_routes(app: Starlette) -> set[tuple[str, str]]:
    return {(m, r.path) for r in app.state.gateway.routes() for m in r.methods or () if m != "HEAD"}


def protected(app: Starlette) -> list[tuple[str, str]]:
    return [route for route in routes(app) if route not in PUBLIC and route not in gateway_routes(app)]


def concrete(path: str) -> str:
    return PARAM.sub(lambda match: USER if match.group(1) == "user" else "m", path)


@pytest.fixture
def upstream() -> FakeUpstream:
    return FakeUpstream()


def make_app(tmp_path: Path, upstream: FakeUpstream, admin_key: str | None = ADMIN_KEY) -> Starlette:
    settings = Settings(
        upstream_base_url="https://upstream.test/v1",
        upstream_api_key="sk-upstream-security",
        data_dir=tmp_path / "data",
        ner_model="",
        admin_key=SecretStr(admin_key) if admin_key else None,
    )
    return create_app(settings, http_client=httpx.AsyncClient(transport=upstream.transport()))


@pytest.fixture
def app(tmp_path: Path, upstream: FakeUpstream) -> Starlette:
    return make_app(tmp_path, upstream)


@pytest.fixture
async def web(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
        yield client


async def portal_session(web: httpx.AsyncClient) -> str:
    """Opens USER's portal; returns the session cookie's value."""
    issued = await web.post("/admin/portal-tokens", json={"user": USER}, headers=ADMIN)
    entered = await web.get("/portal", params={"token": issued.json()["token"]})
    assert entered.status_code == 200
    cookie = web.cookies[PORTAL_COOKIE]
    web.cookies.clear()
    return cookie


async def admin_session(web: httpx.AsyncClient) -> str:
    signed_in = await web.post("/admin/login", data={"key": ADMIN_KEY})
    assert signed_in.status_code == 303
    cookie = web.cookies[ADMIN_COOKIE]
    web.cookies.clear()
    return cookie


def assert_refused(response: httpx.Response, method: str, path: str) -> None:
    expected = SIGN_IN.get((method, path))
    where = f"{method} {path} answered {response.status_code}"
    if expected is None:
        assert response.status_code in (401, 403), where
    else:
        assert response.status_code == expected, where
        assert ADMIN_COOKIE not in response.headers.get("set-cookie", ""), where
    # Whatever it says, it is not the dashboard, the portal or a person's data.
    for shown in ("<h1>Dashboard</h1>", "<h1>Your data</h1>", '"subject"', '"consent"', '"token"'):
        assert shown not in response.text, where


def test_the_routes_are_read_from_the_app(app: Starlette) -> None:
    found = protected(app)
    prefixes = {path.split("/")[1] for _, path in found}
    assert prefixes == {"admin", "portal"}, found
    assert len(found) >= 12
    assert set(PUBLIC) <= set(routes(app))
    assert len(gateway_routes(app) - set(PUBLIC)) >= 6


async def test_no_admin_or_portal_route_answers_a_stranger(app: Starlette, web: httpx.AsyncClient) -> None:
    portal_cookie = await portal_session(web)
    admin_cookie = await admin_session(web)
    issued = await web.post("/admin/portal-tokens", json={"user": USER}, headers=ADMIN)
    portal_token = issued.json()["token"]
    # Credentials that are absent, wrong, or right for something else.
    strangers: list[tuple[str, dict[str, str], dict[str, str], dict[str, str]]] = [
        ("nothing", {}, {}, {}),
        ("a wrong bearer", {"authorization": "Bearer not-the-key"}, {}, {}),
        ("the key, Basic", {"authorization": f"Basic {ADMIN_KEY}"}, {}, {}),
        ("the key plus a character", {"authorization": f"Bearer {ADMIN_KEY}x"}, {}, {}),
        ("the key in the query", {}, {}, {"key": ADMIN_KEY, "admin_key": ADMIN_KEY}),
        ("the key as a cookie", {}, {ADMIN_COOKIE: ADMIN_KEY, PORTAL_COOKIE: ADMIN_KEY}, {}),
        ("a portal token as bearer", {"authorization": f"Bearer {portal_token}"}, {}, {}),
        ("a portal token as cookie", {}, {PORTAL_COOKIE: portal_token, ADMIN_COOKIE: portal_token}, {}),
        ("the portal session as admin session", {}, {ADMIN_COOKIE: portal_cookie}, {}),
        ("the admin session as portal session", {}, {PORTAL_COOKIE: admin_cookie}, {}),
        ("a forged session", {}, {PORTAL_COOKIE: "e30.AAAA", ADMIN_COOKIE: "e30.AAAA"}, {}),
    ]
    for method, path in protected(app):
        is_admin_api = path.startswith("/admin/") and path not in ("/admin/login", "/admin/logout")
        for name, headers, cookies, params in strangers:
            web.cookies.clear()
            for cookie, value in cookies.items():
                web.cookies.set(cookie, value)
            response = await web.request(
                method, concrete(path), headers=headers, params=params, data={"csrf": "x", "key": ""}
            )
            assert_refused(response, method, path)
            if is_admin_api:
                assert response.headers.get("www-authenticate") == 'Bearer realm="veil-admin"', name


async def test_the_right_credentials_open_each_route(app: Starlette, web: httpx.AsyncClient) -> None:
    """The other half: each protected route does answer its own credentials, so the refusals
    above are refusals, not routes that answer nobody."""
    portal_cookie = await portal_session(web)
    admin_cookie = await admin_session(web)
    for method, path in protected(app):
        web.cookies.clear()
        if path.startswith("/portal"):
            web.cookies.set(PORTAL_COOKIE, portal_cookie)
            headers: dict[str, str] = {}
        elif path in ("/admin", "/admin/logout"):
            web.cookies.set(ADMIN_COOKIE, admin_cookie)
            headers = {}
        else:
            headers = ADMIN
        body = {"user": USER} if path == "/admin/portal-tokens" else {"purpose": "x", "granted": True}
        if path == "/admin/login":
            response = await web.post(path, data={"key": ADMIN_KEY})
        elif method in ("PUT", "POST") and path.startswith("/admin/"):
            response = await web.request(method, concrete(path), headers=headers, json=body)
        else:
            response = await web.request(method, concrete(path), headers=headers, data={"csrf": "x"})
        assert response.status_code not in (401,), f"{method} {path}: {response.status_code}"
        if (method, path) == ("GET", "/admin"):
            assert "<h1>Dashboard</h1>" in response.text


async def test_without_an_admin_key_every_admin_route_refuses_everyone(
    tmp_path: Path, upstream: FakeUpstream
) -> None:
    app = make_app(tmp_path, upstream, admin_key=None)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as web:
        for method, path in protected(app):
            if not path.startswith("/admin"):
                continue
            for headers in ({}, {"authorization": "Bearer "}, {"authorization": "Bearer"}, ADMIN):
                response = await web.request(method, concrete(path), headers=headers, data={"key": ""})
                nothing_to_end = (method, path) == ("POST", "/admin/logout")
                assert response.status_code == (303 if nothing_to_end else 401), f"{method} {path} {headers}"
                assert "<h1>Dashboard</h1>" not in response.text


async def test_once_virtual_keys_exist_every_gateway_route_wants_one(
    app: Starlette, web: httpx.AsyncClient, upstream: FakeUpstream
) -> None:
    VirtualKeys(app.state.database).create("acme")
    forged = "vk-0123456789abcdef-" + "A" * 43
    for method, path in sorted(gateway_routes(app) - set(PUBLIC)):
        for headers in (
            {},
            {"authorization": "Bearer sk-some-openai-key"},
            {"authorization": f"Bearer {forged}"},
            ADMIN,
        ):
            body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "input": "hi"}
            response = await web.request(method, concrete(path), headers=headers, json=body)
            assert response.status_code == 401, f"{method} {path} {headers}: {response.text}"
    assert upstream.paths == []
