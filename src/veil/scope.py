"""Whose data this is: the scope a request's values are pseudonymized, stored and audited in.

The data subject is the end user the request names (`user`, `safety_identifier`, or the
subject header; which of them count, and in what order, is configurable), else the API key.
A scope is a keyed hash, so neither the subject id nor the key is ever stored or logged,
and the provider sees the subject only as another keyed hash (`provider_id`), which does
not match the scope stored here.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any

SUBJECT_SOURCES = ("user", "safety_identifier", "header")
DEFAULT_TENANT = "default"
# The request fields that name the end user; the provider gets `provider_id` in their place.
SUBJECT_FIELDS = ("user", "safety_identifier")


class ScopeResolver:
    def __init__(self, secret: bytes, subject_header: str, sources: Sequence[str] = SUBJECT_SOURCES) -> None:
        unknown = set(sources) - set(SUBJECT_SOURCES)
        if unknown:
            raise ValueError(f"unknown subject sources: {', '.join(sorted(unknown))}")
        self._secret = secret
        self._subject_header = subject_header.lower()
        self._sources = tuple(sources)

    def resolve(self, body: Mapping[str, Any], headers: Mapping[str, str], tenant: str | None = None) -> str:
        for source in self._sources:
            candidate = headers.get(self._subject_header) if source == "header" else body.get(source)
            if isinstance(candidate, str) and candidate:
                return self.subject_scope(candidate, tenant)
        return _in_tenant(tenant, self._hash("key", _bearer(headers) or "", tenant))

    def subject_scope(self, identifier: str, tenant: str | None = None) -> str:
        """The scope of the end user the app calls `identifier` (for export, erasure, portal).

        Tenants never share a scope: the same id in two tenants is two subjects, so a
        token minted for one tenant restores nothing for another.
        """
        return _in_tenant(tenant, self._hash("subject", identifier, tenant))

    def hide_subject(self, body: MutableMapping[str, Any]) -> None:
        """Replace the end-user ids in `body` with what the provider may see of them."""
        for field in SUBJECT_FIELDS:
            value = body.get(field)
            if isinstance(value, str) and value:
                body[field] = self._hash("provider", value).replace("provider:", "veil-", 1)

    def _hash(self, kind: str, identifier: str, tenant: str | None = None) -> str:
        # The default tenant hashes as before tenants existed, so its scopes are unchanged.
        qualified = identifier if tenant in (None, DEFAULT_TENANT) else f"{tenant}\0{identifier}"
        digest = hmac.new(self._secret, f"{kind}\0{qualified}".encode(), hashlib.sha256)
        return f"{kind}:{digest.hexdigest()[:32]}"


def tenant_of(scope: str) -> str:
    """The tenant a scope belongs to (written before its first `/`)."""
    tenant, slash, _ = scope.partition("/")
    return tenant if slash else DEFAULT_TENANT


def _in_tenant(tenant: str | None, scope: str) -> str:
    return scope if tenant in (None, DEFAULT_TENANT) else f"{tenant}/{scope}"


def _bearer(headers: Mapping[str, str]) -> str | None:
    value = headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None
