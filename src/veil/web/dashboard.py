"""The admin dashboard: requests and replaced values by type over time, consent per purpose,
and whether the audit chain is intact. Counts only: no person's value or id is shown.

Signing in takes the admin key once, by form; the session is a signed cookie whose key
is derived from the admin key, so changing the key ends every session.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from veil.store.audit import AuditLog
from veil.web.activity import Activity, Day
from veil.web.admin_key import AdminKey
from veil.web.forms import read_form
from veil.web.pages import Pages
from veil.web.sessions import SessionCookie

log = logging.getLogger("veil.web.dashboard")

ADMIN_COOKIE = "veil_admin"
SESSION_SECONDS = 8 * 3600.0
CHART_DAYS = 14
_CHART_HEIGHT = 120
_BAR_WIDTH = 28
_BAR_GAP = 8


@dataclass(frozen=True, slots=True)
class Bar:
    """One day's bar in the chart, in SVG units (attributes, not styles: the CSP allows no
    inline style)."""

    x: int
    y: int
    height: int
    day: Day


class Dashboard:
    def __init__(
        self,
        *,
        key: AdminKey,
        cookie: SessionCookie,
        activity: Activity,
        audit: AuditLog,
        pages: Pages,
    ) -> None:
        self._key = key
        self._cookie = cookie
        self._activity = activity
        self._audit = audit
        self._pages = pages

    def routes(self) -> list[Route]:
        return [
            self._pages.route("/admin", self.home, methods=["GET"], name="dashboard"),
            self._pages.route("/admin/login", self.login, methods=["POST"]),
            self._pages.route("/admin/logout", self.logout, methods=["POST"]),
        ]

    async def home(self, request: Request) -> Response:
        if not self._key.enabled:
            return self._disabled()
        session = self._cookie.read(request)
        if session is None:
            return self._pages.render("admin_login.html", failed=False)
        overview = await anyio.to_thread.run_sync(self._overview)
        return self._pages.render("dashboard.html", csrf=session.csrf, **overview)

    async def login(self, request: Request) -> Response:
        if not self._key.enabled:
            return self._disabled()
        form = await read_form(request)
        if form is None or not self._key.matches(form.get("key")):
            log.warning("dashboard sign-in refused")
            return self._pages.render("admin_login.html", status_code=401, failed=True)
        await anyio.to_thread.run_sync(self._audit.record, "admin_login", None, {"via": "dashboard"})
        response = RedirectResponse("/admin", status_code=303)
        self._cookie.start(request, response, subject=None, ttl_seconds=SESSION_SECONDS)
        return response

    async def logout(self, request: Request) -> Response:
        session = self._cookie.read(request)
        form = await read_form(request)
        response = RedirectResponse("/admin", status_code=303)
        if session is not None and form is not None and session.accepts(form.get("csrf")):
            self._cookie.end(response)
        return response

    def _overview(self) -> dict[str, Any]:
        days = self._activity.by_day(CHART_DAYS)
        return {
            "bars": _bars(days),
            "chart_width": len(days) * (_BAR_WIDTH + _BAR_GAP),
            "chart_height": _CHART_HEIGHT,
            "bar_width": _BAR_WIDTH,
            "days": days,
            "types": sorted({entity_type for day in days for entity_type in day.by_type}),
            "consent": self._activity.consent_counts(),
            "audit": self._audit.verify(),
        }

    def _disabled(self) -> Response:
        return self._pages.render(
            "message.html",
            status_code=401,
            title="The admin dashboard is disabled",
            message="Set VEIL_ADMIN_KEY to turn on the admin API and dashboard.",
        )


def _bars(days: list[Day]) -> list[Bar]:
    tallest = max((day.requests for day in days), default=0) or 1
    bars = []
    for index, day in enumerate(days):
        height = round(day.requests / tallest * _CHART_HEIGHT)
        bars.append(Bar(index * (_BAR_WIDTH + _BAR_GAP), _CHART_HEIGHT - height, height, day))
    return bars
