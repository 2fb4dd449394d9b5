"""Every web page and admin response carries the security headers, and no page holds a
script or an inline style (the CSP would block them; a page that needs one is broken)."""

from __future__ import annotations

import re

import httpx
from starlette.applications import Starlette
from starlette.routing import Route
from web_client import ADMIN, ADMIN_KEY, chat, enter_portal

from veil.web.security_headers import HEADERS


def web_routes(app: Starlette) -> list[tuple[str, str]]:
    """(method, path) of every route that is not the gateway's, read from the app itself."""
    gateway_paths = {route.path for route in app.state.gateway.routes()}
    found = []
    for route in app.routes:
        assert isinstance(route, Route)
        if route.path in gateway_paths:
            continue
        for method in sorted(route.methods or ()):
            if method != "HEAD":
                found.append((method, route.path.replace("{user:path}", "app-user-1")))
    return found


def assert_secured(response: httpx.Response) -> None:
    for name, value in HEADERS.items():
        assert response.headers.get(name) == value, (response.request.url, name)
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp


async def test_every_web_route_answers_with_the_headers_signed_in_or_not(
    app: Starlette, web: httpx.AsyncClient
) -> None:
    routes = web_routes(app)
    assert len(routes) >= 14  # admin API, notice, portal, dashboard, stylesheet

    for method, path in routes:  # signed out: refusals and login pages too
        assert_secured(await web.request(method, path))
    await chat(app, "app-user-1", "mail me at secure.headers@example.org")
    csrf = await enter_portal(web, "app-user-1")
    await web.post("/admin/login", data={"key": ADMIN_KEY})
    for method, path in routes:
        assert_secured(await web.request(method, path, headers=ADMIN, data={"csrf": csrf}))
    entered = await web.get("/portal", params={"token": "not-a-token"})
    assert_secured(entered)


async def test_pages_hold_no_script_and_no_inline_style(app: Starlette, web: httpx.AsyncClient) -> None:
    await chat(app, "app-user-1", "mail me at secure.headers@example.org")
    csrf = await enter_portal(web, "app-user-1")
    await web.post("/admin/login", data={"key": ADMIN_KEY})
    pages = [
        await web.get("/privacy/notice"),
        await web.get("/portal"),
        await web.get("/portal/delete"),
        await web.get("/admin"),
        await web.post("/portal/delete", data={"csrf": csrf, "confirm": "yes"}),
    ]
    for page in pages:
        assert page.headers["content-type"].startswith("text/html")
        assert not re.search(r"<script|\son\w+=|\sstyle=|<style|javascript:", page.text, re.I), page.url
        assert '<link rel="stylesheet" href="/static/veil.css">' in page.text
    stylesheet = await web.get("/static/veil.css")
    assert stylesheet.headers["content-type"].startswith("text/css")
