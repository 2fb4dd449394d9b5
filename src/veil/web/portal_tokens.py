"""Portal tokens: short-lived links the app hands its user to open their privacy portal.

A token names the subject pseudonym (never the app's own user id) and an expiry, signed
with HMAC-SHA256 under a secret of the installation, so every replica accepts it and
nobody without that secret can make one. A token is refused once expired, and when any
character of it is changed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from veil.web.signer import Signer

PORTAL_TOKEN_SECRET = "portal-token-key"
# "Short-lived": a link that outlives a day is a password sent by e-mail.
MAX_TTL_SECONDS = 86_400.0


class InvalidTtl(ValueError):
    """A lifetime that is not positive or longer than MAX_TTL_SECONDS."""


@dataclass(frozen=True, slots=True)
class PortalToken:
    token: str
    subject: str
    expires_at: int


class PortalTokens:
    def __init__(
        self, secret: bytes, *, default_ttl_seconds: float, clock: Callable[[], float] = time.time
    ) -> None:
        self._signer = Signer(secret, "portal-token", clock=clock)
        self.default_ttl_seconds = default_ttl_seconds

    def issue(self, subject: str, ttl_seconds: float | None = None) -> PortalToken:
        ttl = self.default_ttl_seconds if ttl_seconds is None else ttl_seconds
        if not 0 < ttl <= MAX_TTL_SECONDS:
            raise InvalidTtl(f"ttl_seconds must be more than 0 and at most {MAX_TTL_SECONDS:g}")
        token, expires_at = self._signer.sign({"sub": subject}, ttl)
        return PortalToken(token, subject, expires_at)

    def verify(self, token: str) -> PortalToken | None:
        """The token's subject and expiry; None when it is forged, altered or expired."""
        claims = self._signer.open(token)
        if claims is None or not isinstance(claims.get("sub"), str):
            return None
        return PortalToken(token, claims["sub"], claims["exp"])
