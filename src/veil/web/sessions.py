"""Signed session cookies for the portal and the dashboard.

The cookie holds its claims signed (see `Signer`): whose session it is, when it ends, and
the session's CSRF token, which every form of the session carries back. It is HttpOnly
and SameSite=Strict, scoped to its own path, and Secure whenever the request came over
HTTPS. Nothing is kept on the server, so any replica reads it.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from veil.web.signer import Signer


@dataclass(frozen=True, slots=True)
class Session:
    subject: str | None
    expires_at: int
    csrf: str

    def accepts(self, csrf: str | None) -> bool:
        """Whether a submitted form carries this session's CSRF token (constant time)."""
        return csrf is not None and hmac.compare_digest(csrf.encode(), self.csrf.encode())


class SessionCookie:
    def __init__(self, name: str, path: str, key: bytes, *, clock: Callable[[], float] = time.time) -> None:
        self.name = name
        self._path = path
        self._signer = Signer(key, f"session/{name}", clock=clock)
        self._clock = clock

    def start(
        self, request: Request, response: Response, *, subject: str | None, ttl_seconds: float
    ) -> Session:
        """Set a fresh session on `response`; it ends after `ttl_seconds`."""
        csrf = secrets.token_urlsafe(24)
        value, expires_at = self._signer.sign({"sub": subject, "csrf": csrf}, ttl_seconds)
        response.set_cookie(
            self.name,
            value,
            max_age=max(1, int(expires_at - self._clock())),
            path=self._path,
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="strict",
        )
        return Session(subject, expires_at, csrf)

    def read(self, request: Request) -> Session | None:
        value = request.cookies.get(self.name)
        claims = self._signer.open(value) if value else None
        if claims is None:
            return None
        return Session(claims["sub"], claims["exp"], claims["csrf"])

    def end(self, response: Response) -> None:
        response.delete_cookie(self.name, path=self._path, httponly=True, samesite="strict")
