"""Server-rendered pages: the Jinja2 templates (autoescaped), the one stylesheet, and the
routes pages are served on."""

from __future__ import annotations

import datetime
import functools
import logging
from collections.abc import Awaitable, Callable, Collection
from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from veil.store.database import StoreError
from veil.web.security_headers import secured

log = logging.getLogger("veil.web.pages")
_HERE = Path(__file__).parent
STYLESHEET_PATH = "/static/veil.css"
Handler = Callable[[Request], Awaitable[Response]]


class Pages:
    def __init__(self) -> None:
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(_HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._env.filters["utc"] = _utc
        self._env.globals["stylesheet"] = STYLESHEET_PATH
        self._stylesheet = (_HERE / "static" / "veil.css").read_bytes()

    def render(self, template: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(self._env.get_template(template).render(**context), status_code=status_code)

    def route(
        self, path: str, endpoint: Handler, *, methods: Collection[str], name: str | None = None
    ) -> Route:
        """A page's route: the security headers on every answer, and a 503 page when the
        database cannot be used (it is not a bug in Veil, and the person can come back)."""

        @functools.wraps(endpoint)
        async def page(request: Request) -> Response:
            try:
                return await endpoint(request)
            except StoreError as unavailable:  # names the database, never a value
                log.error("page %s: store unavailable: %s", path, unavailable)
                return self.render(
                    "message.html",
                    status_code=503,
                    title="Unavailable for a moment",
                    message="Veil cannot reach its database just now. Try again in a few minutes;"
                    " if you asked for a change, check here afterwards that it was made.",
                )

        return secured(path, page, methods=methods, name=name)

    def routes(self) -> list[Route]:
        return [secured(STYLESHEET_PATH, self.stylesheet, methods=["GET"])]

    async def stylesheet(self, request: Request) -> Response:
        return Response(self._stylesheet, media_type="text/css")


def _utc(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
