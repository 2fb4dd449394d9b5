"""Signed, expiring claims: `base64url(JSON) "." base64url(HMAC-SHA256)`.

Portal tokens and session cookies are both made here. Each use has its own purpose, and the
key is derived from it, so a value signed for one purpose (a session cookie) never opens
as another (a portal token).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import time
from collections.abc import Callable, Mapping
from typing import Any

# Far more than any claim Veil signs: a longer value is refused before any work is done.
MAX_SIGNED_CHARS = 2048


class Signer:
    def __init__(self, key: bytes, purpose: str, *, clock: Callable[[], float] = time.time) -> None:
        self._key = hmac.new(key, f"veil/signer/{purpose}".encode(), hashlib.sha256).digest()
        self._clock = clock

    def sign(self, claims: Mapping[str, Any], ttl_seconds: float) -> tuple[str, int]:
        """The signed text of `claims`, valid for `ttl_seconds` from now, and when it expires."""
        expires_at = math.ceil(self._clock() + ttl_seconds)
        payload = _b64encode(
            json.dumps({**claims, "exp": expires_at}, separators=(",", ":"), sort_keys=True).encode()
        )
        return f"{payload}.{_b64encode(self._mac(payload))}", expires_at

    def open(self, signed: str) -> dict[str, Any] | None:
        """The claims (with `exp`) if `signed` was made here and has not expired; else None."""
        if len(signed) > MAX_SIGNED_CHARS or not signed.isascii():
            return None
        payload, dot, mac = signed.partition(".")
        if not dot:
            return None
        # Compared as text: one encoding per MAC, so no changed character is ever accepted.
        if not hmac.compare_digest(mac.encode("ascii"), _b64encode(self._mac(payload)).encode("ascii")):
            return None
        claims: dict[str, Any] = json.loads(_b64decode(payload))  # ours: its MAC matched
        return claims if claims["exp"] > self._clock() else None

    def _mac(self, payload: str) -> bytes:
        return hmac.new(self._key, payload.encode("ascii"), hashlib.sha256).digest()


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
