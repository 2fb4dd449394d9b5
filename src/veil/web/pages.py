"""Server-rendered pages: the Jinja2 templates (autoescaped) and the one stylesheet."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from veil.web.security_headers import secured

_HERE = Path(__file__).parent
STYLESHEET_PATH = "/static/veil.css"


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

    def routes(self) -> list[Route]:
        return [secured(STYLESHEET_PATH, self.stylesheet, methods=["GET"])]

    async def stylesheet(self, request: Request) -> Response:
        return Response(self._stylesheet, media_type="text/css")


def _utc(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
