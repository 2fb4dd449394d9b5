"""The headers every web page and admin response carries, and the routes that carry them.

No script runs on these pages, inline or not, and no style but the site's own stylesheet;
no frame may hold them (clickjacking on the delete button); nothing is cached, since
pages and exports hold a person's data; and no Referer leaves, since the portal's first
URL holds its token.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADERS = {
    "content-security-policy": (
        "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"
    ),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def secured(
    path: str, endpoint: Callable[..., Any], *, methods: Collection[str], name: str | None = None
) -> Route:
    """A route whose every response carries HEADERS."""
    return Route(path, endpoint, methods=list(methods), name=name, middleware=[Middleware(SecurityHeaders)])
