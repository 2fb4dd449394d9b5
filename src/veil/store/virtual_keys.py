"""Virtual API keys: what a client presents instead of the organization's upstream key.

A key reads `vk-<id>-<secret>`. Only its id, its tenant and a salted SHA-256 of the secret
are stored; the secret is shown once, when the key is made. The secret is 256 random bits,
so a fast hash is enough (no guessing can reach it); comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from veil.store.database import Database
from veil.store.schema import virtual_keys

_KEY = re.compile(r"vk-([0-9a-f]{16})-([A-Za-z0-9_-]{43})")
# How long this process trusts what it read: a key revoked (or the first key made) by
# another process takes effect here within this time; here, at once.
CACHE_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Known:
    """An answer this process has without reading the database: the key's tenant, or None
    for a key that is malformed, unknown or revoked."""

    tenant: str | None


@dataclass(frozen=True, slots=True)
class KeyInfo:
    key_id: str
    tenant: str
    created_at: float
    revoked_at: float | None


class VirtualKeys:
    def __init__(self, db: Database, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._db = db
        self._clock = clock
        self._lock = threading.Lock()
        self._tenants: dict[str, tuple[str | None, float]] = {}
        self._any: tuple[bool, float] | None = None

    def create(self, tenant: str) -> tuple[KeyInfo, str]:
        """A new key for `tenant`: its record, and the key itself (shown once, never stored)."""
        key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
        salt = secrets.token_bytes(16)
        now = time.time()
        with self._db.write() as conn:
            conn.execute(
                sa.insert(virtual_keys).values(
                    key_id=key_id, tenant=tenant, salt=salt, digest=_digest(salt, secret), created_at=now
                )
            )
        with self._lock:
            self._any = (True, self._clock())
        return KeyInfo(key_id, tenant, now, None), f"vk-{key_id}-{secret}"

    def tenant_of(self, presented: str) -> str | None:
        """The tenant of a valid, unrevoked key; None otherwise. Reads the database unless
        `cached_tenant_of` knows the answer."""
        match = _KEY.fullmatch(presented)
        if match is None:
            return None
        cached = self._cached(presented)
        if cached is not None:
            return cached.tenant
        key_id, secret = match.groups()
        now = self._clock()
        with self._db.read() as conn:
            row = conn.execute(sa.select(virtual_keys).where(virtual_keys.c.key_id == key_id)).first()
        tenant = None
        if (
            row is not None
            and row.revoked_at is None
            and hmac.compare_digest(row.digest, _digest(row.salt, secret))
        ):
            tenant = str(row.tenant)
        with self._lock:
            if len(self._tenants) > 10_000:
                self._tenants.clear()
            self._tenants[_cache_key(presented)] = (tenant, now)
        return tenant

    def cached_tenant_of(self, presented: str) -> Known | None:
        """What `tenant_of` answers, when it can without the database (a malformed key, or
        one read within CACHE_SECONDS); None when it would read."""
        return Known(None) if _KEY.fullmatch(presented) is None else self._cached(presented)

    def any_exist(self) -> bool:
        """Whether any unrevoked key exists (then every request needs one). Reads the
        database unless `cached_any_exist` knows the answer."""
        cached = self.cached_any_exist()
        if cached is not None:
            return cached
        now = self._clock()
        with self._db.read() as conn:
            found = conn.execute(
                sa.select(virtual_keys.c.key_id).where(virtual_keys.c.revoked_at.is_(None)).limit(1)
            ).first()
        with self._lock:
            self._any = (found is not None, now)
        return found is not None

    def cached_any_exist(self) -> bool | None:
        """What `any_exist` answers, when read within CACHE_SECONDS; None when it would read."""
        with self._lock:
            cached = self._any
        if cached is not None and self._clock() - cached[1] < CACHE_SECONDS:
            return cached[0]
        return None

    def _cached(self, presented: str) -> Known | None:
        with self._lock:
            cached = self._tenants.get(_cache_key(presented))
        if cached is not None and self._clock() - cached[1] < CACHE_SECONDS:
            return Known(cached[0])
        return None

    def revoke(self, key_id: str) -> bool:
        with self._db.write() as conn:
            changed = conn.execute(
                sa.update(virtual_keys)
                .where(virtual_keys.c.key_id == key_id, virtual_keys.c.revoked_at.is_(None))
                .values(revoked_at=time.time())
            ).rowcount
        with self._lock:
            self._tenants.clear()
            self._any = None
        return bool(changed)

    def list(self) -> list[KeyInfo]:
        with self._db.read() as conn:
            rows = conn.execute(sa.select(virtual_keys).order_by(virtual_keys.c.created_at)).all()
        return [KeyInfo(r.key_id, r.tenant, r.created_at, r.revoked_at) for r in rows]


def _cache_key(presented: str) -> str:
    return hashlib.sha256(presented.encode()).hexdigest()


def _digest(salt: bytes, secret: str) -> str:
    return hashlib.sha256(salt + secret.encode()).hexdigest()
