"""The admin key (VEIL_ADMIN_KEY): who may use the admin API and the dashboard.

Unset, both are disabled and refuse everyone. A presented key is compared in constant
time, as SHA-256 digests, so neither its content nor its length shows in the timing.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from pydantic import SecretStr

ADMIN_SESSION_SECRET = "admin-session-key"


class AdminKey:
    def __init__(self, key: SecretStr | None) -> None:
        value = key.get_secret_value() if key is not None else ""
        self._digest = hashlib.sha256(value.encode()).digest() if value else None

    @property
    def enabled(self) -> bool:
        return self._digest is not None

    def matches(self, candidate: str | None) -> bool:
        if self._digest is None or candidate is None:
            return False
        return hmac.compare_digest(hashlib.sha256(candidate.encode()).digest(), self._digest)

    def matches_bearer(self, headers: Mapping[str, str]) -> bool:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and self.matches(token.strip())

    def session_key(self, installation_secret: bytes) -> bytes:
        """The key dashboard sessions are signed with: changing the admin key ends them all."""
        return hmac.new(installation_secret, self._digest or b"", hashlib.sha256).digest()
