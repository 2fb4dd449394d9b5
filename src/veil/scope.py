"""Whose tokens these are: the scope a request's values are pseudonymized in.

The end user when the request names one (`user`, `safety_identifier`, or the subject
header), else the API key. A scope is a keyed hash, so neither the subject id nor the
key is ever stored or logged.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any


class ScopeResolver:
    def __init__(self, secret: bytes, subject_header: str) -> None:
        self._secret = secret
        self._subject_header = subject_header.lower()

    def resolve(self, body: Mapping[str, Any], headers: Mapping[str, str]) -> str:
        for candidate in (body.get("user"), body.get("safety_identifier"), headers.get(self._subject_header)):
            if isinstance(candidate, str) and candidate:
                return self._hash("subject", candidate)
        return self._hash("key", _bearer(headers) or "")

    def _hash(self, kind: str, identifier: str) -> str:
        digest = hmac.new(self._secret, f"{kind}\0{identifier}".encode(), hashlib.sha256)
        return f"{kind}:{digest.hexdigest()[:32]}"


def _bearer(headers: Mapping[str, str]) -> str | None:
    value = headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None
